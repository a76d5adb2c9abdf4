"""HTTP side door (opt-in with --http HOST:PORT): health, metrics, OpenAI speech.

Wyoming is the front door for Home Assistant; this serves everything else
that speaks HTTP: container health probes, Prometheus, and any tool with an
OpenAI text-to-speech client. Speech goes through the very same admission
(admission.py), engine and deadline queue as Wyoming requests, so it has
the same time to first audio and cannot crowd out Home Assistant's
satellites.

Endpoints:

- `GET /health`: 200 once the service is warm, 503 before (see HttpApi).
- `GET /metrics`: Prometheus exposition (metrics.py).
- `POST /v1/audio/speech`: OpenAI's body and Kokoro-FastAPI's extensions
  (speech_request.py); audio in mp3, opus, aac, flac, wav or pcm
  (encode.py), streamed with chunked transfer as segments are synthesised.
- `GET /v1/models`, `GET /v1/models/{id}`: the model names accepted.
- `GET /v1/audio/voices`: the voice list (rescanned, as Describe does).

Every error is JSON in OpenAI's shape, whatever raised it (aiohttp's own
404/405/413 included): a client library then shows the message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from . import SAMPLE_RATE
from .admission import AdmissionTimeout
from .encode import AV_SPECS, FORMATS, PcmEncoder, wav_header
from .http_server import GuardedSite, HttpLimits
from .metrics import API_HTTP, BUSY, CANCELLED, FAILED, OK, REJECTED
from .service import Service, request_line, timings
from .speech_request import MODELS, HttpError, SpeechRequest, VoiceResolver, parse_json, parse_speech_request
from .stretch import Stretcher, split_speed

_LOGGER = logging.getLogger(__name__)

SHUTDOWN_GRACE = 2.0
"""Seconds in-flight HTTP streams get on shutdown (aiohttp's default, 60 s,
would hold up a restart for as long as the longest text)."""

MODEL_CREATED = 1735689600
"""`created` of the listed models (2025-01-01, Kokoro v1.0's release year)."""


@dataclass(frozen=True)
class HttpSettings:
    openai_voices: Mapping[str, str] = field(default_factory=dict)
    limits: HttpLimits = field(default_factory=HttpLimits)


class _ClientGone(Exception):
    """The client disconnected or stopped reading: nobody to answer."""


class _StreamBroken(ConnectionError):
    """Synthesis failed after audio went out: raised through aiohttp, which
    then closes the connection, so the client sees a truncated body as an
    error rather than a short file."""


def _error_response(error: HttpError) -> web.Response:
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return web.json_response(error.body(), status=error.status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """aiohttp's own errors (404, 405, 413, ...) and any crash as OpenAI-shaped JSON."""
    try:
        return await handler(request)
    except HttpError as error:
        return _error_response(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error_response(HttpError(error.status, error.reason or "error", code=str(error.status)))
    except (asyncio.CancelledError, ConnectionError):  # e.g. _StreamBroken: the response is gone
        raise
    except Exception:  # noqa: BLE001 - one bad request must not show a traceback page
        _LOGGER.exception("HTTP %s %s failed", request.method, request.path)
        return _error_response(HttpError(500, "internal error", code="internal"))


class HttpApi:
    """The aiohttp application; `service` is None until the model is warm.

    The app can be served before the service exists (then /health says 503,
    which is what a readiness probe needs) and is handed the service with
    `set_service` once build_service has returned.
    """

    def __init__(self, service: Service | None = None, settings: HttpSettings | None = None) -> None:
        self.settings = settings or HttpSettings()
        self.service: Service | None = None
        self.voices: VoiceResolver | None = None
        self.site: GuardedSite | None = None
        self.app = web.Application(client_max_size=_body_limit(service), middlewares=[json_errors])
        self.app.add_routes([
            web.get("/health", self.health),
            web.get("/metrics", self.metrics),
            web.get("/v1/models", self.models),
            web.get("/v1/models/{model}", self.model),
            web.get("/v1/audio/voices", self.list_voices),
            web.post("/v1/audio/speech", self.speech),
        ])
        self.set_service(service)

    def set_service(self, service: Service | None) -> None:
        """Ready (a service) or not ready (None, e.g. while shutting down)."""
        self.service = service
        self.voices = VoiceResolver(service, self.settings.openai_voices) if service is not None else None

    def _ready(self) -> Service:
        if self.service is None:
            raise HttpError(503, "starting: the model is loading", code="not-ready")
        return self.service

    async def health(self, request: web.Request) -> web.Response:
        if self.service is None:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok", "voices": len(self.service.engine.voices)})

    async def metrics(self, request: web.Request) -> web.Response:
        service = self._ready()
        body = service.metrics.render(queued_segments=service.engine.scheduler.pending,
                                      connections=service.connections,
                                      http_connections=self.site.connections if self.site else 0,
                                      waiting=service.admission.waiting(),
                                      running_calls=service.engine.scheduler.busy)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [_model(name) for name in MODELS]})

    async def model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        if name not in MODELS:
            raise HttpError(404, f"model {name!r} not found; GET /v1/models lists them", code="model_not_found")
        return web.json_response(_model(name))

    async def list_voices(self, request: web.Request) -> web.Response:
        service = self._ready()
        service.engine.voices.rescan()  # custom voice files dropped in since, as Describe does
        return web.json_response({
            "default": service.settings.default_voice,
            "voices": [{"id": v.name, "name": v.name, "language": v.language.wyoming,
                        "description": v.description} for v in service.engine.voices.values()],
            "openai_voices": dict(self.voices.openai_voices) if self.voices else {},
        })

    async def speech(self, request: web.Request) -> web.StreamResponse:
        service = self._ready()
        started = time.monotonic()
        try:
            data = await asyncio.wait_for(request.read(), self.settings.limits.read_timeout)
            speech = parse_speech_request(parse_json(data), self.voices, service.settings.max_text_chars)
        except asyncio.TimeoutError:
            response = self._refuse(service, HttpError(408, "the body did not arrive in time", code="timeout"))
            response.force_close()  # the rest of the body is not worth waiting for
            return response
        except web.HTTPRequestEntityTooLarge as error:
            return self._refuse(service, HttpError(413, error.text or "body too large", code="too-large"))
        except HttpError as error:
            return self._refuse(service, error)
        except asyncio.CancelledError:  # the client hung up while sending its body
            service.metrics.request(API_HTTP, CANCELLED)
            raise
        outcome: str | None = FAILED  # unless the synthesis ends otherwise (also _StreamBroken)
        try:
            async with service.admission.slot(API_HTTP):
                service.metrics.http_streams += 1
                try:
                    response, outcome = await _Synthesis(request, service, speech, self.settings).run(started)
                finally:
                    service.metrics.http_streams -= 1
            return response
        except AdmissionTimeout as error:
            outcome = None  # counted by _refuse
            return self._refuse(service, HttpError(503, f"server busy: {error}", code="busy"))
        except asyncio.CancelledError:  # the client hung up (handler cancellation) or shutdown
            outcome = CANCELLED
            raise
        finally:
            if outcome is not None:
                service.metrics.request(API_HTTP, outcome)

    @staticmethod
    def _refuse(service: Service, error: HttpError) -> web.Response:
        outcome = BUSY if error.status == 503 else REJECTED if error.status < 500 else FAILED
        service.metrics.request(API_HTTP, outcome)
        _LOGGER.info("Rejected HTTP speech request: %s", error.message)
        return _error_response(error)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "hexgrad"}


