"""Tests for wyoming_kokoro.download against a local aiohttp server.

The server runs on 127.0.0.1 in its own thread with its own event loop, so
the same fixture serves async tests (download_file, ensure_file) and
sync ones (main(), which calls asyncio.run itself). It can misbehave on
demand - cut a connection halfway, stall, ignore Range, fail with a status -
because those are exactly the situations the downloader exists for.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import io
import logging
import re
import socket
import threading
import time

import numpy as np
import onnx
import pytest
from aiohttp import web
from onnx import TensorProto, helper

from wyoming_kokoro import download, release
from wyoming_kokoro.download import DownloadError, download_file, main
from wyoming_kokoro.model_files import ensure_file
from wyoming_kokoro.progress import Progress
from wyoming_kokoro.release import VARIANTS, VOICES_FILE
from wyoming_kokoro.verify import validate_kokoro_onnx, validate_voices

MODEL = VARIANTS["fp32"]
FP16 = VARIANTS["fp16"]
FAST = {"backoff": 0.01, "timeout": 5.0}
"""Retry quickly in tests; real backoff starts at a second."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# Local server
# --------------------------------------------------------------------------


class LocalServer:
    """Serve ``files`` over HTTP with Range support and scripted failures."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.cut_first: set[str] = set()
        """Names whose first response is cut off halfway through the body."""
        self.stall: set[str] = set()
        """Names whose responses send a little, then hang."""
        self.ignore_range: set[str] = set()
        """Names served as plain 200 even when a Range is asked for."""
        self.fail_first: dict[str, int] = {}
        """Name -> status returned to the first request only."""
        self.always_fail: dict[str, int] = {}
        self._count: collections.Counter[str] = collections.Counter()
        self.loop = asyncio.new_event_loop()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, name: str) -> list[str | None]:
        """The Range headers of the requests for ``name``, in order."""
        return [rng for n, rng in self.requests if n == name]

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self._start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10), "test server did not start"

    def stop(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        future.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{name}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def _shutdown(self) -> None:
        """Stop serving, then end handlers still hanging (the stall ones) cleanly."""
        await self.runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        rng = request.headers.get("Range")
        self.requests.append((name, rng))
        count = self._count[name]
        self._count[name] += 1
        if name in self.always_fail:
            return web.Response(status=self.always_fail[name])
        if count == 0 and name in self.fail_first:
            return web.Response(status=self.fail_first[name])
        if name not in self.files:
            raise web.HTTPNotFound()
        data = self.files[name]
        if name in self.stall:
            return await self._stall(request, data)
        start, status, headers = 0, 200, {}
        if rng and name not in self.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                return web.Response(
                    status=416, headers={"Content-Range": f"bytes */{len(data)}"}
                )
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = len(body)
        resp.content_type = "application/octet-stream"
        await resp.prepare(request)
        if count == 0 and name in self.cut_first:
            await resp.write(body[: len(body) // 2])
            request.transport.close()  # flushes the half, then drops the line
            return resp
        await resp.write(body)
        await resp.write_eof()
        return resp

    async def _stall(self, request: web.Request, data: bytes) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(data[:1000])
        await asyncio.sleep(30)  # cancelled by runner.cleanup at teardown
        return resp


@pytest.fixture
def server():
    srv = LocalServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def payload() -> bytes:
    """A few hundred KB of incompressible bytes: several reads, fast to hash."""
    return np.random.default_rng(1234).bytes(300_000)


@pytest.fixture
def voices_bytes(tmp_path) -> bytes:
    path = tmp_path / "voices-src.npz"
    np.savez(path, af_test=np.zeros((510, 1, 256), dtype=np.float32))
    return path.read_bytes()


def tiny_kokoro_onnx() -> bytes:
    """A valid ONNX graph with Kokoro's interface: audio = sum(tokens)+sum(style)+speed."""
    nodes = [
        helper.make_node("Cast", ["tokens"], ["tok_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["tok_f"], ["tok_sum"], keepdims=0),
        helper.make_node("ReduceSum", ["style"], ["style_sum"], keepdims=0),
        helper.make_node("Add", ["tok_sum", "style_sum"], ["both"]),
        helper.make_node("Add", ["both", "speed"], ["audio"]),
    ]
    inputs = [
        helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "N"]),
        helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
        helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1]),
    ]
    return _onnx_bytes(nodes, inputs)


def other_onnx() -> bytes:
    """A valid ONNX graph that is not Kokoro: audio = Identity(x)."""
    nodes = [helper.make_node("Identity", ["x"], ["audio"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])]
    return _onnx_bytes(nodes, inputs)


