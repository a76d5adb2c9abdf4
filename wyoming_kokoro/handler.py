"""Wyoming events in, Wyoming events out: what Home Assistant relies on.

- describe -> info, answered at once even while this or another client's
  audio is being synthesised (synthesis is a task, never awaited inline).
- synthesize -> exactly one audio-start, chunks, exactly one audio-stop.
- synthesize-start / -chunk* / synthesize (ignored) / -stop -> one
  audio-start, chunks as clauses complete, one audio-stop, then
  synthesize-stopped. One audio format for the whole stream.
- Bad requests get an `error` event and the connection keeps working;
  events with empty data and unknown events are ignored, never fatal.
- When the client goes away its synthesis is cancelled, and with it every
  model call not yet started.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from . import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, __version__
from .admission import Admission
from .chunk import Chunker
from .engine import Engine, Utterance
from .metrics import API_WYOMING, Metrics
from .phonemize import get_g2p
from .protocol import Limits, ProtocolError, read_event
from .resample import OutputChunker
from .voices import Voice

_LOGGER = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="hexgrad", url="https://huggingface.co/hexgrad/Kokoro-82M")


class RequestError(Exception):
    """A bad request, answered with an `error` event carrying `code`."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass
class ServiceSettings:
    default_voice: str
    speed: float
    streaming: bool
    samples_per_chunk: int
    max_text_chars: int
    max_connections: int = 32
    idle_timeout: float = 300.0
    allowed_clients: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    limits: Limits = field(default_factory=Limits)
    output_rate: int = SAMPLE_RATE
    max_syntheses: int = 8
    http_syntheses: int = 1
    http_wait: float = 60.0


def _voice_description(voice: Voice) -> str:
    """Say so when an English voice runs on the espeak-ng fallback G2P."""
    if voice.language.espeak.startswith("en") and get_g2p(voice.language.espeak).name != "misaki":
        return f"{voice.description} (espeak-ng G2P)"
    return voice.description


def build_info(voices: Mapping[str, Voice], streaming: bool) -> Info:
    return Info(tts=[TtsProgram(
        name="kokoro",
        description="Kokoro-82M neural text to speech",
        attribution=ATTRIBUTION,
        installed=True,
        version=__version__,
        voices=[
            TtsVoice(name=v.name, description=_voice_description(v), attribution=ATTRIBUTION,
                     installed=True, version=None, languages=[v.language.wyoming])
            for v in voices.values()
        ],
        supports_synthesize_streaming=streaming,
    )])


