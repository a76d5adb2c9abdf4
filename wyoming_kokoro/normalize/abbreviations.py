"""Abbreviations espeak-ng and the lexicon would spell or misread ("Dr.", "e.g.").

The table per language is data (data/<family>.json "abbreviations":
pattern, words, whether the abbreviation's dot may also end the sentence);
a trailing "." that also ended the sentence is put back when the
abbreviation is last or a capital follows. A language module may add
readings that depend on the neighbours (English "Dr"/"St": `titles`).
"""

from __future__ import annotations

import re

from .context import Ctx

SENTENCE_NEXT_RE = re.compile(r"\s*$|\s+[A-Z]")


def _abbrev_sub(pattern: re.Pattern[str], word: str, may_end: bool, text: str, c: Ctx) -> str:
    def fn(m: re.Match[str]) -> str:
        out = word
        if m.group()[:1].isupper() and word[:1].islower():
            out = word[0].upper() + word[1:]
        if may_end and m.group().endswith(".") and SENTENCE_NEXT_RE.match(text, m.end()):
            out += "."
        return out

    return c.sub(pattern, fn, text)


def rule_abbreviations(text: str, c: Ctx) -> str:
    """Expand the language's abbreviations."""
    assert c.L is not None
    titles = c.L.hook("titles", None)
    if titles:
        text = titles(text, c)
    for pattern, word, may_end in c.L.abbreviations:
        text = _abbrev_sub(pattern, word, may_end, text, c)
    return text
