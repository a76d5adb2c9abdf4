"""The voice catalogue: style vectors, languages and descriptions.

Kokoro voices are not separate models but style packs: one float32
(510, 1, 256) array per voice in a NumPy .npz, one row per token count
(for n tokens use row n-1). A voice's first letter is its language and the
second its gender, which is all we need to advertise it to Home Assistant.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

import numpy as np

from .vocab import MAX_TOKENS

_LOGGER = logging.getLogger(__name__)

STYLE_DIM = 256


@dataclass(frozen=True)
class Language:
    espeak: str
    """Language code for the G2P (espeak-ng style)."""
    wyoming: str
    """Code Home Assistant shows, in wyoming-piper's form."""
    label: str


LANGUAGES: dict[str, Language] = {
    "a": Language("en-us", "en_US", "American English"),
    "b": Language("en-gb", "en_GB", "British English"),
    "e": Language("es", "es_ES", "Spanish"),
    "f": Language("fr-fr", "fr_FR", "French"),
    "h": Language("hi", "hi_IN", "Hindi"),
    "i": Language("it", "it_IT", "Italian"),
    "j": Language("ja", "ja_JP", "Japanese"),
    "p": Language("pt-br", "pt_BR", "Brazilian Portuguese"),
    "z": Language("zh", "zh_CN", "Mandarin Chinese"),
}
GENDERS = {"f": "female", "m": "male"}


@dataclass(frozen=True)
class Voice:
    name: str
    language: Language
    description: str
    styles: np.ndarray
    """float32 (510, 256): the style row for each token count."""

    def style(self, n_tokens: int) -> np.ndarray:
        """The style vector for a call with n real tokens, shaped (1, 256)."""
        row = min(max(n_tokens, 1), len(self.styles)) - 1
        return self.styles[row : row + 1]


def describe(name: str) -> tuple[Language | None, str]:
    """'af_heart' -> (American English, 'Heart — American English, female')."""
    prefix, _, rest = name.partition("_")
    language = LANGUAGES.get(prefix[:1]) if len(prefix) == 2 else None
    pretty = (rest or name).replace("_", " ").title()
    if language is None:
        return None, pretty
    gender = GENDERS.get(prefix[1:2])
    details = f"{language.label}, {gender}" if gender else language.label
    return language, f"{pretty} — {details}"


def as_style_pack(name: str, array: np.ndarray) -> np.ndarray:
    """Check a style pack's shape and return it as contiguous float32 (510, 256)."""
    if array.ndim == 3 and array.shape[1] == 1:
        array = array[:, 0, :]
    if array.ndim != 2 or array.shape[1] != STYLE_DIM or array.shape[0] < MAX_TOKENS:
        raise ValueError(
            f"voice {name!r} has shape {tuple(array.shape)}; expected "
            f"({MAX_TOKENS}, 1, {STYLE_DIM}) or ({MAX_TOKENS}, {STYLE_DIM})"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"voice {name!r} holds NaN or infinite values")
    return np.ascontiguousarray(array, dtype=np.float32)


def unavailable_reason(language: str) -> str:
    """Why voices of an (espeak-style) language are hidden: what to install."""
    from .phonemize import install_hint

    return install_hint(language)


NPZ_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"
VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A voice's name (a custom file's stem, an array in the voices file) is
what Home Assistant shows; '+' and ':' would read as a blend, control
characters or '/' would reach the log and the voice picker."""

MAX_VOICES = 1024
"""Kokoro ships 54; a file with more is not a voices file (and each costs 0.5 MB)."""
MAX_STYLE_ROWS = 4 * MAX_TOKENS


def _magic(path: Path, magic: bytes, what: str) -> None:
    """Refuse a file that does not start like `what`, before NumPy reads it:
    NumPy would try it as a pickle and answer with advice about allow_pickle."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(magic))
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from None
    if head != magic:
        raise ValueError(f"{path} is not {what}")


