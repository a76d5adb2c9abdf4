"""Spanish: "veintiún grados", "una hora", "las tres y cuarto", "5 de mayo"."""

from __future__ import annotations

import re

from . import romance
from .numbers import cardinal, ordinal

_BEFORE_SCALE_RE = re.compile(r"\b(veinti)?uno(?= (?:mil|millón|millones|billón|billones)\b)")


def tidy(words: str, L) -> str:
    """num2words says "veintiuno mil"; Spanish says "veintiún mil"."""
    return _BEFORE_SCALE_RE.sub(lambda m: "veintiún" if m.group(1) else "un", words)


def agree(tail: str, feminine: bool) -> str:
    if feminine:
        tail = re.sub(r"\b(veinti)?(?:uno|ún|un)\b", lambda m: (m.group(1) or "") + "una", tail)
        return re.sub(r"ientos\b", "ientas", tail)
    tail = re.sub(r"\bveintiuno$", "veintiún", tail)
    return re.sub(r"\buno$", "un", tail)


def noun_gender(word: str) -> bool | None:
    return romance.gender(word, "es")


def clock(h, mi, s, ap, nn, L) -> str:
    from .numbers import agree as agree_number

    hw, mi = agree_number(cardinal(h, L), L, True), mi or 0
    out = f"{hw} y {cardinal(mi, L)}" if mi else f"{hw} en punto"
    return out + (f" y {cardinal(s, L)} segundos" if s else "")


def date_words(day, month, year, L, day_first=None) -> str:
    out = f"{cardinal(day, L)} de {L.months[month - 1]}"
    return f"{out} de {cardinal(year, L)}" if year is not None else out


def ordinal_words(n: int, suffix: str, L) -> str | None:
    words = ordinal(n, L)
    if suffix == "er":
        return re.sub(r"(primer|tercer)o\b", r"\1", words)
    if suffix.startswith("ª"):
        words = re.sub(r"o\b", "a", words)
    if suffix.endswith("s"):
        words = re.sub(r"([oa])\b", r"\1s", words)
    return words
