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


def rule_units(text: str, c: Ctx) -> str:
    """Units after a number: "12.4 kWh" -> "twelve point four kilowatt hours"."""
    assert c.L is not None
    L = c.L
    return c.sub(patterns(L.family).units, lambda m: _unit_words(m, L), text)