class Service:
    """What every connection shares: engine, settings, the Info answer."""

    def __init__(self, engine: Engine, settings: ServiceSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.connections = 0
        self._info_event = build_info(engine.voices, settings.streaming).event()
        self.metrics = Metrics()
        self.admission = Admission(settings.max_syntheses, settings.http_syntheses, settings.http_wait)
        """Shared with the HTTP API: one limit on concurrent syntheses (admission.py)."""

    def info_event(self) -> Event:
        """The describe answer, rebuilt only when voice files changed on disk."""
        if self.engine.voices.rescan():
            self._info_event = build_info(self.engine.voices, self.settings.streaming).event()
        return self._info_event

    def resolve_voice(self, voice: Any) -> Voice:
        """HA sends {name, speaker?} or nothing; other clients may send language."""
        voices = self.engine.voices
        if not voice:
            return voices[self.settings.default_voice]
        if not isinstance(voice, dict):
            raise RequestError("bad-request", "voice must be an object with a name")
        name = voice.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise RequestError("bad-request", "voice.name must be a string")
            try:
                return voices.resolve(name)  # also ad-hoc blends: 'af_heart:2+am_adam:1'
            except ValueError as error:
                raise RequestError("bad-voice", str(error)) from None
            except KeyError:
                raise RequestError("unknown-voice", f"unknown voice {name!r}; see the voices in describe") from None
        language = voice.get("language")
        if isinstance(language, str) and language:
            wanted = language.replace("-", "_").lower()
            default = voices[self.settings.default_voice]
            candidates = [default, *voices.values()]
            for candidate in candidates:
                code = candidate.language.wyoming.lower()
                if code == wanted or code.split("_")[0] == wanted:
                    return candidate
            raise RequestError("unknown-language", f"no voice for language {language!r}")
        return voices[self.settings.default_voice]


def _text_of(data: dict[str, Any]) -> str:
    text = data.get("text", "")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise RequestError("bad-request", "text must be a string")
    return text


class KokoroEventHandler(AsyncEventHandler):
    """One client connection."""

    def __init__(self, service: Service, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self._stream: Utterance | None = None
        self._stream_task: asyncio.Task | None = None
        self._stream_chars = 0
        self._rejected_stream = False
        self._tail: asyncio.Task | None = None  # last synthesis task, for ordering
        self.idle_timeout: float | None = service.settings.idle_timeout
        """None for standard input, which its parent process owns."""

    async def write_event(self, event: Event) -> None:
        """Every event out passes here: count errors and audio streams for /metrics."""
        self.service.metrics.wyoming_event(self, event)
        await super().write_event(event)

    async def run(self) -> None:
        """Read events with size limits, an idle timeout and admission control.

        Replaces wyoming's loop, which trusts sizes sent by the peer and
        drops the client on the first bad line.
        """
        refusal = self._admission()
        if refusal is not None:
            _LOGGER.warning("Refused %s: %s", self._peer(), refusal.text)
            try:
                await self.write_event(Error(text=refusal.text, code=refusal.code).event())
            except ConnectionError:
                pass
            self.writer.close()
            return
        self.service.connections += 1
        try:
            await self._read_loop()
        finally:
            self.service.connections -= 1
            self.service.metrics.wyoming_closed(self)
            await self.disconnect()
            self.writer.close()

    async def _read_loop(self) -> None:
        settings = self.service.settings
        while True:
            try:
                event = await asyncio.wait_for(read_event(self.reader, settings.limits), self.idle_timeout)
            except asyncio.TimeoutError:
                if self._busy():
                    continue
                _LOGGER.info("Closing idle connection from %s", self._peer())
                return
            except ProtocolError as error:
                _LOGGER.info("Bad event from %s: %s", self._peer(), error.text)
                try:
                    await self.write_event(Error(text=error.text, code=error.code).event())
                except ConnectionError:
                    return
                if error.fatal:
                    return
                continue
            except (ConnectionError, OSError):
                return
            if event is None or not await self.handle_event(event):
                return

    def _busy(self) -> bool:
        return self._tail is not None and not self._tail.done()

    def _peer(self) -> str:
        peer = self.writer.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) else "local socket"

    def _admission(self) -> RequestError | None:
        """Why this connection must be refused (None: welcome)."""
        settings = self.service.settings
        peer = self.writer.get_extra_info("peername")
        if settings.allowed_clients and isinstance(peer, tuple):
            try:
                address = ipaddress.ip_address(str(peer[0]).split("%")[0])
            except ValueError:
                return RequestError("forbidden", "client address not understood")
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not any(address in network for network in settings.allowed_clients):
                return RequestError("forbidden", f"client {address} is not in allowed_clients")
        if self.service.connections >= settings.max_connections:
            return RequestError("busy", f"server busy: {settings.max_connections} connections open")
        return None

    async def handle_event(self, event: Event) -> bool:
        if not isinstance(event.data, dict):
            event.data = {}
        try:
            await self._dispatch(event)
        except RequestError as error:
            _LOGGER.info("Rejected %s: %s", event.type, error.text)
            await self.write_event(Error(text=error.text, code=error.code).event())
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # noqa: BLE001 - one bad request must not kill the server
            _LOGGER.exception("Failed to handle %s", event.type)
            await self.write_event(Error(text=f"internal error: {error}", code="internal").event())
        return True

    async def _dispatch(self, event: Event) -> None:
        if Describe.is_type(event.type):
            await self.write_event(self.service.info_event())
        elif SynthesizeStart.is_type(event.type):
            await self._start_stream(event.data)
        elif SynthesizeChunk.is_type(event.type):
            await self._stream_chunk(event.data)
        elif SynthesizeStop.is_type(event.type):
            await self._stop_stream()
        elif Synthesize.is_type(event.type):
            if self._stream is not None or self._rejected_stream:
                return  # the full text of a stream we already speak: ignore
            await self._synthesize(event.data)
        else:
            _LOGGER.debug("Ignoring unknown event %s", event.type)

    # -- plain ----------------------------------------------------------------
    async def _synthesize(self, data: dict[str, Any]) -> None:
        text = _text_of(data)
        self._check_length(len(text))
        voice = self.service.resolve_voice(data.get("voice"))
        utterance = self.service.engine.utterance(voice, self.service.settings.speed)
        self._speak(utterance, text=text)

    # -- streaming ------------------------------------------------------------
    async def _start_stream(self, data: dict[str, Any]) -> None:
        if self._stream is not None:
            await self._abort_stream()
            raise RequestError("bad-request", "synthesize-start while a stream is open; the old stream was dropped")
        self._rejected_stream = False
        try:
            voice = self.service.resolve_voice(data.get("voice"))
        except RequestError:
            self._rejected_stream = True  # ignore its chunks; stop ends it quietly
            raise
        self._stream = self.service.engine.utterance(voice, self.service.settings.speed)
        self._stream_chars = 0
        self._stream_task = self._speak(self._stream, text=None)

    async def _stream_chunk(self, data: dict[str, Any]) -> None:
        if self._stream is None:
            if not self._rejected_stream:
                _LOGGER.debug("synthesize-chunk outside a stream: ignored")
            return
        text = _text_of(data)
        self._stream_chars += len(text)
        try:
            self._check_length(self._stream_chars)
        except RequestError:
            await self._abort_stream()
            self._rejected_stream = True
            raise
        await self._stream.add_text(text)

    async def _stop_stream(self) -> None:
        if self._stream is None:
            if self._rejected_stream:
                self._rejected_stream = False
            else:
                _LOGGER.debug("synthesize-stop without a stream")
            await self.write_event(SynthesizeStopped().event())
            return
        stream, task = self._stream, self._stream_task
        self._stream, self._stream_task = None, None
        await stream.finish()
        if task is not None:
            await task
        await self.write_event(SynthesizeStopped().event())

    async def _abort_stream(self) -> None:
        task = self._stream_task
        self._stream, self._stream_task = None, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- output ---------------------------------------------------------------
    def _speak(self, utterance: Utterance, *, text: str | None) -> asyncio.Task:
        """Run one utterance as a task, after the connection's previous one.

        Never awaited inline: the connection keeps reading events, so a
        disconnect is noticed (and the work cancelled) at once, and describe
        is answered meanwhile. text=None: the text is streamed in separately.
        """
        task = asyncio.create_task(self._speak_after(self._tail, utterance, text), name="kokoro-speak")
        self._tail = task
        return task

    async def _speak_after(self, previous: asyncio.Task | None, utterance: Utterance, text: str | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.gather(previous, return_exceptions=True)
        try:
            if text is not None:
                await utterance.add_text(text, streamed=False)
                await utterance.finish()
            async with self.service.admission.slot(API_WYOMING):
                await self._write_audio(utterance)
        except ConnectionError:
            _LOGGER.debug("Client went away during synthesis")

    async def _write_audio(self, utterance: Utterance) -> None:
        started = time.monotonic()
        chunker = OutputChunker(self.service.settings.samples_per_chunk, self.service.settings.output_rate)
        fmt = {"rate": chunker.rate, "width": SAMPLE_WIDTH, "channels": CHANNELS}
        await self.write_event(AudioStart(**fmt).event())
        try:
            # aclosing: if writing fails (client gone), the generator's cleanup
            # must run now, cancelling queued model calls, not at GC time.
            async with contextlib.aclosing(utterance.audio()) as pieces:
                async for piece in pieces:
                    for chunk in chunker.feed_audio(piece):
                        await self._write_chunk(chunker, chunk, fmt)
            for chunk in chunker.flush():
                await self._write_chunk(chunker, chunk, fmt)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except RequestError as error:
            await self.write_event(Error(text=error.text, code=error.code).event())
        except Exception as error:  # noqa: BLE001 - the model or G2P failed for this text
            _LOGGER.exception("Synthesis failed")
            await self.write_event(Error(text=f"synthesis failed: {error}", code="synthesis-failed").event())
        await self.write_event(AudioStop(timestamp=chunker.timestamp_ms()).event())
        self._log_request(utterance, started)

    async def _write_chunk(self, chunker: Chunker, chunk: bytes, fmt: dict[str, int]) -> None:
        await self.write_event(AudioChunk(audio=chunk, timestamp=chunker.timestamp_ms(), **fmt).event())
        chunker.sent(chunk)

    def _log_request(self, utterance: Utterance, started: float) -> None:
        ttfa = (utterance.first_audio_at - started) if utterance.first_audio_at else float("nan")
        rtf = utterance.model_seconds / utterance.audio_seconds if utterance.audio_seconds else float("nan")
        _LOGGER.info("voice=%s chars=%d segments=%d audio=%.2fs ttfa=%.3fs first_call=%.3fs "
                     "model=%.3fs wall=%.3fs rtf=%.3f", utterance.voice.name, utterance.text_chars,
                     utterance.segments, utterance.audio_seconds, ttfa, utterance.first_model_seconds,
                     utterance.model_seconds, time.monotonic() - started, rtf)
        self.service.metrics.observe(API_WYOMING, ttfa, rtf, utterance.audio_seconds)

    def _check_length(self, chars: int) -> None:
        limit = self.service.settings.max_text_chars
        if chars > limit:
            raise RequestError("text-too-long", f"text of {chars} characters is over the limit of {limit}")

    async def disconnect(self) -> None:
        """The client went away: cancel its synthesis and pending model calls."""
        for task in (self._stream_task, self._tail):
            if task is not None and not task.done():
                task.cancel()
        self._stream = None