def _check_header(handle: Any, name: str) -> None:
    """A style pack's shape and type from its .npy header, before any data
    is read: an object array, or a header declaring terabytes, is refused
    without allocating anything."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.kind not in "fiu" or dtype.hasobject:
        raise ValueError(f"voice {name!r} is an array of {dtype}; expected numbers")
    if not shape or shape[0] > MAX_STYLE_ROWS or int(np.prod(shape, dtype=np.int64)) > MAX_STYLE_ROWS * STYLE_DIM:
        raise ValueError(f"voice {name!r} has shape {tuple(shape)}; expected ({MAX_TOKENS}, 1, {STYLE_DIM})")


def _read_member(archive: Any, name: str) -> np.ndarray:
    with archive.zip.open(f"{name}.npy") as handle:
        _check_header(handle, name)
    return archive[name]


def load_voices(path: Path, *, hide_languages: tuple[str, ...] = ()) -> dict[str, Voice]:
    """Read a voices .npz (voices-v1.0.bin). Raises ValueError, naming the
    file, for anything else: text, random bytes, a damaged archive, a voice
    that is not a float array of the right shape."""
    what = "a Kokoro voices file (a NumPy .npz archive such as voices-v1.0.bin)"
    _magic(path, NPZ_MAGIC, what)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not {what}: {_first_line(error)}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not {what}")
    voices: dict[str, Voice] = {}
    hidden: dict[str, list[str]] = {}
    with archive:
        if len(archive.files) > MAX_VOICES:
            raise ValueError(f"{path} holds {len(archive.files)} arrays; not {what}")
        for name in sorted(archive.files):
            if not VOICE_NAME.fullmatch(name):
                _LOGGER.warning("Skipping voice %s in %s: not a voice name", _short(name), path)
                continue
            language, description = describe(name)
            if language is None:
                _LOGGER.warning("Skipping voice %s: unknown language prefix", name)
                continue
            if language.espeak in hide_languages:
                hidden.setdefault(language.espeak, []).append(name)
                continue
            try:
                styles = as_style_pack(name, _read_member(archive, name))
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
                raise ValueError(f"{path}: {_first_line(error)}") from None
            voices[name] = Voice(name, language, description, styles)
    if hidden:  # one line, naming what to install, rather than one per voice
        _LOGGER.warning("Hiding %d voices: %s", sum(map(len, hidden.values())), "; ".join(
            f"{unavailable_reason(lang)} ({', '.join(names)})" for lang, names in hidden.items()))
    if not voices:
        raise ValueError(f"{path} holds no usable voices")
    return voices


MAX_BLEND_VOICES = 8
"""Ad-hoc blends come from clients: a name with thousands of components
would block the event loop for seconds while it is mixed."""


MIN_BLEND_WEIGHT, MAX_BLEND_WEIGHT = 0.001, 1000.0
"""Weights are relative, so this range loses nothing; bounded, their sum and
the percentages shown can neither overflow nor come out NaN."""
MAX_BLEND_SPEC = 512
"""Characters in a blend name: 8 voice names with weights fit easily."""


def _short(text: str, limit: int = 60) -> str:
    """A client's text, quoted and cut short for an error message."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _weights(spec: str) -> list[tuple[str, float]]:
    """'af_heart:0.7+bf_emma:0.3' -> [(af_heart, 0.7), (bf_emma, 0.3)] (weights default to 1)."""
    if len(spec) > MAX_BLEND_SPEC:
        raise ValueError(f"blend of {len(spec)} characters; at most {MAX_BLEND_SPEC}")
    if spec.count("+") >= MAX_BLEND_VOICES:
        raise ValueError(f"blend of {spec.count('+') + 1} voices; at most {MAX_BLEND_VOICES} may be mixed")
    parts = []
    for part in spec.split("+"):
        name, _, weight = part.strip().partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"blend {_short(spec)} has an empty voice name")
        try:
            value = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"blend {_short(spec)}: weight {_short(weight, 20)} of {_short(name, 40)} "
                             "is not a number") from None
        if not MIN_BLEND_WEIGHT <= value <= MAX_BLEND_WEIGHT:  # also false for NaN
            raise ValueError(f"blend {_short(spec)}: weight of {_short(name, 40)} must be a number from "
                             f"{MIN_BLEND_WEIGHT:g} to {MAX_BLEND_WEIGHT:g}")
        parts.append((name, value))
    if len(parts) < 2:
        raise ValueError(f"blend {_short(spec)} needs at least two voices joined by '+'")
    return parts


def check_blend(spec: Any) -> str:
    """A blend spec from configuration, checked for syntax and weights
    (the voices it names are checked once the voices are loaded)."""
    if not isinstance(spec, str):
        raise ValueError("expected a blend such as 'af_heart:0.7+bf_emma:0.3'")
    _weights(spec)
    return spec


def blend(name: str, spec: str, voices: Mapping[str, Voice]) -> Voice:
    """A voice mixing the style packs of others, weights normalised to 1.

    Kokoro styles are points in one 256-dimensional space, so a weighted
    mean of two packs is a voice between them; the language is the first
    component's (it decides the G2P).
    """
    parts = _weights(spec)
    missing = [n for n, _ in parts if n not in voices]
    if missing:
        raise ValueError(f"blend {_short(spec)}: unknown voice(s) {', '.join(_short(m, 40) for m in missing)}")
    total = sum(w for _, w in parts)
    styles = sum(voices[n].styles * (w / total) for n, w in parts)
    first = voices[parts[0][0]]
    mix = ", ".join(f"{round(100 * w / total)}% {voices[n].description.split(' — ')[0]}" for n, w in parts)
    return Voice(name, first.language, f"Blend of {mix} — {first.language.label}",
                 np.ascontiguousarray(styles, dtype=np.float32))


