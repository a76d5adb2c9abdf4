"""Italian: "un'ora" is "una ora" here, "un grado", "le tre e un quarto"."""

from __future__ import annotations

import re

from . import romance
from .numbers import cardinal, ordinal


def agree(tail: str, feminine: bool) -> str:
    if tail == "uno":
        return "una" if feminine else "un"
    return tail


def noun_gender(word: str) -> bool | None:
    return romance.gender(word, "it")


def clock(h, mi, s, ap, nn, L) -> str:
    from .numbers import agree as agree_number

    hw, mi = agree_number(cardinal(h, L), L, True), mi or 0
    out = f"{hw} e {cardinal(mi, L)}" if mi else hw
    return out + (f" e {cardinal(s, L)} secondi" if s else "")


def date_words(day, month, year, L, day_first=None) -> str:
    out = f"{'primo' if day == 1 else cardinal(day, L)} {L.months[month - 1]}"
    return f"{out} {cardinal(year, L)}" if year is not None else out


def ordinal_words(n: int, suffix: str, L) -> str | None:
    words = ordinal(n, L)
    if suffix.startswith("ª"):
        words = re.sub(r"o\b", "a", words)
    return words


def fraction_plural(ordinal_word: str) -> str:
    return re.sub(r"o\b", "i", ordinal_word)
