"""Configuration: YAML file validated by voluptuous, command line on top.

Every key has a default here and a comment in the shipped kokoro.yaml, so a
user never needs a config file, and one wrong value gets one clear line
naming the key and what is allowed (exit code 2), never a traceback.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

CHUNK_PROFILES = {"low-latency": 0.040, "stable": 0.050, "safe": 0.100}
"""Seconds of audio per AudioChunk event."""

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "directml": "DmlExecutionProvider",
}


class ConfigError(Exception):
    """A configuration problem, worded for the user (one line)."""


def _provider_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise vol.Invalid("expected a provider name such as CPUExecutionProvider")
    return PROVIDER_ALIASES.get(value.lower(), value)


def _providers(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise vol.Invalid("expected 'auto' or a list of ONNX Runtime execution providers")
    return [_provider_name(v) for v in value]


def _number(low: float, high: float, *, integer: bool = False):
    return vol.All(int if integer else vol.Coerce(float), vol.Range(min=low, max=high))


_THREADS = vol.Schema({
    # No inter_op: Kokoro's graph runs sequentially, where ONNX Runtime's
    # inter-op threads do nothing; a key that does nothing is not offered.
    vol.Optional("intra_op", default=None): vol.Any(None, _number(1, 256, integer=True)),
    # Let idle ONNX Runtime threads spin between operators. Off by default:
    # with one busy process per core calls were 1.2x faster without spinning;
    # on a quiet host spinning was 4-9 % faster (benchmarks/spinning.py, real
    # int8, 2 cores). A Home Assistant host is rarely quiet.
    vol.Optional("spinning", default=False): bool,
})

_ARENA = vol.Schema({
    vol.Optional("enabled", default=True): bool,
    vol.Optional("max_mb", default=None): vol.Any(None, _number(16, 65536, integer=True)),
    vol.Optional("shrink", default=True): bool,
})

_SEGMENT = vol.Schema({
    vol.Optional("first_tokens", default=24): _number(4, 510, integer=True),
    vol.Optional("first_seconds", default=0.5): _number(0.01, 10),
    vol.Optional("first_max_seconds", default=1.5): _number(0.01, 30),
    vol.Optional("growth", default=1.5): _number(0.25, 8),
    vol.Optional("max_tokens", default=200): _number(16, 510, integer=True),
    vol.Optional("clause_silence", default=0.1): _number(0, 5),
})

_CACHE = vol.Schema({
    vol.Optional("enabled", default=True): bool,
    vol.Optional("max_mb", default=32): _number(0, 4096),
    # Phoneme symbols (what the cache can see of a segment), not characters.
    vol.Optional("max_phonemes", default=120): _number(1, 100000, integer=True),
})

_LIMITS = vol.Schema({
    vol.Optional("max_connections", default=32): _number(1, 100000, integer=True),
    vol.Optional("idle_timeout", default=300): _number(1, 86400),
    vol.Optional("write_timeout", default=30): _number(1, 3600),
    vol.Optional("max_line_bytes", default=64 * 1024): _number(1024, 16 << 20, integer=True),
    vol.Optional("max_data_bytes", default=1024 * 1024): _number(1024, 1 << 30, integer=True),
    vol.Optional("max_payload_bytes", default=1024 * 1024): _number(0, 1 << 30, integer=True),
    vol.Optional("max_syntheses", default=8): _number(1, 1024, integer=True),
    vol.Optional("http_syntheses", default=None): vol.Any(None, _number(1, 1024, integer=True)),  # None: workers - 1
    vol.Optional("http_wait", default=60): _number(0, 3600),
    vol.Optional("http_connections", default=64): _number(1, 100000, integer=True),
    vol.Optional("http_read_timeout", default=15): _number(1, 3600),
})


def _blend(value: Any) -> str:
    from .voices import check_blend

    try:
        return check_blend(value)
    except ValueError as error:
        raise vol.Invalid(str(error)) from None


def _network(value: Any):
    if not isinstance(value, str):  # str() of a YAML alias bomb would never end
        raise vol.Invalid("expected an IP network such as 192.168.1.0/24")
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise vol.Invalid(f"{_short(value)} is not an IP network such as 192.168.1.0/24") from None


def _short(value: str, limit: int = 60) -> str:
    """A value from the file, quoted and cut short for a one-line message."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _rules(value: Any) -> list[str]:
    from .normalize import RULES

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise vol.Invalid("expected a list of rule names")
    unknown = [v for v in value if v not in RULES]
    if unknown:
        raise vol.Invalid(f"unknown rule(s) {', '.join(_short(v, 30) for v in unknown[:5])}; "
                          f"rules: {', '.join(RULES)}")
    return value


_NORMALIZE = vol.Schema({
    vol.Optional("enabled", default=True): bool,
    vol.Optional("disabled_rules", default=[]): _rules,
    vol.Optional("date_order", default=None): vol.Any(None, vol.In(["mdy", "dmy"])),
})

_LEXICON_ENTRIES = vol.Schema({str: {str: str}})


