"""French: "une heure", "1er"/"1re", "le premier mai", "15 h 30"."""

from __future__ import annotations

import re

from . import romance
from .numbers import cardinal, ordinal


def agree(tail: str, feminine: bool) -> str:
    return re.sub(r"\bun\b", "une", tail) if feminine else tail


def noun_gender(word: str) -> bool | None:
    return romance.gender(word, "fr")


def clock(h, mi, s, ap, nn, L) -> str:
    from .numbers import agree as agree_number

    hw, mi = agree_number(cardinal(h, L), L, True), mi or 0
    out = f"{hw} {'heure' if h < 2 else 'heures'}" + (f" {cardinal(mi, L)}" if mi else "")
    return out + (f" et {cardinal(s, L)} secondes" if s else "")


def date_words(day, month, year, L, day_first=None) -> str:
    out = f"{'premier' if day == 1 else cardinal(day, L)} {L.months[month - 1]}"
    return f"{out} {cardinal(year, L)}" if year is not None else out


def ordinal_words(n: int, suffix: str, L) -> str | None:
    """The suffix carries gender and number: 1er/1re, 2nd/2nde, 3e."""
    if n == 1 and suffix.startswith(("er", "re", "ère")):
        words = "premier" if suffix.startswith("er") else "première"
    elif n == 2 and suffix.startswith("nd"):
        words = "seconde" if suffix.startswith("nde") else "second"
    elif n == 1 or suffix.startswith(("er", "re", "ère", "nd")):
        return None
    else:
        words = ordinal(n, L)
    return words + ("s" if suffix.endswith("s") else "")
