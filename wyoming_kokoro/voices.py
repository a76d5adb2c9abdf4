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
