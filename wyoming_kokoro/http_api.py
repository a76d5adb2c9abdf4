"""HTTP side door (opt-in with --http HOST:PORT): health, metrics, OpenAI speech.

Wyoming is the front door for Home Assistant; this serves everything else
that speaks HTTP: container health probes, Prometheus, and any tool with an
OpenAI text-to-speech client (`POST /v1/audio/speech`). Speech goes through
the very same engine and scheduler as Wyoming requests, so it has the same
time to first audio and shares the model fairly (earliest deadline first)
with Home Assistant's satellites.

Endpoints:

- `GET /health`: 200 once the service is warm (model loaded and warmed
  up), 503 before (see HttpApi; the command line starts the listener only
  after warm-up, so until then a probe's connection is refused).
- `GET /metrics`: Prometheus text format (see metrics.py).
- `POST /v1/audio/speech`: OpenAI-compatible body (`model` is accepted and
  ignored, `input`, `voice`, `speed`, `response_format` wav or pcm). Audio is
  streamed with chunked transfer encoding as segments are synthesised; pcm is
  16-bit little-endian mono 24 kHz, as OpenAI's; wav is the same behind a
  streaming header whose sizes are 0xFFFFFFFF (length unknown up front).
- `GET /v1/audio/voices`: the voice list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import struct
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH
from .chunk import to_pcm16
from .engine import Utterance
from .handler import RequestError, Service
from .metrics import API_HTTP
from .voices import Voice

_LOGGER = logging.getLogger(__name__)

FORMATS = {"wav": "audio/wav", "pcm": "audio/pcm"}
MIN_SPEED, MAX_SPEED = 0.5, 2.0
"""Kokoro's usable range (the config's); OpenAI allows 0.25-4 but Kokoro
garbles speech outside this."""

WAV_UNKNOWN_SIZE = 0xFFFFFFFF
"""RIFF/data size of a streamed WAV: the usual "until the end" marker."""


class HttpError(Exception):
    """An answer other than audio, in OpenAI's error shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def response(self) -> web.Response:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        body = {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}
        return web.json_response(body, status=self.status)


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: Voice
    speed: float
    response_format: str


def parse_speech_request(body: Any, service: Service) -> SpeechRequest:
    """Validate an OpenAI speech body; HttpError says what is wrong."""
    if not isinstance(body, dict):
        raise HttpError(400, "the body must be a JSON object")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise HttpError(400, "input is required: a non-empty string", param="input")
    limit = service.settings.max_text_chars
    if len(text) > limit:
        raise HttpError(413, f"input of {len(text)} characters is over the limit of {limit}",
                        param="input", code="text-too-long")
    if body.get("model") is not None and not isinstance(body["model"], str):
        raise HttpError(400, "model must be a string", param="model")
    return SpeechRequest(text, _voice(body.get("voice"), service), _speed(body.get("speed"), service),
                         _format(body.get("response_format"), body.get("stream_format")))


def _voice(name: Any, service: Service) -> Voice:
    if name is None or name == "":
        return service.resolve_voice(None)
    if not isinstance(name, str):
        raise HttpError(400, "voice must be a string (see GET /v1/audio/voices)", param="voice")
    try:
        return service.resolve_voice({"name": name})
    except RequestError as error:
        raise HttpError(400, f"{error.text} (GET /v1/audio/voices lists them)", param="voice",
                        code=error.code) from None


def _speed(value: Any, service: Service) -> float:
    if value is None:
        return service.settings.speed
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not MIN_SPEED <= value <= MAX_SPEED:
        raise HttpError(400, f"speed must be a number from {MIN_SPEED} to {MAX_SPEED}", param="speed")
    return float(value)


def _format(response_format: Any, stream_format: Any) -> str:
    """wav unless asked for pcm: OpenAI's default (mp3) needs an encoder we do not ship."""
    if stream_format not in (None, "audio"):
        raise HttpError(400, "stream_format must be 'audio' (server-sent events are not supported)",
                        param="stream_format")
    if response_format is None:
        return "wav"
    if response_format not in FORMATS:
        raise HttpError(400, f"response_format must be one of {', '.join(FORMATS)}", param="response_format")
    return response_format


def wav_header() -> bytes:
    """A 44-byte PCM WAV header for a stream of unknown length."""
    byte_rate = SAMPLE_RATE * CHANNELS * SAMPLE_WIDTH
    return (b"RIFF" + struct.pack("<I", WAV_UNKNOWN_SIZE) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, SAMPLE_RATE, byte_rate,
                                    CHANNELS * SAMPLE_WIDTH, SAMPLE_WIDTH * 8)
            + b"data" + struct.pack("<I", WAV_UNKNOWN_SIZE))


