"""Shared fixtures: tiny model files, an in-process server, a client helper."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.server import AsyncTcpServer

sys.path.insert(0, str(Path(__file__).parent))

from models import build_model, build_voices  # noqa: E402

from wyoming_kokoro.__main__ import build_service  # noqa: E402
from wyoming_kokoro.config import validate  # noqa: E402
from wyoming_kokoro.handler import KokoroEventHandler  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    build_model(directory / "kokoro-v1.0.onnx")
    build_model(directory / "kokoro-input-ids.onnx", token_name="input_ids", duration_output=True)
    build_voices(directory / "voices-v1.0.bin")
    return directory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_config(model_dir: Path, **overrides) -> dict:
    raw = {"model": {"path": str(model_dir / "kokoro-v1.0.onnx")}, "voices": str(model_dir / "voices-v1.0.bin"),
           "warmup": False, "cache_dir": str(model_dir / "cache"), "cache": {"enabled": False},
           **overrides}
    return validate(raw)


@pytest.fixture(scope="session")
def service(model_dir):
    return build_service(make_config(model_dir))


def slow_down(service, seconds_per_token: float) -> None:
    """Make the model take real time per token (sleeping: ONNX Runtime frees
    the GIL while it computes, so this behaves like a slow CPU)."""
    model = service.engine.model
    real_run = model.run

    def slow_run(token_ids, style, speed):
        time.sleep(seconds_per_token * len(token_ids))
        return real_run(token_ids, style, speed)

    model.run = slow_run


@dataclass
class Running:
    host: str
    port: int
    server: AsyncTcpServer

    def client(self) -> AsyncTcpClient:
        return AsyncTcpClient(self.host, self.port)


async def start_server(service) -> Running:
    port = free_port()
    server = AsyncTcpServer("127.0.0.1", port)
    await server.start(partial(KokoroEventHandler, service))
    return Running("127.0.0.1", port, server)


@pytest.fixture
async def server(service):
    running = await start_server(service)
    yield running
    await running.server.stop()


@dataclass
class Reply:
    events: list[Event] = field(default_factory=list)
    first_chunk_at: float | None = None

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    @property
    def pcm(self) -> bytes:
        return b"".join(e.payload or b"" for e in self.events if e.type == "audio-chunk")

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]


async def read_until(client, last: str, timeout: float = 20.0) -> Reply:
    """Read events until one of type `last` (or an error) arrives."""
    reply = Reply()
    deadline = time.monotonic() + timeout
    while True:
        event = await asyncio.wait_for(client.read_event(), deadline - time.monotonic())
        assert event is not None, f"connection closed after {reply.types}"
        if event.type == "audio-chunk" and reply.first_chunk_at is None:
            reply.first_chunk_at = time.monotonic()
        reply.events.append(event)
        if event.type in (last, "error"):
            return reply


# -- HTTP side door (test_http*.py) -------------------------------------------
@pytest.fixture
async def fresh_service(model_dir):
    """A service of its own, so metric counts are exact and the scheduler may be closed."""
    service = build_service(make_config(model_dir))
    yield service
    service.engine.scheduler.close()


@pytest.fixture
async def http(service):
    """aiohttp's test client on the HTTP app (no listener limits)."""
    from aiohttp.test_utils import TestClient, TestServer

    from wyoming_kokoro.http_api import HttpApi

    async with TestClient(TestServer(HttpApi(service).app)) as client:
        yield client


@pytest.fixture
async def openai_client(service):
    """The official OpenAI client, pointed at the real listener (start_http)."""
    import openai
    from http_helpers import serve_api

    runner, base = await serve_api(service)
    client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="not-needed", max_retries=0, timeout=20)
    yield client
    await client.close()
    await runner.cleanup()
