"""Text -> phonemes for one language: lexicon, normalise, phonemise.

Kept apart from the engine so the same steps can be inspected from the
command line (what will be said, and how):

    python -m wyoming_kokoro.text --lang en-us "It is 21.5 °C"

Pronunciation control comes first, as inline phonemes (the syntax misaki
and Kokoro-FastAPI use): `[Kokoro](/kˈOkəɹO/)` speaks the given phonemes
for that word. Lexicon entries from the config are rewritten into that
syntax, so both go through one path and no normalisation rule touches them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .normalize import normalize
from .phonemize import phonemize
from .sentences import sentences
from .vocab import CLAUSE_MARKS, SENTENCE_MARKS, known

CLOSING_MARKS = SENTENCE_MARKS + CLAUSE_MARKS + ")”"

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters: a NUL would end the C string handed to espeak-ng and
silently drop the rest of the text."""
INLINE = re.compile(r"\[([^\[\]]+)\]\(/([^()/]+)/\)")
"""[word](/phonemes/): speak these phonemes for this word."""


@dataclass
class TextPipeline:
    """The text stages of the data path, configured once."""

    normalize: bool = True
    disabled_rules: Collection[str] = ()
    date_order: str | None = None
    lexicon: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Language (en-us, or a prefix such as en) -> word -> Kokoro phonemes."""

    def __post_init__(self) -> None:
        self._lexicon_patterns: dict[str, re.Pattern | None] = {}

    def _entries(self, language: str) -> dict[str, str]:
        entries: dict[str, str] = {}
        for key in ("*", language.split("-")[0], language):  # specific entries win
            for word, phonemes in self.lexicon.get(key, {}).items():
                entries[word.lower()] = phonemes
        return entries

    def _lexicon_pattern(self, language: str) -> re.Pattern | None:
        if language not in self._lexicon_patterns:
            words = sorted(self._entries(language), key=len, reverse=True)
            self._lexicon_patterns[language] = re.compile(
                r"(?<![\w\[])(" + "|".join(re.escape(w) for w in words) + r")(?![\w\]])", re.IGNORECASE
            ) if words else None
        return self._lexicon_patterns[language]

    def apply_lexicon(self, text: str, language: str) -> str:
        """Rewrite lexicon words (any case, whole words) as inline phonemes."""
        pattern = self._lexicon_pattern(language)
        if pattern is None:
            return text
        entries = self._entries(language)
        return pattern.sub(lambda m: f"[{m.group(1)}](/{entries[m.group(1).lower()]}/)", text)

    def normalized(self, text: str, language: str) -> str:
        """What will be said, as text (inline phoneme constructs kept)."""
        return " ".join(filter(None, (self._normalized(p, language) for p in sentences(text))))

    def _normalized(self, text: str, language: str) -> str:
        text = _CONTROL.sub(" ", text)
        text = self.apply_lexicon(text, language)
        if self.normalize:
            text = normalize(text, language, disabled=self.disabled_rules, date_order=self.date_order)
        return _SPACE.sub(" ", text).strip()

    def phonemes(self, text: str, language: str) -> str:
        """Kokoro phonemes for `text` (only symbols the model knows).

        A sentence or clause at a time, cut where sentences.py cuts streamed
        text: so text streamed in fragments and the same text sent whole
        are normalised alike, whatever the fragments.
        """
        return " ".join(filter(None, (self._phonemes(piece, language) for piece in sentences(text))))

    def _phonemes(self, text: str, language: str) -> str:
        text = self._normalized(text, language)
        pieces: list[str] = []
        position = 0
        for match in INLINE.finditer(text):
            pieces.append(phonemize(text[position:match.start()], language))
            pieces.append(known(match.group(2)))
            position = match.end()
        pieces.append(phonemize(text[position:], language))
        return _join(pieces)


def _join(pieces: list[str]) -> str:
    """Join phoneme pieces; punctuation that opens a piece ends the one before
    ('[Zigbee](/zˈɪɡbi/), but' -> 'zˈɪɡbi, bˌʌt')."""
    out = ""
    for piece in filter(None, pieces):
        if out and piece[0] in CLOSING_MARKS:
            out += piece
        else:
            out = f"{out} {piece}" if out else piece
    return out


def pipeline_from_config(config: Mapping) -> TextPipeline:
    settings = config["normalize"]
    return TextPipeline(normalize=settings["enabled"], disabled_rules=tuple(settings["disabled_rules"]),
                        date_order=settings["date_order"], lexicon=config["lexicon"])


def main(argv: Sequence[str] | None = None) -> int:
    """Show what the server would do with a text: words, phonemes, segments."""
    from .config import ConfigError, load_file, validate
    from .segment import Segmenter

    parser = argparse.ArgumentParser(prog="python -m wyoming_kokoro.text", description=main.__doc__)
    parser.add_argument("text", nargs="+", help="the text (quote it)")
    parser.add_argument("--lang", default="en-us", help="en-us, en-gb, es, fr-fr, hi, it, pt-br, ja, zh")
    parser.add_argument("--config", help="YAML config (normalisation rules, lexicon, segmentation)")
    parser.add_argument("--normalize-only", action="store_true", help="print only the normalised text")
    args = parser.parse_args(argv)
    try:
        config = validate(load_file(Path(args.config)) if args.config else {}, args.config or "defaults")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    pipeline = pipeline_from_config(config)
    text = " ".join(args.text)
    words = pipeline.normalized(text, args.lang)
    if args.normalize_only:
        print(words)
        return 0
    try:
        phonemes = pipeline.phonemes(text, args.lang)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seg = config["segment"]
    segmenter = Segmenter(seg["first_tokens"], seg["growth"], seg["max_tokens"])
    segmenter.add(phonemes)
    print(f"normalised: {words}")
    print(f"phonemes:   {phonemes}")
    print(f"tokens:     {len(known(phonemes))}")
    while (segment := segmenter.next()) is not None:
        print(f"segment {segment.index}: {len(segment.tokens):3d} tokens, then {segment.boundary:8s} "
              f"{segment.phonemes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