class HttpApi:
    """The aiohttp application; `service` is None until the model is warm.

    The app can be served before the service exists (then /health says 503,
    which is what a readiness probe needs) and is handed the service with
    `set_service` once build_service has returned.
    """

    def __init__(self, service: Service | None = None) -> None:
        self.service = service
        self.app = web.Application(client_max_size=_body_limit(service))
        self.app.add_routes([
            web.get("/health", self.health),
            web.get("/metrics", self.metrics),
            web.get("/v1/audio/voices", self.voices),
            web.post("/v1/audio/speech", self.speech),
        ])

    def set_service(self, service: Service | None) -> None:
        """Ready (a service) or not ready (None, e.g. while shutting down)."""
        self.service = service

    def _ready(self) -> Service:
        if self.service is None:
            raise HttpError(503, "starting: the model is loading", code="not-ready")
        return self.service

    async def health(self, request: web.Request) -> web.Response:
        if self.service is None:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok", "voices": len(self.service.engine.voices)})

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            service = self._ready()
        except HttpError as error:
            return error.response()
        text = service.metrics.render(queued_segments=service.engine.scheduler.pending,
                                      connections=service.connections)
        return web.Response(body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def voices(self, request: web.Request) -> web.Response:
        try:
            service = self._ready()
        except HttpError as error:
            return error.response()
        service.engine.voices.rescan()  # custom voice files dropped in since, as Describe does
        return web.json_response({
            "default": service.settings.default_voice,
            "voices": [{"id": v.name, "name": v.name, "language": v.language.wyoming,
                        "description": v.description} for v in service.engine.voices.values()],
        })

    async def speech(self, request: web.Request) -> web.StreamResponse:
        try:
            service = self._ready()
            speech = parse_speech_request(await _json(request), service)
        except HttpError as error:
            if self.service is not None:
                self.service.metrics.error(API_HTTP)
            _LOGGER.info("Rejected HTTP speech request: %s", error.message)
            return error.response()
        service.metrics.http_streams += 1
        try:
            return await self._stream(request, service, speech)
        finally:
            service.metrics.http_streams -= 1

    async def _stream(self, request: web.Request, service: Service, speech: SpeechRequest) -> web.StreamResponse:
        """Synthesise exactly as the Wyoming handler does, writing audio as it comes.

        Headers go out with the first audio, so a failure before any audio
        is still a proper JSON error; a failure after it breaks the
        connection rather than end a truncated body as if it were whole.
        """
        started = time.monotonic()
        utterance = service.engine.utterance(speech.voice, speech.speed)
        response: web.StreamResponse | None = None
        try:
            await utterance.add_text(speech.text, streamed=False)
            await utterance.finish()
            async with contextlib.aclosing(utterance.audio()) as pieces:
                async for piece in pieces:
                    if response is None:
                        response = await _open(request, speech.response_format)
                    await response.write(to_pcm16(piece))
            if response is None:  # text without anything to say: empty audio
                response = await _open(request, speech.response_format)
            await response.write_eof()
        except ConnectionError:  # the client went away: nobody to answer
            _LOGGER.debug("HTTP client went away during synthesis")
            return response if response is not None else web.Response(status=499)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the model or G2P failed for this text
            service.metrics.error(API_HTTP)
            if response is not None:
                _LOGGER.error("Synthesis failed after audio was sent: %s", error)
                raise
            _LOGGER.exception("Synthesis failed")
            if isinstance(error, RequestError):
                return HttpError(400, error.text, code=error.code).response()
            return HttpError(500, f"synthesis failed: {error}", code="synthesis-failed").response()
        finally:
            self._observe(service, utterance, started)
        return response

    @staticmethod
    def _observe(service: Service, utterance: Utterance, started: float) -> None:
        ttfa = (utterance.first_audio_at - started) if utterance.first_audio_at else float("nan")
        rtf = utterance.model_seconds / utterance.audio_seconds if utterance.audio_seconds else float("nan")
        service.metrics.observe(API_HTTP, ttfa, rtf, utterance.audio_seconds)
        _LOGGER.info("http voice=%s chars=%d segments=%d audio=%.2fs ttfa=%.3fs model=%.3fs wall=%.3fs rtf=%.3f",
                     utterance.voice.name, utterance.text_chars, utterance.segments, utterance.audio_seconds,
                     ttfa, utterance.model_seconds, time.monotonic() - started, rtf)


def _body_limit(service: Service | None) -> int:
    """Room for the longest accepted input (UTF-8, JSON-escaped) plus the other fields."""
    chars = service.settings.max_text_chars if service is not None else 0
    return max(1024 * 1024, 6 * chars + 64 * 1024)


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HttpError(400, "the body is not valid JSON") from None


async def _open(request: web.Request, response_format: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": FORMATS[response_format],
        "X-Sample-Rate": str(SAMPLE_RATE), "X-Sample-Width": str(SAMPLE_WIDTH), "X-Channels": str(CHANNELS),
    })
    response.enable_chunked_encoding()
    await response.prepare(request)
    if response_format == "wav":
        await response.write(wav_header())
    return response


def parse_address(value: str) -> tuple[str, int]:
    """--http value: HOST:PORT, [IPv6]:PORT or :PORT (all interfaces)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT (e.g. 0.0.0.0:8080)")
    return host.strip("[]") or "0.0.0.0", int(port)


SHUTDOWN_GRACE = 2.0
"""Seconds in-flight HTTP streams get on shutdown (aiohttp's default, 60 s,
would hold up a restart for as long as the longest text)."""


async def start_http(service: Service | None, host: str, port: int) -> web.AppRunner:
    """Serve the HTTP API; the caller cleans the runner up on shutdown."""
    api = HttpApi(service)
    # No access log: our own line per speech request says more.
    runner = web.AppRunner(api.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(error.errno, f"--http {host}:{port}: {error.strerror or error}") from None
    _LOGGER.info("HTTP API on http://%s:%d (/health, /metrics, /v1/audio/speech)", host, port)
    return runner