def _onnx_bytes(nodes, inputs) -> bytes:
    output = helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1])
    graph = helper.make_graph(nodes, "tiny", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # old enough for any onnxruntime we might meet
    onnx.checker.check_model(model)
    return model.SerializeToString()


def free_closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Success and resume
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ensure_downloads_missing_files_with_injected_hashes(
    server, payload, voices_bytes, tmp_path
):
    server.files = {MODEL: payload, VOICES_FILE: voices_bytes}
    hashes = {MODEL: sha(payload), VOICES_FILE: sha(voices_bytes)}

    data = tmp_path / "data"
    model = await ensure_file(MODEL, [data], data, server.url, hashes, **FAST)
    voices = await ensure_file(VOICES_FILE, [data], data, server.url, hashes, **FAST)

    assert model == tmp_path / "data" / MODEL
    assert voices == tmp_path / "data" / VOICES_FILE
    assert sha(model.read_bytes()) == sha(payload)
    assert voices.read_bytes() == voices_bytes
    assert not list((tmp_path / "data").glob("*.part"))
    assert server.hits(MODEL) == [None]


@pytest.mark.asyncio
async def test_download_goes_into_download_dir(server, payload, voices_bytes, tmp_path):
    server.files = {MODEL: payload, VOICES_FILE: voices_bytes}
    hashes = {MODEL: sha(payload), VOICES_FILE: sha(voices_bytes)}
    read_only = tmp_path / "share"
    read_only.mkdir()

    model, voices = [await ensure_file(name, [read_only], tmp_path / "dl", server.url, hashes, **FAST)
                     for name in (MODEL, VOICES_FILE)]

    assert model.parent == voices.parent == tmp_path / "dl"
    assert not list(read_only.iterdir())


@pytest.mark.asyncio
async def test_resume_after_cut_connection(server, payload, tmp_path):
    server.files = {MODEL: payload}
    server.cut_first = {MODEL}
    dest = tmp_path / MODEL

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert sha(dest.read_bytes()) == sha(payload)
    first, second = server.hits(MODEL)
    assert first is None
    assert second == f"bytes={len(payload) // 2}-"
    assert not dest.with_name(MODEL + ".part").exists()


@pytest.mark.asyncio
async def test_resume_from_part_left_by_earlier_process(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    dest.with_name(MODEL + ".part").write_bytes(payload[:123_456])

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert server.hits(MODEL) == ["bytes=123456-"]


@pytest.mark.asyncio
async def test_server_ignoring_range_starts_over(server, payload, tmp_path):
    server.files = {MODEL: payload}
    server.ignore_range = {MODEL}
    dest = tmp_path / MODEL
    dest.with_name(MODEL + ".part").write_bytes(b"stale bytes from elsewhere")

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert server.hits(MODEL) == ["bytes=26-"]


@pytest.mark.asyncio
async def test_oversized_part_416_starts_over(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    dest.with_name(MODEL + ".part").write_bytes(payload + b"extra")

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert server.hits(MODEL) == [f"bytes={len(payload) + 5}-", None]


@pytest.mark.asyncio
async def test_complete_part_is_verified_and_moved(server, payload, tmp_path):
    """A process that died between the last byte and the rename loses nothing."""
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    dest.with_name(MODEL + ".part").write_bytes(payload)

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert server.hits(MODEL) == [f"bytes={len(payload)}-"]


@pytest.mark.asyncio
async def test_corrupt_part_is_discarded_and_downloaded_again(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    dest.with_name(MODEL + ".part").write_bytes(b"\0" * 1000)

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert server.hits(MODEL) == ["bytes=1000-", None]


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [503, 429, 408])
async def test_transient_status_is_retried(server, payload, tmp_path, status):
    server.files = {MODEL: payload}
    server.fail_first = {MODEL: status}
    dest = tmp_path / MODEL

    await download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)

    assert dest.read_bytes() == payload
    assert len(server.hits(MODEL)) == 2


# --------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wrong_hash_rejected_and_good_file_kept(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    dest.write_bytes(b"the good model we already had")

    with pytest.raises(DownloadError) as info:
        await download_file(f"{server.url}/{MODEL}", dest, "0" * 64, **FAST)

    assert "SHA-256 mismatch" in str(info.value)
    assert dest.read_bytes() == b"the good model we already had"
    assert not dest.with_name(MODEL + ".part").exists()
    assert len(server.hits(MODEL)) == 1  # a clean download failing is final


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [404, 403])
async def test_client_error_fails_at_once(server, tmp_path, status):
    server.always_fail = {MODEL: status}
    url = f"{server.url}/{MODEL}"

    with pytest.raises(DownloadError) as info:
        await download_file(url, tmp_path / MODEL, "0" * 64, **FAST)

    message = str(info.value)
    assert MODEL in message and url in message and f"HTTP {status}" in message
    assert f"download it by hand into {tmp_path}" in message
    assert "\n" not in message
    assert len(server.hits(MODEL)) == 1


@pytest.mark.asyncio
async def test_unreachable_host_fails_after_retries(tmp_path):
    url = f"http://127.0.0.1:{free_closed_port()}/{MODEL}"
    started = time.monotonic()

    with pytest.raises(DownloadError) as info:
        await download_file(url, tmp_path / MODEL, "0" * 64, retries=2, **FAST)

    message = str(info.value)
    assert MODEL in message and url in message
    assert "download it by hand into" in message
    assert "after 3 attempts" in message
    assert time.monotonic() - started < 5
    assert not (tmp_path / MODEL).exists()


@pytest.mark.asyncio
async def test_stalled_server_times_out(server, payload, tmp_path):
    server.files = {MODEL: payload}
    server.stall = {MODEL}
    started = time.monotonic()

    with pytest.raises(DownloadError) as info:
        await download_file(
            f"{server.url}/{MODEL}", tmp_path / MODEL, sha(payload),
            retries=1, timeout=0.3, backoff=0.01,
        )

    assert time.monotonic() - started < 5
    assert "timed out" in str(info.value)
    # The retry resumed after the 1000 bytes the stalled response had sent.
    assert server.hits(MODEL) == [None, "bytes=1000-"]
    assert not (tmp_path / MODEL).exists()


# --------------------------------------------------------------------------
# ensure_file: local files and variants
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_existing_files_are_used_without_network(server, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / MODEL).write_bytes(b"")  # empty leftover: not a model
    (second / MODEL).write_bytes(b"model")
    (first / VOICES_FILE).write_bytes(b"voices")

    model, voices = [await ensure_file(name, [first, second], first, server.url) for name in (MODEL, VOICES_FILE)]

    assert model == second / MODEL
    assert voices == first / VOICES_FILE
    assert server.requests == []


@pytest.mark.asyncio
async def test_fp16_without_hash_is_validated_as_onnx(server, voices_bytes, tmp_path):
    server.files = {FP16: tiny_kokoro_onnx(), VOICES_FILE: voices_bytes}

    hashes = {VOICES_FILE: sha(voices_bytes)}
    model, voices = [await ensure_file(name, [tmp_path], tmp_path, server.url, hashes, **FAST)
                     for name in (FP16, VOICES_FILE)]

    assert model == tmp_path / FP16
    assert model.read_bytes() == server.files[FP16]
    assert voices.read_bytes() == voices_bytes


@pytest.mark.asyncio
async def test_fp16_garbage_is_rejected(server, voices_bytes, tmp_path):
    server.files = {FP16: b"<html>rate limited</html>" * 100, VOICES_FILE: voices_bytes}

    with pytest.raises(DownloadError) as info:
        await ensure_file(FP16, [tmp_path], tmp_path, server.url, {VOICES_FILE: sha(voices_bytes)}, **FAST)

    assert "failed validation" in str(info.value)
    assert FP16 in str(info.value)
    assert not (tmp_path / FP16).exists()
    assert not (tmp_path / (FP16 + ".part")).exists()


def test_onnx_with_wrong_interface_is_rejected(tmp_path):
    path = tmp_path / "other.onnx"
    path.write_bytes(other_onnx())
    with pytest.raises(ValueError, match="tokens"):
        validate_kokoro_onnx(path)


def test_voices_without_hash_are_validated(tmp_path, voices_bytes):
    good = tmp_path / "good.bin"
    good.write_bytes(voices_bytes)
    validate_voices(good)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        validate_voices(bad)


def test_built_in_table_matches_release():
    assert release.FILES[MODEL].sha256 == (
        "7d5df8ecf7d4b1878015a32686053fd0eebe2bc377234608764cc0ef3636a6c5"
    )
    assert release.FILES[VOICES_FILE].sha256 == (
        "bca610b8308e8d99f32e6fe4197e7ec01679264efed0cac9140fe9c29f1fbf7d"
    )
    assert release.FILES[VARIANTS["int8"]].sha256 == (  # also checked in tests/realweights.py
        "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
    )
    assert release.FILES[FP16].sha256 == "c1610a859f3bdea01107e73e50100685af38fff88f5cd8e5c56df109ec880204"
    assert set(VARIANTS.values()) <= set(release.FILES)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def test_main_downloads_and_returns_0(server, voices_bytes, tmp_path, capsys, monkeypatch):
    """The CLI fetches a variant from a mirror and verifies it by its digest."""
    server.files = {FP16: tiny_kokoro_onnx()}
    monkeypatch.setitem(release.FILES, FP16, release.RemoteFile(FP16, sha(server.files[FP16]), 0))
    (tmp_path / VOICES_FILE).write_bytes(voices_bytes)

    rc = main(
        ["--data-dir", str(tmp_path), "--variant", "fp16", "--download-url-base", server.url]
    )

    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(tmp_path / FP16), str(tmp_path / VOICES_FILE)]
    assert server.hits(FP16) == [None]
    assert server.hits(VOICES_FILE) == []


