"""An OpenAI `POST /v1/audio/speech` body, validated into what the engine needs.

Accepts what OpenAI's API and the snippets written for Kokoro-FastAPI send:

- `input` (required), `model` (any string: `kokoro`, `tts-1`, ... all mean
  this model), `instructions` (accepted, ignored: Kokoro takes no prompt);
- `voice`: a Kokoro voice, a blend in either syntax (`af_bella:2+af_sky:1`
  or Kokoro-FastAPI's `af_bella(2)+af_sky(1)`), or an OpenAI voice name
  (`alloy`, ...) mapped by the `openai_voices` setting;
- `speed` 0.25-4.0 (OpenAI's range; see stretch.py for beyond 0.5-2.0);
- `response_format` mp3 (the default, as OpenAI's), opus, aac, flac, wav,
  pcm; `stream_format` only `audio` (no server-sent events);
- Kokoro-FastAPI's `stream` (default true; false sends one body with a
  Content-Length, and a WAV with its real sizes), `volume_multiplier` and
  `lang_code` (the pronunciation language: Kokoro's letter, `a` American
  English, `b` British, `e`, `f`, `h`, `i`, `j`, `p`, `z`, or a code such as
  `en-gb`), for a voice speaking another of its languages' text.

Every problem is an HttpError in OpenAI's error shape, naming the field.
The body itself is parsed here too (parse_json): JSON nested 100,000 deep,
numbers of thousands of digits and NaN are 400s, not a crash of the parser.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .encode import DEFAULT_FORMAT, FORMATS
from .service import Service
from .stretch import MAX_SPEED, MIN_SPEED
from .voices import LANGUAGES, Voice

_LOGGER = logging.getLogger(__name__)

OPENAI_VOICES = {
    "alloy": "af_alloy", "ash": "am_adam", "ballad": "bm_fable", "coral": "af_heart", "echo": "am_echo",
    "fable": "bm_fable", "nova": "af_nova", "onyx": "am_onyx", "sage": "af_sarah", "shimmer": "af_bella",
    "verse": "am_michael", "marin": "af_kore", "cedar": "am_puck",
}
"""OpenAI voice -> Kokoro v1.0 voice of a similar character; the default of
the `openai_voices` setting (the user's entries are merged over it). A name
whose Kokoro voice is not installed falls back to the default voice."""

MODELS = ("kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""Listed by GET /v1/models; a request may name any model."""

MAX_VOLUME = 10.0

_FASTAPI_WEIGHT = re.compile(r"\(\s*([^()]*?)\s*\)")
_MAX_NUMBER_DIGITS = 64


class HttpError(Exception):
    """An answer other than audio, in OpenAI's error shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: Voice
    speed: float
    response_format: str
    stream: bool = True
    volume: float = 1.0


class VoiceResolver:
    """Voice names as HTTP clients send them -> a Voice of the engine's catalog."""

    def __init__(self, service: Service, openai_voices: Mapping[str, str] | None = None) -> None:
        self.service = service
        self.openai_voices = {**OPENAI_VOICES, **{k.lower(): v for k, v in (openai_voices or {}).items()}}
        self._warned: set[str] = set()
        for name in openai_voices or {}:  # the user's own entries: say at start if one cannot work
            self._openai(name.lower())

    def resolve(self, name: Any) -> Voice:
        service = self.service
        if name is None or name == "":
            return service.resolve_voice(None)
        if not isinstance(name, str):
            raise HttpError(400, "voice must be a string (see GET /v1/audio/voices)", param="voice")
        catalog = service.engine.voices
        if name not in catalog and name.lower() in self.openai_voices:
            return self._openai(name.lower())
        spec = _FASTAPI_WEIGHT.sub(r":\1", name) if "(" in name else name
        try:
            return service.resolve_voice({"name": spec})
        except Exception as error:
            text = getattr(error, "text", str(error))[:300]  # never echo a megabyte of blend back
            hint = " (GET /v1/audio/voices lists them)"
            if "+" in name or "(" in name:
                hint = "; a blend is written af_bella:2+af_sky:1 or af_bella(2)+af_sky(1)" + hint
            raise HttpError(400, f"{text}{hint}", param="voice", code=getattr(error, "code", "bad-voice")) from None

    def _openai(self, name: str) -> Voice:
        target = self.openai_voices[name]
        try:
            return self.service.resolve_voice({"name": target})
        except Exception:  # noqa: BLE001 - not installed (e.g. a custom voices file): the default voice speaks
            if name not in self._warned:
                self._warned.add(name)
                _LOGGER.warning("OpenAI voice %r maps to %r, which is not installed: using the default voice",
                                name, target)
            return self.service.resolve_voice(None)


def _big_int(text: str) -> float:
    """JSON integers too long to be a real value: parsed as infinity (so range
    checks reject them) instead of Python's int parser raising at 4,300 digits."""
    if len(text) > _MAX_NUMBER_DIGITS:
        return -math.inf if text.startswith("-") else math.inf
    return int(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes) -> Any:
    """The body as JSON; HttpError 400 for anything a client could send."""
    try:
        return json.loads(data, parse_int=_big_int, parse_constant=_no_constant)
    except RecursionError:
        raise HttpError(400, "the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise HttpError(400, "the body is not valid JSON") from None


def parse_speech_request(body: Any, voices: VoiceResolver, max_chars: int) -> SpeechRequest:
    """Validate an OpenAI (or Kokoro-FastAPI) speech body."""
    if not isinstance(body, dict):
        raise HttpError(400, "the body must be a JSON object")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise HttpError(400, "input is required: a non-empty string", param="input")
    if len(text) > max_chars:
        raise HttpError(413, f"input of {len(text)} characters is over the limit of {max_chars}",
                        param="input", code="text-too-long")
    for key in ("model", "instructions"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise HttpError(400, f"{key} must be a string", param=key)
    voice = _language(body.get("lang_code"), voices.resolve(body.get("voice")), voices.service.engine.voices)
    return SpeechRequest(
        text, voice, _speed(body.get("speed"), voices.service.settings.speed),
        _format(body.get("response_format"), body.get("stream_format")),
        stream=_flag(body.get("stream"), "stream", True),
        volume=_number(body.get("volume_multiplier"), "volume_multiplier", 0.0, MAX_VOLUME, 1.0),
    )


def _language(code: Any, voice: Voice, catalog: Any) -> Voice:
    """The voice, speaking (phonemised as) the language `code` asks for."""
    if code is None or code == "":
        return voice
    wanted = code.lower().replace("_", "-") if isinstance(code, str) else None
    language = LANGUAGES.get(wanted) if wanted else None
    if language is None and wanted:
        language = next((lang for lang in LANGUAGES.values()
                         if wanted in (lang.espeak, lang.wyoming.lower().replace("_", "-"))), None)
    if language is None:
        raise HttpError(400, f"lang_code must be one of {', '.join(LANGUAGES)} (or e.g. en-gb)", param="lang_code")
    if language == voice.language:
        return voice
    if not any(v.language == language for v in catalog.values()):  # its G2P is not installed here
        raise HttpError(400, f"{language.label} is not available on this server", param="lang_code",
                        code="unknown-language")
    return dataclasses.replace(voice, language=language)


def _number(value: Any, param: str, low: float, high: float, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise HttpError(400, f"{param} must be a number from {low} to {high}", param=param)
    return float(value)


def _speed(value: Any, default: float) -> float:
    return _number(value, "speed", MIN_SPEED, MAX_SPEED, default)


def _flag(value: Any, param: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise HttpError(400, f"{param} must be true or false", param=param)
    return value


def _format(response_format: Any, stream_format: Any) -> str:
    if stream_format not in (None, "audio"):
        raise HttpError(400, "stream_format must be 'audio' (server-sent events are not supported)",
                        param="stream_format")
    if response_format is None:
        return DEFAULT_FORMAT
    if response_format not in FORMATS:
        raise HttpError(400, f"response_format must be one of {', '.join(FORMATS)}", param="response_format")
    return response_format
