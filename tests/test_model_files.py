"""Start-up finds, or downloads once, the model files; failures are one line."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading

import pytest
from aiohttp import web

from wyoming_kokoro import download
from wyoming_kokoro import release as release_table
from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.config import ConfigError, validate
from wyoming_kokoro.model_files import locate_model_files


@pytest.fixture
def release(model_dir, tmp_path):
    """A local 'release' server for the tiny model files (with their hashes)."""
    files = {"kokoro-v1.0.onnx": (model_dir / "kokoro-v1.0.onnx").read_bytes(),
             "voices-v1.0.bin": (model_dir / "voices-v1.0.bin").read_bytes()}
    hits: list[str] = []

    async def serve(request):
        name = request.match_info["name"]
        hits.append(name)
        if name not in files:
            raise web.HTTPNotFound()
        return web.Response(body=files[name])

    app = web.Application()
    app.router.add_get("/{name}", serve)
    ready = threading.Event()
    state = {}

    def run():
        import asyncio

        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        state["port"] = site._server.sockets[0].getsockname()[1]
        state["loop"], state["runner"] = loop, runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{state['port']}", files, hits
    state["loop"].call_soon_threadsafe(state["loop"].stop)
    thread.join(10)


@pytest.fixture
def known_hashes(release, monkeypatch):
    """The release fixture's files, with their real digests in the hash table."""
    url, files, hits = release
    for name, body in files.items():
        digest = hashlib.sha256(body).hexdigest()
        monkeypatch.setitem(release_table.FILES, name, release_table.RemoteFile(name, digest, 0))
    return url, files, hits


def test_missing_files_are_downloaded_verified_and_reused(known_hashes, tmp_path):
    url, files, hits = known_hashes
    data = tmp_path / "data"
    config = validate({"data_dirs": [str(data)], "download": {"url_base": url}})
    model, voices = locate_model_files(config)
    assert model == data / "kokoro-v1.0.onnx" and model.read_bytes() == files["kokoro-v1.0.onnx"]
    assert voices.read_bytes() == files["voices-v1.0.bin"]
    assert sorted(hits) == ["kokoro-v1.0.onnx", "voices-v1.0.bin"]
    locate_model_files(config)  # second start: offline-safe, nothing fetched
    assert len(hits) == 2


def test_wrong_hash_is_an_error_and_nothing_is_kept(release, tmp_path, monkeypatch):
    url, _, _ = release
    monkeypatch.setitem(release_table.FILES, "kokoro-v1.0.onnx",
                        release_table.RemoteFile("kokoro-v1.0.onnx", "0" * 64, 0))
    config = validate({"data_dirs": [str(tmp_path)], "download": {"url_base": url}})
    with pytest.raises(ConfigError, match="kokoro-v1.0.onnx"):
        locate_model_files(config)
    assert not (tmp_path / "kokoro-v1.0.onnx").exists()


def test_variant_picks_the_file_and_download_dir(release, tmp_path, model_dir, monkeypatch):
    url, files, hits = release
    files["kokoro-v1.0.int8.onnx"] = files["kokoro-v1.0.onnx"]
    monkeypatch.setitem(release_table.FILES, "kokoro-v1.0.int8.onnx", release_table.RemoteFile(
        "kokoro-v1.0.int8.onnx", hashlib.sha256(files["kokoro-v1.0.onnx"]).hexdigest(), 0))
    config = validate({"data_dirs": [str(tmp_path / "a")], "model": {"variant": "int8"},
                       "voices": str(model_dir / "voices-v1.0.bin"),
                       "download": {"url_base": url, "dir": str(tmp_path / "dl")}})
    model, voices = locate_model_files(config)
    assert model == tmp_path / "dl" / "kokoro-v1.0.int8.onnx"
    assert voices == model_dir / "voices-v1.0.bin" and hits == ["kokoro-v1.0.int8.onnx"]


def assert_names_every_way_out(message: str, directory, *names: str) -> None:
    assert "\n" not in message
    for name in names:
        assert name in message
    assert f"Put {'them' if len(names) > 1 else 'it'} in {directory}" in message
    assert "--model/--voices" in message and "--download-url-base" in message