def test_main_failure_returns_2_with_one_line(server, tmp_path, capsys):
    rc = main(["--data-dir", str(tmp_path), "--download-url-base", server.url])

    assert rc == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert MODEL in lines[0] and "HTTP 404" in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_non_tty_logs_lines(caplog):
    clock = FakeClock()
    progress = Progress("f.bin", stream=io.StringIO(), log_interval=5.0, clock=clock)
    caplog.set_level(logging.INFO, logger="wyoming_kokoro")

    progress.begin(total=10_000_000)
    for _ in range(10):  # 1 MB per second: logs at seconds 1 and 6 only
        clock.now += 1
        progress.advance(1_000_000)
    progress.finish()

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert messages[0].startswith("Downloading f.bin")
    assert messages[-1].startswith("Downloaded f.bin")
    assert "10.0%" in messages[0] and "ETA 0:09" in messages[0]
    assert "100.0%" in messages[-1] and "10.0/10.0 MB" in messages[-1]
    assert "1.0 MB/s" in messages[-1]
    assert progress.stream.getvalue() == ""


def test_progress_tty_redraws_one_line():
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress("f.bin", stream=stream, is_tty=True, clock=clock)

    progress.begin(total=4_000_000, already=2_000_000)  # resumed halfway
    clock.now += 1
    progress.advance(1_000_000)
    clock.now += 1
    progress.advance(1_000_000)
    progress.finish()

    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    # Speed counts only this session's bytes, not the resumed half.
    assert "75.0%  3.0/4.0 MB  1.0 MB/s  ETA 0:01" in text
    assert "100.0%  4.0/4.0 MB" in text


