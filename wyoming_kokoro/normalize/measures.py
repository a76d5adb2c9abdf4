"""Percent and units after a number: "12.4 kWh" -> "twelve point four kilowatt hours".

Unit names per language are data (data/<family>.json "units", keyed by
the unit's first written form in data/shared.json "unit_aliases"); only
units that follow a number are read, so "m" in "I'm" is never touched.
"""

from __future__ import annotations

import re

from .context import Ctx
from .counting import VULGAR, fraction_words, with_whole
from .languages import SPACED_UNITS, Lang
from .numbers import agree, is_singular, parse_num, say_number
from .patterns import patterns


def quantity(m: re.Match[str], L: Lang, feminine: bool | None = None) -> tuple[str, tuple[str, str]]:
    """Words for "a" or "a-b" (with sign); returns (words, last number parsed).

    feminine None: no agreement (percent: "uno por ciento", not "un").
    """
    sign = m.group("sign") or ""
    a = parse_num(m.group("a"), L)
    words = say_number(*a, L)
    if not a[1] and feminine is not None:
        words = agree(words, L, feminine)
    if sign in ("-", "−"):
        words = f"{L.w['minus']} {words}"
    elif sign == "+":
        words = f"{L.w['plus']} {words}"
    last = a
    if m.group("b"):
        b = parse_num(m.group("b"), L)
        bw = say_number(*b, L)
        if not b[1] and feminine is not None:
            bw = agree(bw, L, feminine)
        words = f"{words} {L.w['to']} {bw}"
        last = b
    return words, last


def rule_percent(text: str, c: Ctx) -> str:
    """85% -> "eighty-five percent"; 10-20 % -> "ten to twenty percent"."""
    assert c.L is not None
    L = c.L
    return c.sub(patterns(L.family).percent,
                 lambda m: f"{quantity(m, L)[0]} {L.w['percent']}", text)


def _unit_words(m: re.Match[str], L: Lang) -> str | None:
    unit = m.group("unit")
    entry = L.unit(unit)
    if entry is None or (unit in SPACED_UNITS and not m.group("sp")):
        return None
    feminine = entry.startswith("f:")
    sing, _, plur = entry.removeprefix("f:").partition("|")
    if L.key == "en-gb":
        sing, plur = (n.replace("meter", "metre").replace("liter", "litre") for n in (sing, plur))
    if m.group("frac"):
        return _fraction_of_unit(m, sing, plur, L)
    words, last = quantity(m, L, feminine)
    noun = sing if is_singular(*last, L) else plur
    return f"{words} {noun}"


def _fraction_of_unit(m: re.Match[str], sing: str, plur: str, L: Lang) -> str | None:
    """ "3 1/2 km" -> "three and a half kilometers"; "3/4 km" -> "three quarters of a kilometer"."""
    n, d = VULGAR[m.group("v")] if m.group("v") else (int(m.group("fn")), int(m.group("fd")))
    words = fraction_words(n, d, L)
    if words is None:
        return None
    sign = L.w["minus"] + " " if (m.group("sign") or "") in ("-", "−") else ""
    if m.group("whole"):
        return f"{sign}{with_whole(m.group('whole'), words, n, L)} {plur}"
    if L.family == "en":
        article = "an" if sing[:1] in "aeiou" or sing.startswith("hour") else "a"
        return f"{sign}{words} of {article} {sing}"
    if L.w["of"]:
        of = "d'" if L.family == "fr" and sing[:1] in "aeiouéèh" else f"{L.w['of']} "
        return f"{sign}{words} {of}{sing}"
    return f"{sign}{words} {sing}"


_DURATION_RE = re.compile(
    r"(?<![\w.,:])(?:(?P<h>\d+)\s?h(?:rs?)?\s?(?P<m>\d{1,2})\s?m(?:ins?)?(?:\s?(?P<s>\d{1,2})\s?s(?:ecs?)?)?"
    r"|(?P<m2>\d+)\s?m(?:ins?)?\s?(?P<s2>\d{1,2})\s?s(?:ecs?)?)(?![\w/])")
"""1h 30m, 2h15m30s, 5m 30s: in a duration "m" is minutes, not meters."""
_FEET_INCHES_RE = re.compile(
    r"(?<![\w.,])(?P<ft>\d+)(?:\s?(?:ft|feet|foot)\s?|\s?[′']\s?)(?P<a>\d+(?:\.\d+)?)\s?(?:in|inch|inches|″|\")"
    r"(?![\w])")
_INCHES_RE = re.compile(
    r"(?<![\w.,])(?P<a>\d+(?:\.\d+)?)(?:\s?in|-inch|\s?″)(?![\w-])"
    r"(?=\s*(?:$|[.,;:!?)]|(?:x|×|by|tall|wide|long|deep|high|thick|screen|display|monitor|TV|pizza|laptop|tablet|"
    r"pan|diameter)\b))")
"""12 in: inches only where "in" cannot be the preposition (end of clause, a size)."""


def _amount(number: str, unit: str, L: Lang) -> str | None:
    entry = L.unit(unit)
    if entry is None:
        return None
    feminine = entry.startswith("f:")
    sing, _, plur = entry.removeprefix("f:").partition("|")
    int_str, frac = parse_num(number, L)
    words = say_number(int_str, frac, L)
    if not frac:
        words = agree(words, L, feminine)
    return f"{words} {sing if is_singular(int_str, frac, L) else plur}"


_BEFORE_NOUN_RE = re.compile(r"\s*(?:screen|display|monitor|TV|pizza|laptop|tablet|pan)\b")


def _inches(m: re.Match[str], text: str, L: Lang) -> str | None:
    """ "12 in." -> twelve inches; before a noun it is an adjective: "a twelve-inch pizza"."""
    if m.group().endswith("-inch") or _BEFORE_NOUN_RE.match(text, m.end()):
        int_str, frac = parse_num(m.group("a"), L)
        return f"{say_number(int_str, frac, L)}-inch"
    return _amount(m.group("a"), "in", L)


def _duration(m: re.Match[str], L: Lang) -> str | None:
    parts = [(m.group("h"), "h"), (m.group("m") or m.group("m2"), "min"), (m.group("s") or m.group("s2"), "s")]
    said = [_amount(n, unit, L) for n, unit in parts if n is not None]
    return None if None in said else " ".join(said)


def rule_units(text: str, c: Ctx) -> str:
    """Units after a number: "12.4 kWh" -> "twelve point four kilowatt hours"."""
    assert c.L is not None
    L = c.L
    text = c.sub(_DURATION_RE, lambda m: _duration(m, L), text)
    if L.unit("in"):
        text = c.sub(_FEET_INCHES_RE, lambda m: f"{_amount(m.group('ft'), 'ft', L)} {_amount(m.group('a'), 'in', L)}",
                     text)
        text = c.sub(_INCHES_RE, lambda m: _inches(m, text, L), text)
    return c.sub(patterns(L.family).units, lambda m: _unit_words(m, L), text)
