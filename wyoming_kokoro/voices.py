"""The voice catalogue: style vectors, languages and descriptions.

Kokoro voices are not separate models but style packs: one float32
(510, 1, 256) array per voice in a NumPy .npz, one row per token count
(for n tokens use row n-1). A voice's first letter is its language and the
second its gender, which is all we need to advertise it to Home Assistant.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

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


def load_voices(path: Path, *, hide_languages: tuple[str, ...] = ()) -> dict[str, Voice]:
    """Read a voices .npz (voices-v1.0.bin). Raises ValueError if unreadable."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a Kokoro voices file (.npz): {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a Kokoro voices file: expected a NumPy .npz archive")
    voices: dict[str, Voice] = {}
    with archive:
        for name in sorted(archive.files):
            language, description = describe(name)
            if language is None:
                _LOGGER.warning("Skipping voice %s: unknown language prefix", name)
                continue
            if language.espeak in hide_languages:
                _LOGGER.info("Hiding voice %s: %s needs misaki installed", name, language.label)
                continue
            styles = as_style_pack(name, archive[name])
            voices[name] = Voice(name, language, description, styles)
    if not voices:
        raise ValueError(f"{path} holds no usable voices")
    return voices


def _weights(spec: str) -> list[tuple[str, float]]:
    """'af_heart:0.7+bf_emma:0.3' -> [(af_heart, 0.7), (bf_emma, 0.3)] (weights default to 1)."""
    parts = []
    for part in spec.split("+"):
        name, _, weight = part.strip().partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"blend {spec!r} has an empty voice name")
        try:
            value = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"blend {spec!r}: weight {weight!r} of {name} is not a number") from None
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"blend {spec!r}: weight of {name} must be a positive number")
        parts.append((name, value))
    if len(parts) < 2:
        raise ValueError(f"blend {spec!r} needs at least two voices joined by '+'")
    return parts


def blend(name: str, spec: str, voices: Mapping[str, Voice]) -> Voice:
    """A voice mixing the style packs of others, weights normalised to 1.

    Kokoro styles are points in one 256-dimensional space, so a weighted
    mean of two packs is a voice between them; the language is the first
    component's (it decides the G2P).
    """
    parts = _weights(spec)
    missing = [n for n, _ in parts if n not in voices]
    if missing:
        raise ValueError(f"blend {spec!r}: unknown voice(s) {', '.join(missing)}")
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
    (names and mtimes) when a client asks for the voice list, so a file
    dropped in while running appears without a restart.
    """

    def __init__(self, base: dict[str, Voice], data_dirs: Sequence[Path] = (),
                 blends: Mapping[str, str] | None = None, custom_language: str = "en-us") -> None:
        self._base = dict(base)
        self._dirs = [Path(d) for d in data_dirs]
        self._blend_specs = dict(blends or {})
        self._custom_language = next((lang for lang in LANGUAGES.values() if lang.espeak == custom_language),
                                     LANGUAGES["a"])
        self._custom: dict[str, Voice] = {}
        self._seen: dict[Path, float] = {}
        self._adhoc: dict[str, Voice] = {}
        self._voices: dict[str, Voice] = {}
        self.rescan()

    def rescan(self) -> bool:
        """Reload custom voice files that appeared, changed or went; True if any did."""
        files = {}
        for directory in self._dirs:
            try:
                files.update({p: p.stat().st_mtime for p in directory.glob("*.npy") if p.is_file()})
            except OSError:
                continue
        if files == self._seen and self._voices:
            return False
        self._seen = files
        self._custom = {}
        for path in sorted(files):
            voice = self._load_custom(path)
            if voice is not None and voice.name not in self._base:
                self._custom[voice.name] = voice
        self._voices = {**self._base, **self._custom}
        for name, spec in self._blend_specs.items():
            try:
                self._voices[name] = blend(name, spec, {**self._base, **self._custom})
            except ValueError as error:
                _LOGGER.warning("Skipping blend %s: %s", name, error)
        self._adhoc.clear()
        return True

    def _load_custom(self, path: Path) -> Voice | None:
        try:
            styles = as_style_pack(path.stem, np.load(path, allow_pickle=False))
        except (OSError, ValueError) as error:
            _LOGGER.warning("Skipping custom voice %s: %s", path, str(error).splitlines()[0])
            return None
        language, description = describe(path.stem)
        if language is None:
            language, description = self._custom_language, f"{description} — {self._custom_language.label}"
        return Voice(path.stem, language, f"{description} (custom)", styles)

    def resolve(self, name: str) -> Voice:
        """A voice by name, or an ad-hoc blend such as 'af_heart:2+am_adam:1'."""
        if name in self._voices:
            return self._voices[name]
        if "+" not in name:
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
