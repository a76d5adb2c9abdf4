"""Dates: ISO (2025-12-05) and numeric (12/05/2025) everywhere, English month names too.

Ambiguous numeric dates follow `date_order` (mdy for en-us, dmy for the
others); how a date is said is the language module's `date_words`.
"""

from __future__ import annotations

import datetime as _dt
import re

from .context import Ctx
from .languages import Lang, table
from .numbers import year

MONTH_ALT = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_ISO_DATE_RE = re.compile(
    r"(?<![\w./-])(?P<y>\d{4})([-/])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\w])(?![./-]\d)")
_NUM_DATE_RE = re.compile(
    r"(?<![\w./-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?![\w])(?![./-]\d)")
_SHORT_DATE_RE = re.compile(
    r"(?P<ctx>\b(?:[Oo]n|[Bb]y|[Uu]ntil|[Tt]ill|[Ff]rom|[Ss]ince|[Bb]efore|[Aa]fter|[Dd]ue|[Ee]nds?|[Ss]tarts?|"
    r"el|le|il|o|del|du|al|desde|hasta|depuis|dal|até|dia|día|Mon|Tue|Wed|Thu|Fri|Sat|Sun|[A-Z][a-z]+day,?)\s+)"
    r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/])(?![.,]\d)")
"""'on 12/15': a day and month without a year, only after a word that says date
(a bare 1/3 is a fraction)."""
_EN_MONTH_DAY_RE = re.compile(
    rf"\b{MONTH_ALT}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?(?![\w:])(?![.,]\d)")
_EN_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH_ALT}"
    rf"(?:,?\s+(?P<y>\d{{4}}))?(?![\w])(?![.,]\d)")
_THE_BEFORE_RE = re.compile(r"\b[Tt]he\s+$")
_EN_MONTH_YEAR_RE = re.compile(rf"\b{MONTH_ALT}\s+(?P<y>\d{{4}})(?![\w])(?![.,]\d)")


def month_index(name: str) -> int:
    return [m[:3] for m in table("en")["months"]].index(name[:3]) + 1


def valid_date(year: int, month: int, day: int) -> bool:
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def rule_date(text: str, c: Ctx) -> str:
    """ISO and numeric dates everywhere; English month names ("Nov 24") too."""
    assert c.L is not None
    L = c.L

    def iso(m: re.Match[str]) -> str | None:
        y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        return say_date(d, mo, y, L) if valid_date(y, mo, d) else None

    def numeric(m: re.Match[str]) -> str | None:
        a, b, ys = int(m.group("a")), int(m.group("b")), m.group("y")
        if len(ys) == 2 and m.group("sep") != "/":
            return None
        y = int(ys) + (2000 if len(ys) == 2 else 0)
        orders = [(a, b), (b, a)] if c.date_order == "mdy" else [(b, a), (a, b)]
        for mo, d in orders:
            if valid_date(y, mo, d):
                return say_date(d, mo, y, L)
        return None

    def short(m: re.Match[str]) -> str | None:
        a, b = int(m.group("a")), int(m.group("b"))
        mo, d = (a, b) if c.date_order == "mdy" else (b, a)
        return m.group("ctx") + say_date(d, mo, None, L) if valid_date(2000, mo, d) else None

    text = c.sub(_ISO_DATE_RE, iso, text)
    text = c.sub(_NUM_DATE_RE, numeric, text)
    text = c.sub(_SHORT_DATE_RE, short, text)
    if L.family != "en":
        return text

    def month_day(m: re.Match[str], day_first: bool) -> str | None:
        mo, d = month_index(m.group("month")), int(m.group("d"))
        y = int(m.group("y")) if m.group("y") else None
        if not valid_date(y or 2000, mo, d):
            return None
        words = say_date(d, mo, y, L, day_first=day_first)
        if day_first and _THE_BEFORE_RE.search(text, 0, m.start()):
            words = words.removeprefix("the ")  # "the 5th of May" already has it
        return words

    def month_year(m: re.Match[str]) -> str | None:
        y = int(m.group("y"))
        if not 1000 <= y <= 2999:
            return None
        return f"{L.months[month_index(m.group('month')) - 1]} {year(y, L)}"

    text = c.sub(_EN_MONTH_DAY_RE, lambda m: month_day(m, False), text)
    text = c.sub(_EN_DAY_MONTH_RE, lambda m: month_day(m, True), text)
    return c.sub(_EN_MONTH_YEAR_RE, month_year, text)


def say_date(day: int, month: int, year: int | None, L: Lang, *, day_first: bool | None = None) -> str:
    """A date as said in `L` (English keeps the written order: month or day first)."""
    return L.code.date_words(day, month, year, L, day_first)