class _Synthesis:
    """One speech response: the utterance's audio, adjusted, encoded, written.

    Headers go out with the first audio, so a failure before any audio is
    still a proper JSON error; a failure after it breaks the connection
    rather than end a truncated body as if it were whole.
    """

    def __init__(self, request: web.Request, service: Service, speech: SpeechRequest, settings: HttpSettings) -> None:
        self.request = request
        self.service = service
        self.speech = speech
        self.write_timeout = settings.limits.read_timeout
        model_speed, tempo = split_speed(speech.speed)
        self.utterance = service.engine.utterance(speech.voice, model_speed)
        self.stretcher = Stretcher(tempo, SAMPLE_RATE) if abs(tempo - 1.0) > 1e-6 else None
        whole_wav = speech.response_format == "wav" and not speech.stream
        self.encoder = PcmEncoder() if whole_wav else FORMATS[speech.response_format].make(SAMPLE_RATE)
        self.whole_wav = whole_wav
        self.off_loop = speech.response_format in AV_SPECS or self.stretcher is not None
        """FFmpeg work (tens of ms per second of audio for aac) runs on a
        thread, so Describe and other clients are answered meanwhile."""
        self.response: web.StreamResponse | None = None
        self.body: list[bytes] = []

    async def run(self, started: float) -> tuple[web.StreamResponse, str]:
        utterance = self.utterance
        outcome = CANCELLED  # unless it gets further: cancelled (client gone, or shutdown)
        try:
            await utterance.add_text(self.speech.text, streamed=False)
            await utterance.finish()
            async with contextlib.aclosing(utterance.audio()) as pieces:
                async for piece in pieces:
                    await self._send(await self._convert(self._encode_piece, piece))
            await self._send(await self._convert(self._encode_tail, None), last=True)
            outcome = OK
            return self.response, outcome
        except _ClientGone:
            _LOGGER.debug("HTTP client went away during synthesis")
            return self.response or web.Response(status=499), outcome
        except Exception as error:  # noqa: BLE001 - the model or G2P failed for this text
            outcome = FAILED
            if self.response is not None:
                _LOGGER.error("Synthesis failed after audio was sent: %s", error)
                raise _StreamBroken(str(error)) from error
            code = getattr(error, "code", None)
            if code is not None and hasattr(error, "text"):  # the request's fault (RequestError)
                outcome = REJECTED
                return _error_response(HttpError(400, error.text, code=code)), outcome
            _LOGGER.exception("Synthesis failed")
            return _error_response(HttpError(500, f"synthesis failed: {error}", code="synthesis-failed")), outcome
        finally:
            self._observe(started, outcome)

    async def _convert(self, fn: Callable[[Any], bytes], piece: Any) -> bytes:
        return await asyncio.to_thread(fn, piece) if self.off_loop else fn(piece)

    def _adjust(self, piece: np.ndarray) -> np.ndarray:
        if self.speech.volume != 1.0:
            piece = piece * np.float32(self.speech.volume)
        return self.stretcher.process(piece) if self.stretcher is not None else piece

    def _encode_piece(self, piece: np.ndarray) -> bytes:
        return self.encoder.encode(self._adjust(piece))

    def _encode_tail(self, _: None) -> bytes:
        data = b""
        if self.stretcher is not None:
            data = self.encoder.encode(self.stretcher.finish())
        return data + self.encoder.finish()

    async def _send(self, data: bytes, *, last: bool = False) -> None:
        if not self.speech.stream:
            self.body.append(data)
            if last:
                pcm = b"".join(self.body)
                body = wav_header(SAMPLE_RATE, len(pcm)) + pcm if self.whole_wav else pcm
                self.response = web.Response(body=body, headers=self._headers())
            return
        if not data and not last:
            return
        try:
            if self.response is None:
                self.response = web.StreamResponse(headers=self._headers())
                self.response.enable_chunked_encoding()
                await self.response.prepare(self.request)
            if data:
                await asyncio.wait_for(self.response.write(data), self.write_timeout)
            if last:
                await asyncio.wait_for(self.response.write_eof(), self.write_timeout)
        except (ConnectionError, asyncio.TimeoutError) as error:
            raise _ClientGone from error

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": FORMATS[self.speech.response_format].content_type,
                "X-Sample-Rate": str(SAMPLE_RATE), "X-Sample-Width": "2", "X-Channels": "1"}

    def _observe(self, started: float, outcome: str) -> None:
        """Timings to /metrics and the request's one log line, as the Wyoming handler does."""
        u = self.utterance
        self.service.metrics.observe(API_HTTP, *timings(u, started), u.audio_seconds)
        _LOGGER.info("http %s", request_line(u, started, outcome, format=self.speech.response_format,
                                             speed=f"{self.speech.speed:g}"))


