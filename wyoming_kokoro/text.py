"""Text -> phonemes for one language: normalise, then phonemise.

Kept apart from the engine so the same steps can be inspected from the
command line (what will be said, and how).
"""

from __future__ import annotations

import re

from .phonemize import phonemize

_SPACE = re.compile(r"\s+")


class TextPipeline:
    """The text stages of the data path, configured once."""

    def normalize(self, text: str, language: str) -> str:
        del language
        return _SPACE.sub(" ", text).strip()

    def phonemes(self, text: str, language: str) -> str:
        return phonemize(self.normalize(text, language), language)
