"""The HTTP listener under abuse: connection cap, read timeouts, allowed
clients, and the Wyoming port answering while HTTP clients hog descriptors."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import aiohttp
import pytest
from conftest import free_port, make_config
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe

from wyoming_kokoro.__main__ import build_service, http_settings
from wyoming_kokoro.config import validate
from wyoming_kokoro.http_api import HttpSettings, start_http
from wyoming_kokoro.http_server import BACKLOG, RESERVED_FDS, HttpLimits, fd_budget, peer_allowed


@pytest.fixture
def fresh_http_service(model_dir):
    service = build_service(make_config(model_dir))
    yield service
    service.engine.scheduler.close()


async def serve(service, **limits):
    port = free_port()
    runner = await start_http(service, "127.0.0.1", port, HttpSettings(limits=HttpLimits(**limits)))
    return runner, port


async def raw(port: int, data: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def test_connections_over_the_cap_get_503_json_at_once(service):
    runner, port = await serve(service, max_connections=3)
    try:
        idle = [await raw(port) for _ in range(3)]
        await asyncio.sleep(0.05)
        reader, writer = await raw(port)
        answer = await asyncio.wait_for(reader.read(), 2)  # answered and closed without a request
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in head
        assert json.loads(body)["error"]["code"] == "busy"
        writer.close()
        for _, w in idle[:1]:
            w.close()
        await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session:  # a slot is free again
            reply = await session.get(f"http://127.0.0.1:{port}/health")
            assert reply.status == 200
        for _, w in idle[1:]:
            w.close()
    finally:
        await runner.cleanup()


async def test_headers_that_never_finish_are_cut_off(service):
    runner, port = await serve(service, read_timeout=0.5)
    try:
        started = time.monotonic()
        reader, writer = await raw(port, b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\n")
        assert await asyncio.wait_for(reader.read(), 3) == b""  # closed
        assert 0.4 < time.monotonic() - started < 2.5
        silent_reader, silent = await raw(port)  # connects and sends nothing at all
        assert await asyncio.wait_for(silent_reader.read(), 3) == b""
        writer.close()
        silent.close()
    finally:
        await runner.cleanup()


async def test_a_body_that_never_arrives_is_408(service):
    runner, port = await serve(service, read_timeout=0.5)
    try:
        reader, writer = await raw(port, b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\n"
                                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"in")
        answer = await asyncio.wait_for(reader.read(), 3)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert b'"code": "timeout"' in body
        writer.close()
    finally:
        await runner.cleanup()


async def test_clients_outside_allowed_clients_are_refused_at_accept(service):
    runner, port = await serve(service, allowed_clients=(ipaddress.ip_network("10.0.0.0/8"),))
    try:
        reader, writer = await raw(port)
        answer = await asyncio.wait_for(reader.read(), 2)
        assert answer.startswith(b"HTTP/1.1 403") and b"allowed_clients" in answer
        writer.close()
    finally:
        await runner.cleanup()
    runner, port = await serve(service, allowed_clients=(ipaddress.ip_network("127.0.0.0/8"),))
    try:
        async with aiohttp.ClientSession() as session:
            assert (await session.get(f"http://127.0.0.1:{port}/health")).status == 200
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("peer,allowed,expected", [
    (("127.0.0.1", 1), ["127.0.0.0/8"], True),
    (("192.168.1.5", 1), ["127.0.0.0/8"], False),
    (("::ffff:192.168.1.5", 1, 0, 0), ["192.168.1.0/24"], True),
    (("fe80::1%eth0", 1, 0, 2), ["fe80::/10"], True),
    (("not an address", 1), ["0.0.0.0/0"], False),
    (("8.8.8.8", 1), [], True),
])
def test_peer_allowed(peer, allowed, expected):
    assert peer_allowed(peer, [ipaddress.ip_network(n) for n in allowed]) is expected


def test_the_http_cap_leaves_room_for_wyoming_and_the_servers_files():
    assert fd_budget(64, 32, 1024) == 64
    assert fd_budget(5000, 32, 1024) == 1024 - RESERVED_FDS - 32 - BACKLOG
    assert fd_budget(5000, 32, 1024, in_use=200) == 1024 - 200 - RESERVED_FDS // 2 - 32 - BACKLOG
    assert fd_budget(64, 32, 150) == 22
    assert fd_budget(64, 32, 50) == 1
    config = validate({"limits": {"http_connections": 500, "max_connections": 40},
                       "allowed_clients": ["10.0.0.0/8"], "openai_voices": {"alloy": "bf_emma"}})
    settings = http_settings(config, 256)
    assert settings.limits.max_connections == 256 - RESERVED_FDS - 40 - BACKLOG
    assert settings.limits.allowed_clients == (ipaddress.ip_network("10.0.0.0/8"),)
    assert settings.openai_voices == {"alloy": "bf_emma"}


def _low_fd_limit() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


async def test_wyoming_keeps_answering_while_http_clients_hold_every_descriptor_they_can(model_dir, tmp_path):
    """At a 256-descriptor limit, 400 HTTP connections that never send a
    request: the HTTP cap (256 - reserve - Wyoming's 32) refuses the excess
    at once, and Describe on the Wyoming port is still answered quickly."""
    config = tmp_path / "kokoro.yaml"
    config.write_text(f"model: {{path: {model_dir / 'kokoro-v1.0.onnx'}}}\nvoices: {model_dir / 'voices-v1.0.bin'}\n"
                      "warmup: false\nlimits: {http_read_timeout: 30}\n")
    wyoming_port, http_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_kokoro", "--config", str(config),
        "--uri", f"tcp://127.0.0.1:{wyoming_port}", "--http", f"127.0.0.1:{http_port}",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_low_fd_limit,
        env={**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="kokoro-fd-")})
    sockets: list[socket.socket] = []
    try:
        for _ in range(600):  # start-up: up to a minute on a loaded machine
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        refused = 0
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", http_port), timeout=2)
            sockets.append(sock)
        await asyncio.sleep(0.5)
        for sock in sockets:  # the excess was answered 503 and closed
            sock.setblocking(False)
            try:
                if sock.recv(12).startswith(b"HTTP/1.1 503"):
                    refused += 1
            except BlockingIOError:
                pass
        started = time.monotonic()
        async with AsyncTcpClient("127.0.0.1", wyoming_port) as client:
            await client.write_event(Describe().event())
            info = await asyncio.wait_for(client.read_event(), 5)
        elapsed = time.monotonic() - started
    finally:
        for sock in sockets:
            sock.close()
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert info is not None and info.type == "info", stderr.decode()[-2000:]
    assert elapsed < 1.0
    assert refused >= 400 - (256 - RESERVED_FDS - 32 - BACKLOG)
    assert b"Too many open files" not in stderr, stderr.decode()[-3000:]


async def test_a_client_that_stops_reading_loses_its_stream(fresh_http_service):
    """A response write that makes no progress for read_timeout ends the
    response: the stream's slot and model calls are freed, counted cancelled."""
    service = fresh_http_service
    runner, port = await serve(service, read_timeout=0.5)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
    sock.connect(("127.0.0.1", port))
    body = json.dumps({"input": "A sentence that goes on for quite a while. " * 300, "response_format": "pcm"})
    sock.sendall(f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
    try:
        for _ in range(200):  # never read a byte
            await asyncio.sleep(0.05)
            if service.metrics.requests.labels("http", "cancelled")._value.get() == 1:
                break
        assert service.metrics.requests.labels("http", "cancelled")._value.get() == 1
        assert service.metrics.http_streams == 0 and service.admission.active["http"] == 0
    finally:
        sock.close()
        await runner.cleanup()


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello on the plain port
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
    b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
])
async def test_malformed_http_gets_a_json_error_and_one_log_line(service, request_bytes, caplog):
    runner, port = await serve(service)
    try:
        reader, writer = await raw(port, request_bytes)
        answer = await asyncio.wait_for(reader.read(), 3)
        writer.close()
    finally:
        await runner.cleanup()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1].startswith(b"4") and b"application/json" in head
    assert json.loads(body)["error"]["message"]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log
