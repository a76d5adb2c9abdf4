"""Hindi: the Indian number system (hazaar, lakh, crore), which num2words lacks.

0-99 are irregular, so they are a table (data/hi.json "numbers").
"""

from __future__ import annotations

from .languages import table

_DATA = table("hi")
_NUMBERS: list[str] = _DATA["numbers"]
_ORDINALS = {int(k): v for k, v in _DATA["ordinals"].items()}


def cardinal(n: int) -> str:
    if n < 100:
        return _NUMBERS[n]
    parts: list[str] = []
    crore, n = divmod(n, 10**7)
    if crore:
        parts += [cardinal(crore), "करोड़"]
    for size, name in ((10**5, "लाख"), (1000, "हज़ार"), (100, "सौ")):
        count, n = divmod(n, size)
        if count:
            parts += [_NUMBERS[count], name]
    if n:
        parts.append(_NUMBERS[n])
    return " ".join(parts)


def ordinal(n: int) -> str:
    return _ORDINALS.get(n) or cardinal(n) + "वाँ"


def clock(h, mi, s, ap, nn, L) -> str:
    out = f"{cardinal(h)} बजे" if not mi else f"{cardinal(h)} बजकर {cardinal(mi)} मिनट"
    return out + (f" {cardinal(s)} सेकंड" if s else "")


def date_words(day, month, year, L, day_first=None) -> str:
    out = f"{cardinal(day)} {L.months[month - 1]}"
    return f"{out} {cardinal(year)}" if year is not None else out


def fraction(n: int, d: int) -> str:
    return _DATA["fractions"].get(f"{n}/{d}") or f"{cardinal(n)} बटा {cardinal(d)}"
