"""English: what its readings do differently from the shared defaults.

Years pair their digits ("nineteen ninety-nine"), clock times have
o'clock, "oh five" and A M / P M, dates keep the written order, "Dr" and
"St" are titles before a name and street types after one.
"""

from __future__ import annotations

import re

from num2words import num2words

from .abbreviations import SENTENCE_NEXT_RE
from .numbers import cardinal, ordinal

_AND_RE = re.compile(r"\band ")


def tidy(words: str, L) -> str:
    """en-us drops the "and" of "one hundred and five"."""
    return _AND_RE.sub("", words) if L.key == "en-us" else words


def year(n: int, L) -> str:
    return tidy(num2words(n, lang="en", to="year").replace(",", ""), L).replace("oh-", "oh ")


def minutes(mi: int, L) -> str:
    return f"oh {cardinal(mi, L)}" if mi < 10 else cardinal(mi, L)


AM, PM = "AM", "PM"
"""Written as capitals: the lexicon spells them as letters (ˌAˈɛm). "A M"
made the G2P read the article "a" ("seven oh five uh em")."""


def clock(h: int, mi: int | None, s: int | None, ap: str | None, nn: str | None, L) -> str | None:
    """ "three forty-five PM", "ten oh five", "seven o'clock", "fifteen hundred"."""
    hw = cardinal(h, L)
    if ap is not None:
        if not 1 <= h <= 12:
            return None
        ap_words = AM if ap[0] in "aA" else PM
        if not mi:
            return f"{hw} {ap_words}"
        return f"{hw} {minutes(mi, L)} {ap_words}"
    if mi is None:
        return None
    if h == 0 and s is not None and (mi or s):  # "00:05:30" is a duration, not a clock time
        return " and ".join(f"{cardinal(n, L)} {unit}{'' if n == 1 else 's'}"
                            for n, unit in ((mi, "minute"), (s, "second")) if n)
    if mi == 0:
        if nn:
            return f"{hw} {nn.strip()}"
        if h in (0, 24):
            return "midnight"
        base = f"{hw} o'clock" if h <= 12 else f"{hw} hundred"
    else:
        base = f"{hw} {minutes(mi, L)}"
    if s:
        base += f" and {cardinal(s, L)} second{'s' if s != 1 else ''}"
    return base


def date_words(day: int, month: int, year_: int | None, L, day_first: bool | None = None) -> str:
    """Month first in en-us ("May fifth"), day first in en-gb ("the fifth of May")."""
    name = L.months[month - 1]
    if day_first is None:
        day_first = L.key == "en-gb"
    out = f"the {ordinal(day, L)} of {name}" if day_first else f"{name} {ordinal(day, L)}"
    return f"{out}, {year(year_, L)}" if year_ is not None else out


def ordinal_words(n: int, suffix: str, L) -> str | None:
    return ordinal(n, L)


# Titles whose reading depends on the neighbours.
_DR_RE = re.compile(r"(?<![\w.])(?P<prev>[A-Z][\w'-]*\s+)?Dr\b(?P<dot>\.)?(?=(?P<next>\s+[A-Z])?)")
_ST_RE = re.compile(
    r"(?<![\w.])(?P<prev>(?:[A-Z][\w'-]*|\d+\w*)\s+)?St\b(?P<dot>\.)?(?=(?P<next>\s+[A-Z])?)")


def _title(m: re.Match[str], text: str, title: str, place: str) -> str | None:
    """Doctor/Saint before a capitalised name; Drive/Street after a name or number."""
    prev, dot, nxt = m.group("prev") or "", m.group("dot"), m.group("next")
    if nxt:
        return prev + title
    if prev:
        end = "." if dot and SENTENCE_NEXT_RE.match(text, m.end()) else ""
        return prev + place + end
    return title if dot else None


def titles(text: str, c) -> str:
    """ "Dr. Smith" -> Doctor Smith, "Baker St." -> Baker Street."""
    text = c.sub(_DR_RE, lambda m: _title(m, text, "Doctor", "Drive"), text)
    return c.sub(_ST_RE, lambda m: _title(m, text, "Saint", "Street"), text)