def _lexicon(value: Any) -> dict[str, dict[str, str]]:
    """A mapping language -> word -> phonemes, or the path of a YAML file holding one."""
    if isinstance(value, str):
        path = Path(value)
        # Errors name the file and the line, never its contents: a mistyped
        # path such as /etc/shadow must not be echoed into logs.
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise vol.Invalid(f"cannot read lexicon file {path}: {error.strerror or type(error).__name__}") from None
        except UnicodeDecodeError:
            raise vol.Invalid(f"lexicon file {path} is not UTF-8 text") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise vol.Invalid(f"lexicon file {path}{where}: not valid YAML") from None
        try:
            return _LEXICON_ENTRIES(value)
        except vol.Invalid:
            raise vol.Invalid(f"lexicon file {path}: expected language -> word -> phonemes mappings") from None
    return _LEXICON_ENTRIES(value)


_MODEL = vol.Schema({
    vol.Optional("path", default=None): vol.Any(None, str),
    vol.Optional("variant", default="fp32"): vol.In(["fp32", "fp16", "int8"]),
})


def _model(value: Any) -> dict[str, Any]:
    """model: {path, variant}; a plain string is shorthand for the path."""
    if value is None:
        value = {}
    elif isinstance(value, str):
        value = {"path": value}
    return _MODEL(value)


_DOWNLOAD = vol.Schema({
    vol.Optional("enabled", default=True): bool,
    vol.Optional("url_base", default=None): vol.Any(None, str),
    vol.Optional("dir", default=None): vol.Any(None, str),
})


SCHEMA = vol.Schema({
    vol.Optional("voice", default="af_heart"): str,
    vol.Optional("speed", default=1.0): _number(0.5, 2.0),
    vol.Optional("sentence_silence", default=0.2): _number(0, 5),
    vol.Optional("max_text_chars", default=20000): _number(1, 10_000_000, integer=True),
    vol.Optional("chunk_profile", default="stable"): vol.In(list(CHUNK_PROFILES)),
    vol.Optional("samples_per_chunk", default=None): vol.Any(None, _number(64, 240000, integer=True)),
    vol.Optional("streaming", default=True): bool,
    vol.Optional("provider", default="auto"): _providers,
    vol.Optional("provider_timeout", default=120): _number(1, 3600),
    vol.Optional("threads", default={}): _THREADS,
    vol.Optional("workers", default=2): _number(1, 16, integer=True),
    vol.Optional("arena", default={}): _ARENA,
    vol.Optional("segment", default={}): _SEGMENT,
    vol.Optional("cache", default={}): _CACHE,
    vol.Optional("normalize", default={}): _NORMALIZE,
    vol.Optional("lexicon", default={}): _lexicon,
    vol.Optional("limits", default={}): _LIMITS,
    vol.Optional("allowed_clients", default=[]): [_network],
    vol.Optional("warmup", default=True): bool,
    vol.Optional("optimize", default=True): bool,
    vol.Optional("cache_dir", default=None): vol.Any(None, str),
    vol.Optional("data_dirs", default=[]): [str],
    vol.Optional("model", default={}): _model,
    vol.Optional("download", default={}): _DOWNLOAD,
    vol.Optional("blends", default={}): {str: _blend},
    vol.Optional("openai_voices", default={}): {str: str},
    vol.Optional("output_rate", default=24000): vol.In([16000, 22050, 24000]),
    vol.Optional("custom_voice_language", default="en-us"):
        vol.In(["en-us", "en-gb", "es", "fr-fr", "hi", "it", "pt-br", "ja", "zh"]),
    vol.Optional("voices", default=None): vol.Any(None, str),
}, extra=vol.PREVENT_EXTRA)


def _describe_error(error: vol.Invalid, source: str) -> str:
    key = ".".join(str(p) for p in error.path) or "(top level)"
    message = error.error_message or str(error)
    if message == "extra keys not allowed":
        allowed = _allowed_keys(error.path[:-1])
        message = f"unknown key; allowed: {', '.join(allowed)}"
    return f"{source}: {key}: {message}"


def _allowed_keys(path: list) -> list[str]:
    schema: Any = SCHEMA
    for part in path:
        schema = {str(k): v for k, v in schema.schema.items()}.get(str(part))
        if not isinstance(schema, vol.Schema):
            return []
    return sorted(str(k) for k in schema.schema)


def validate(raw: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Apply defaults and check every value; ConfigError names the bad key."""
    try:
        return SCHEMA(raw)
    except vol.MultipleInvalid as errors:
        raise ConfigError(_describe_error(errors.errors[0], source)) from None
    except vol.Invalid as error:
        raise ConfigError(_describe_error(error, source)) from None


MAX_CONFIG_BYTES = 1024 * 1024
"""A config file is a few KB; more is the wrong file (or /dev/zero)."""


def load_file(path: Path) -> dict[str, Any]:
    """Read a YAML config file (not yet validated). Every failure names the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"config file {path}: {error.strerror or error}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path}: over {MAX_CONFIG_BYTES // 1024} KB; not a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {error.start}); "
                          "expected YAML such as kokoro.yaml") from None
    if "\x00" in text:
        raise ConfigError(f"config file {path}: binary data; expected YAML such as kokoro.yaml")
    try:
        raw = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: expected a mapping of keys to values")
    return raw


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overlay `overrides` on `base`, one level of nested mappings deep."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def cache_dir(config: dict[str, Any]) -> Path:
    """Where derived files (the pre-optimised model) live."""
    if config["cache_dir"]:
        return Path(config["cache_dir"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wyoming-kokoro"


def samples_per_chunk(config: dict[str, Any], sample_rate: int) -> int:
    if config["samples_per_chunk"]:
        return int(config["samples_per_chunk"])
    return int(round(CHUNK_PROFILES[config["chunk_profile"]] * sample_rate))
