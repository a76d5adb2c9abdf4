"""Text -> phonemes for one language: normalise, then phonemise.

Kept apart from the engine so the same steps can be inspected from the
command line (what will be said, and how).
"""

from __future__ import annotations

import re

from .phonemize import phonemize

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters: a NUL would end the C string handed to espeak-ng and
silently drop the rest of the text."""


class TextPipeline:
    """The text stages of the data path, configured once."""

    def normalize(self, text: str, language: str) -> str:
        del language
        return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()

    def phonemes(self, text: str, language: str) -> str:
        return phonemize(self.normalize(text, language), language)