@pytest.mark.asyncio
async def test_download_reports_progress_in_log(server, payload, tmp_path, caplog):
    server.files = {MODEL: payload}
    caplog.set_level(logging.INFO, logger="wyoming_kokoro")
    progress = Progress(MODEL, stream=io.StringIO(), log_interval=0.0)

    await download_file(
        f"{server.url}/{MODEL}", tmp_path / MODEL, sha(payload), progress=progress, **FAST
    )

    lines = [r.getMessage() for r in caplog.records if "MB/s" in r.getMessage()]
    assert len(lines) >= 2
    assert lines[-1].startswith(f"Downloaded {MODEL}") and "100.0%" in lines[-1]



# --------------------------------------------------------------------------
# Two processes, one directory (issue: both appended into NAME.part)
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_second_downloader_waits_and_uses_the_first_ones_file(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    async with download.DownloadLock(dest):  # another process is downloading
        waiter = asyncio.create_task(download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST))
        await asyncio.sleep(0.3)
        assert not waiter.done() and server.hits(MODEL) == []
        assert not dest.with_name(MODEL + ".part").exists()  # it never touched the .part
        dest.write_bytes(payload)  # ... which then finished
    assert await asyncio.wait_for(waiter, 10) == dest
    assert server.hits(MODEL) == [] and dest.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL]  # no lock file left


@pytest.mark.asyncio
async def test_concurrent_downloads_of_one_file_fetch_it_once(server, payload, tmp_path):
    server.files = {MODEL: payload}
    dest = tmp_path / MODEL
    results = await asyncio.gather(*(download_file(f"{server.url}/{MODEL}", dest, sha(payload), **FAST)
                                     for _ in range(3)))
    assert results == [dest] * 3 and dest.read_bytes() == payload
    assert len(server.hits(MODEL)) == 1


@pytest.mark.asyncio
async def test_lock_is_released_when_its_holder_fails(server, tmp_path):
    server.files = {}
    dest = tmp_path / MODEL
    with pytest.raises(DownloadError, match="404"):
        await download_file(f"{server.url}/{MODEL}", dest, None, **FAST)
    async with download.DownloadLock(dest) as lock:  # free again at once
        assert not lock.waited
