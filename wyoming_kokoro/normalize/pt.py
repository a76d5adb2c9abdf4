"""Brazilian Portuguese: "duas horas", "uma pessoa", "5 de maio de 2025"."""

from __future__ import annotations

import re

from . import romance
from .numbers import cardinal, ordinal


def agree(tail: str, feminine: bool) -> str:
    if not feminine:
        return tail
    tail = re.sub(r"\bum\b", "uma", tail)
    tail = re.sub(r"\bdois\b", "duas", tail)
    return re.sub(r"entos\b", "entas", tail)


def noun_gender(word: str) -> bool | None:
    return romance.gender(word, "pt")


def clock(h, mi, s, ap, nn, L) -> str:
    from .numbers import agree as agree_number

    hw, mi = agree_number(cardinal(h, L), L, True), mi or 0
    out = f"{hw} e {cardinal(mi, L)}" if mi else f"{hw} {'hora' if h == 1 else 'horas'}"
    return out + (f" e {cardinal(s, L)} segundos" if s else "")


def date_words(day, month, year, L, day_first=None) -> str:
    out = f"{'primeiro' if day == 1 else cardinal(day, L)} de {L.months[month - 1]}"
    return f"{out} de {cardinal(year, L)}" if year is not None else out


def ordinal_words(n: int, suffix: str, L) -> str | None:
    words = ordinal(n, L)
    if suffix.startswith("ª"):
        words = re.sub(r"o\b", "a", words)
    if suffix.endswith("s"):
        words = re.sub(r"([oa])\b", r"\1s", words)
    return words