def _body_limit(service: Service | None) -> int:
    """Room for the longest accepted input (UTF-8, JSON-escaped) plus the other fields."""
    chars = service.settings.max_text_chars if service is not None else 0
    return max(1024 * 1024, 6 * chars + 64 * 1024)


def parse_address(value: str) -> tuple[str, int]:
    """--http value: HOST:PORT, [IPv6]:PORT or :PORT (all interfaces)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT (e.g. 0.0.0.0:8080)")
    return host.strip("[]") or "0.0.0.0", int(port)


async def start_http(service: Service | None, host: str, port: int,
                     settings: HttpSettings | None = None) -> web.AppRunner:
    """Serve the HTTP API; the caller cleans the runner up on shutdown."""
    settings = settings or HttpSettings()
    api = HttpApi(service, settings)
    # keepalive_timeout doubles as the header timeout: aiohttp closes a
    # connection that has not sent a whole request within it. lingering_time:
    # how long the unread rest of a refused body is drained before closing
    # (aiohttp's 10 s would keep a slow client's descriptor that long).
    options = {"access_log": None, "keepalive_timeout": settings.limits.read_timeout,
               "lingering_time": min(1.0, settings.limits.read_timeout)}
    # handler_cancellation: a client that hangs up stops its synthesis (and
    # its wait for a slot) at once, not at the next write.
    runner = web.AppRunner(api.app, shutdown_timeout=SHUTDOWN_GRACE, handler_cancellation=True, **options)
    await runner.setup()
    api.site = GuardedSite(runner, host, port, settings.limits, options)
    try:
        await api.site.start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(error.errno, f"--http {host}:{port}: {error.strerror or error}") from None
    _LOGGER.info("HTTP API on http://%s:%d (/health, /metrics, /v1/audio/speech), at most %d connections",
                 host, port, settings.limits.max_connections)
    return runner