class VoiceCatalog(Mapping[str, Voice]):
    """Every voice we advertise: the voices file, custom .npy files, blends.

    Custom voices are NAME.npy style packs in the data dirs (e.g.
    /share/kokoro in the add-on); the directories are rescanned cheaply
    (names, sizes and mtimes) when a client asks for the voice list, so a
    file dropped in while running appears without a restart. Only files
    that are new or changed are read again: a bad file is warned about
    once, not on every Describe, and a half-copied file is picked up again
    once its copy finishes (its mtime changes).
    """

    def __init__(self, base: dict[str, Voice], data_dirs: Sequence[Path] = (),
                 blends: Mapping[str, str] | None = None, custom_language: str = "en-us",
                 hide_languages: tuple[str, ...] = ()) -> None:
        self._base = dict(base)
        self._dirs = [Path(d) for d in data_dirs]
        self._blend_specs = dict(blends or {})
        self._custom_language = next((lang for lang in LANGUAGES.values() if lang.espeak == custom_language),
                                     LANGUAGES["a"])
        self._hide = tuple(hide_languages)
        self._loaded: dict[Path, tuple[tuple[int, int], Voice | None]] = {}
        self._adhoc: dict[str, Voice] = {}
        self._voices: dict[str, Voice] = {}
        self.rescan()

    def _listing(self) -> dict[Path, tuple[int, int]]:
        """*.npy in the data dirs, in data-dir order, with (mtime_ns, size)."""
        files: dict[Path, tuple[int, int]] = {}
        for directory in self._dirs:
            try:
                paths = sorted(directory.glob("*.npy"))
            except OSError:  # a dir that is missing or unreadable
                continue
            for path in paths:
                try:
                    stat = path.stat()
                except OSError:  # went away since the listing
                    continue
                if S_ISREG(stat.st_mode):
                    files[path] = (stat.st_mtime_ns, stat.st_size)
        return files

    def rescan(self) -> bool:
        """Reload custom voice files that appeared, changed or went; True if any did."""
        files = self._listing()
        if self._voices and files == {path: key for path, (key, _) in self._loaded.items()}:
            return False
        previous, self._loaded = self._loaded, {}
        for path, key in files.items():
            unchanged = path in previous and previous[path][0] == key
            self._loaded[path] = previous[path] if unchanged else (key, self._load_custom(path))
        custom: dict[str, Voice] = {}
        for path, (_, voice) in self._loaded.items():
            if voice is None:
                continue
            if voice.name in self._base or voice.name in custom:
                _LOGGER.warning("Skipping custom voice %s: a voice named %s already exists", path, voice.name)
                continue
            custom[voice.name] = voice
        self._voices = {**self._base, **custom}
        for name, spec in self._blend_specs.items():
            try:
                self._voices[name] = blend(name, spec, {**self._base, **custom})
            except ValueError as error:
                _LOGGER.warning("Skipping blend %s: %s", name, error)
        self._adhoc.clear()
        return True

    def _load_custom(self, path: Path) -> Voice | None:
        """One NAME.npy style pack, or None (with a warning) if it is unusable.

        Memory-mapped first, so a huge file of the wrong shape is refused
        from its header alone; a good one is copied out, so the file can be
        replaced or deleted while the voice is in use.
        """
        name = path.stem
        if not VOICE_NAME.fullmatch(name):
            _LOGGER.warning("Skipping custom voice %s: a voice name is 1-64 letters, digits, '_', '-' or '.' "
                            "('+' and ':' are for blends)", _short(str(path), 200))
            return None
        try:
            _magic(path, NPY_MAGIC, "a NumPy .npy style pack")
            with open(path, "rb") as handle:
                _check_header(handle, name)
            styles = np.array(as_style_pack(name, np.load(path, mmap_mode="r", allow_pickle=False)))
        except (OSError, ValueError, EOFError) as error:  # EOFError: an empty (half-copied) file
            _LOGGER.warning("Skipping custom voice %s: %s", path, _first_line(error))
            return None
        language, description = describe(name)
        if language is None:
            language, description = self._custom_language, f"{description} — {self._custom_language.label}"
        if language.espeak in self._hide:
            _LOGGER.warning("Skipping custom voice %s: %s", path, unavailable_reason(language.espeak))
            return None
        _LOGGER.info("Custom voice %s (%s) from %s", name, language.label, path)
        return Voice(name, language, f"{description} (custom)", styles)

    def resolve(self, name: str) -> Voice:
        """A voice by name, or an ad-hoc blend such as 'af_heart:2+am_adam:1'."""
        if name in self._voices:
            return self._voices[name]
        if "+" not in name:
            language = describe(name)[0]
            if language is not None and language.espeak in self._hide:
                raise ValueError(f"voice {name!r}: {unavailable_reason(language.espeak)}")
            raise KeyError(name)
        if name not in self._adhoc:
            if len(self._adhoc) >= 64:
                self._adhoc.pop(next(iter(self._adhoc)))
            self._adhoc[name] = blend(name, name, self._voices)
        return self._adhoc[name]

    def __getitem__(self, name: str) -> Voice:
        return self._voices[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._voices)

    def __len__(self) -> int:
        return len(self._voices)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