def test_downloads_off_names_every_missing_file_and_the_ways_out(tmp_path):
    share, data = tmp_path / "share", tmp_path / "data"
    config = validate({"data_dirs": [str(share), str(data)], "download": {"enabled": False, "dir": str(data)}})
    with pytest.raises(ConfigError, match="downloads are off") as error:
        locate_model_files(config)
    assert_names_every_way_out(str(error.value), share, "kokoro-v1.0.onnx", "voices-v1.0.bin")
    (data / "voices-v1.0.bin").parent.mkdir()
    (data / "voices-v1.0.bin").write_bytes(b"x")  # only the model is missing now
    with pytest.raises(ConfigError) as error:
        locate_model_files(config)
    assert_names_every_way_out(str(error.value), share, "kokoro-v1.0.onnx")
    assert "voices-v1.0.bin" not in str(error.value)


def test_local_files_only_never_touches_the_network(release, tmp_path):
    url, _, hits = release
    result = subprocess.run([sys.executable, "-m", "wyoming_kokoro", "--data-dir", str(tmp_path),
                             "--download-url-base", url, "--local-files-only"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and hits == []
    assert_names_every_way_out(result.stderr.strip(), tmp_path, "kokoro-v1.0.onnx", "voices-v1.0.bin")


def test_no_network_fails_at_once_naming_every_file(tmp_path, monkeypatch):
    """A name that does not resolve is no network: no retries with back-off, and
    the message names both files, not the first one now and the next one later."""
    import socket

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    sleeps = []
    monkeypatch.setattr(download.asyncio, "sleep", lambda s: sleeps.append(s))
    config = validate({"data_dirs": [str(tmp_path / "share"), str(tmp_path / "data")],
                       "download": {"url_base": "https://models.example/kokoro", "dir": str(tmp_path / "data")}})
    with pytest.raises(ConfigError, match="cannot resolve models.example") as error:
        locate_model_files(config)
    assert sleeps == []
    assert_names_every_way_out(str(error.value), tmp_path / "share", "kokoro-v1.0.onnx", "voices-v1.0.bin")
    assert not list((tmp_path / "data").glob("*")) if (tmp_path / "data").exists() else True


def test_cli_404_is_one_line_exit_2(release, tmp_path):
    url, files, _ = release
    files.clear()
    result = subprocess.run([sys.executable, "-m", "wyoming_kokoro", "--data-dir", str(tmp_path),
                             "--download-url-base", url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "kokoro-v1.0.onnx" in errors[0] and url in errors[0] and str(tmp_path) in errors[0]


def test_server_start_downloads_what_is_missing(known_hashes, tmp_path):
    url, _, hits = known_hashes
    data = tmp_path / "data"
    config = validate({"data_dirs": [str(data)], "download": {"url_base": url}, "warmup": False,
                       "cache_dir": str(tmp_path / "cache"), "cache": {"enabled": False}})
    service = build_service(config)
    try:
        assert "af_heart" in service.engine.voices
        assert sorted(p.name for p in data.iterdir()) == ["kokoro-v1.0.onnx", "voices-v1.0.bin"]  # no .part left
        assert sorted(hits) == ["kokoro-v1.0.onnx", "voices-v1.0.bin"]
    finally:
        service.engine.scheduler.close()


def test_download_dir_alone_works_and_is_searched_on_later_starts(known_hashes, tmp_path):
    """With only a download dir, files land there, and a later start with
    downloads off (offline) finds them there instead of failing."""
    url, _, hits = known_hashes
    dl = tmp_path / "dl"
    model, voices = locate_model_files(validate({"download": {"url_base": url, "dir": str(dl)}}))
    assert (model, voices) == (dl / "kokoro-v1.0.onnx", dl / "voices-v1.0.bin")
    offline = validate({"data_dirs": [str(tmp_path / "empty")], "download": {"enabled": False, "dir": str(dl)}})
    assert locate_model_files(offline) == (model, voices)
    assert len(hits) == 2


def test_explicit_files_are_never_downloaded(release, tmp_path):
    url, _, hits = release
    config = validate({"model": {"path": str(tmp_path / "mine.onnx")}, "download": {"url_base": url}})
    with pytest.raises(ConfigError, match="model file not found: .*mine.onnx"):
        locate_model_files(config)
    assert hits == []
