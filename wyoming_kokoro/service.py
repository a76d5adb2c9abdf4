"""What every Wyoming connection and HTTP request shares: the Service.

The engine, the settings, the describe answer, voice resolution, the
shared admission limit and metrics live here, apart from any one front
door (handler.py speaks Wyoming, http_api.py HTTP), so neither imports the
other. Also the one place a finished request's time to first audio and
real-time factor are computed and logged.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wyoming.event import Event
from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

from . import SAMPLE_RATE, __version__
from .admission import Admission
from .engine import Engine, Utterance
from .metrics import Metrics
from .protocol import Limits
from .voices import Voice

RESCAN_EVERY = 1.0
"""Seconds between looks at the data dirs for new custom voice files."""

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
    write_timeout: float = 30.0
    allowed_clients: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    limits: Limits = field(default_factory=Limits)
    output_rate: int = SAMPLE_RATE
    max_syntheses: int = 8
    http_syntheses: int = 1
    http_wait: float = 60.0


def build_info(voices: Mapping[str, Voice], streaming: bool) -> Info:
    """The describe answer. Voice descriptions are what Home Assistant shows
    in its voice picker: name, language, gender; no implementation detail."""
    return Info(tts=[TtsProgram(
        name="kokoro",
        description="Kokoro-82M neural text to speech",
        attribution=ATTRIBUTION,
        installed=True,
        version=__version__,
        voices=[
            TtsVoice(name=v.name, description=v.description, attribution=ATTRIBUTION,
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
        self.handlers: set[Any] = set()
        """Open Wyoming connections (handler.py), for evicting a stalled one."""
        self.stopping = False
        """Set on shutdown: new connections are refused."""
        self._info_event = build_info(engine.voices, settings.streaming).event()
        self._scanned = time.monotonic()
        self.metrics = Metrics()
        self.admission = Admission(settings.max_syntheses, settings.http_syntheses, settings.http_wait)
        """Shared with the HTTP API: one limit on concurrent syntheses (admission.py)."""

    def info_event(self) -> Event:
        """The describe answer, rebuilt only when voice files changed on disk.
        The disk is looked at most once per RESCAN_EVERY: a describe flood
        must not turn into a flood of directory listings."""
        now = time.monotonic()
        if now - self._scanned >= RESCAN_EVERY:
            self._scanned = now
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
                raise RequestError("unknown-voice",
                                   f"unknown voice {name[:100]!r}; see the voices in describe") from None
        language = voice.get("language")
        if isinstance(language, str) and language:
            wanted = language.replace("-", "_").lower()
            default = voices[self.settings.default_voice]
            candidates = [default, *voices.values()]
            for candidate in candidates:
                code = candidate.language.wyoming.lower()
                if code == wanted or code.split("_")[0] == wanted:
                    return candidate
            raise RequestError("unknown-language", f"no voice for language {language[:100]!r}")
        return voices[self.settings.default_voice]


def timings(utterance: Utterance, started: float) -> tuple[float, float]:
    """(time to first audio, real-time factor) of a request; NaN where it produced no audio."""
    ttfa = utterance.first_audio_at - started if utterance.first_audio_at else float("nan")
    rtf = utterance.model_seconds / utterance.audio_seconds if utterance.audio_seconds else float("nan")
    return ttfa, rtf


def request_line(utterance: Utterance, started: float, outcome: str, **extra: Any) -> str:
    """The one log line of a finished request, whatever its outcome; a
    value that does not exist (no audio: no ttfa) is '-', never 'nan'."""
    ttfa, rtf = timings(utterance, started)
    fields = {"voice": utterance.voice.name, **extra, "chars": utterance.text_chars, "segments": utterance.segments,
              "audio": f"{utterance.audio_seconds:.2f}s", "ttfa": _or_dash(ttfa, "{:.3f}s"),
              "first_call": f"{utterance.first_model_seconds:.3f}s", "model": f"{utterance.model_seconds:.3f}s",
              "wall": f"{time.monotonic() - started:.3f}s", "rtf": _or_dash(rtf, "{:.3f}"), "outcome": outcome}
    return " ".join(f"{key}={value}" for key, value in fields.items())


def _or_dash(value: float, form: str) -> str:
    return "-" if value != value else form.format(value)
