"""Clock times (3:45 PM, 15:30, 15h30) and ranges of them (9:00-17:00).

The written forms are matched here; how a time is said is the language
module's `clock` ("three forty-five PM", "las tres y cuarenta y cinco").
"""

from __future__ import annotations

import re
from functools import cache

from .abbreviations import SENTENCE_NEXT_RE
from .context import Ctx
from .languages import Lang

_AMPM = r"(?P<ap{0}>[aApP]\.?\s?[mM]\.?)"


def _time_core(i: str, family: str) -> str:
    if family == "en":
        return (rf"(?:(?P<h{i}>\d{{1,2}}):(?P<m{i}>\d{{2}})(?::(?P<s{i}>\d{{2}}))?"
                rf"(?:\s?{_AMPM.format(i)}(?!\w))?(?P<nn{i}>\s+(?:noon|midnight)\b)?"
                rf"|(?P<hh{i}>\d{{1,2}})\s?{_AMPM.format('x' + i)}(?!\w))")
    h_form = rf"|\s?h\s?(?P<hm{i}>\d{{2}})?" if family in ("fr", "pt") else ""
    return (rf"(?:(?P<h{i}>\d{{1,2}})(?::(?P<m{i}>\d{{2}})(?::(?P<s{i}>\d{{2}}))?{h_form})"
            rf"(?:\s?h(?:rs)?\b)?)")


@cache
def _time_re(family: str) -> re.Pattern[str]:
    one, two = _time_core("1", family), _time_core("2", family)
    return re.compile(rf"(?<![\w:.,/])(?:{one})(?:\s?[-–—]\s?(?:{two}))?(?![\w:])(?![.,]\d)")


def _one_time(m: re.Match[str], i: str, L: Lang) -> str | None:
    g = m.groupdict()
    if L.family == "en" and g.get(f"hh{i}") is not None:
        return L.code.clock(int(g[f"hh{i}"]), None, None, g[f"apx{i}"], None, L)
    if g.get(f"h{i}") is None:
        return None
    h = int(g[f"h{i}"])
    mins = g.get(f"m{i}") if g.get(f"m{i}") is not None else g.get(f"hm{i}")
    mi = int(mins) if mins is not None else None
    s = int(g[f"s{i}"]) if g.get(f"s{i}") is not None else None
    if h > 24 or (mi is not None and mi > 59) or (s is not None and s > 59):
        return None
    return L.code.clock(h, mi, s, g.get(f"ap{i}"), g.get(f"nn{i}"), L)


def rule_time(text: str, c: Ctx) -> str:
    """Clock times (3:45 PM, 15:30, 15h30) and ranges of them (9:00-17:00)."""
    assert c.L is not None
    L = c.L

    def fn(m: re.Match[str]) -> str | None:
        first = _one_time(m, "1", L)
        if first is None:
            return None
        if any(m.group(k) for k in m.groupdict() if k.endswith("2")):
            second = _one_time(m, "2", L)
            if second is None:
                return None
            first = f"{first} {L.w['to']} {second}"
        raw = m.group().rstrip()
        if L.family == "en" and raw.endswith(".") and SENTENCE_NEXT_RE.match(text, m.end()):
            first += "."  # "at 3 p.m." also ended the sentence
        return first

    return c.sub(_time_re(L.family), fn, text)
