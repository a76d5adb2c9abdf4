"""Symbols espeak-ng skips or names oddly (& @ + # = ~ ± ×), and every number left.

Numbers run last: every more specific rule (money, dates, units...) has
claimed its digits by then.
"""

from __future__ import annotations

import re

from .context import Ctx
from .languages import UNIT_CANONICAL
from .numbers import DOT_THOUSANDS_RE, agree, noun_gender, parse_num, say_frac, say_int, say_number
from .patterns import patterns

_AMP_RE = re.compile(r"\s*&\s*")
_PLUS_RE = re.compile(r"(?<=[\w)\]])\s*\+\s*(?=[\w(])")
_AT_RE = re.compile(r"\s*@\s*(?=\w)|(?<=\s)@(?=\s)")
_HASH_RE = re.compile(r"#\s?(?=\d)")
_EQUALS_RE = re.compile(r"\s*(?<![=!<>])=(?![=])\s*(?=\S)")
_TILDE_RE = re.compile(r"(?<!\S)[~≈]\s?(?=\w)")
_PLUSMINUS_RE = re.compile(r"±\s?")
_TIMES_RE = re.compile(r"(?<=\d)\s?×\s?(?=\d)")


_POWER_RE = re.compile(r"(?<=\d)\^(?=\d)")
_TIMES_WORD_RE = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)x(?=\s+[^\W\d_])")
"""2x faster: "two times faster"."""
_AND_OR_RE = re.compile(r"\band/or\b")
_PER_RE = re.compile(
    r"(?P<a>[\w€$£¥¢]+)\s?/\s?(?P<b>(?:day|night|week|month|year|hour|hr|h|min|minute|second|sec|s|person|piece|"
    r"unit|kWh|Wh|km|mile|mi|kg|lb|g|l|L|liter|litre|gal|m²|m2|sqm|m³|m3|cycle|use|load)(?![\w/]))")
"""15 kWh/day, €/kWh: a rate, "per" (before the or-rule and the units, which then read "kWh per day")."""
_WORD_SLASH_RE = re.compile(r"(?<![\w/])(?P<a>[^\W\d_¹²³]{2,})/(?P<b>[^\W\d_¹²³]{2,})(?![\w/])")
"""yes/no, on/off: "or" (w/ and w/o are abbreviations, km/h a unit: both claimed before)."""


def rule_symbols(text: str, c: Ctx) -> str:
    """Symbols espeak-ng skips or names oddly: & @ + # = ~ ± ×."""
    assert c.L is not None
    w = c.L.w
    for pattern, word in ((_AMP_RE, w["and"]), (_PLUS_RE, w["plus"]), (_AT_RE, w["at"]),
                          (_HASH_RE, w["number"]), (_EQUALS_RE, w["equals"]),
                          (_TILDE_RE, w["about"]), (_PLUSMINUS_RE, w["plusminus"]),
                          (_TIMES_RE, w["times"])):
        text = c.sub(pattern, lambda m, word=word: f" {word} ", text)
    text = c.sub(_POWER_RE, lambda m: f" {w['power']} ", text)
    text = c.sub(_TIMES_WORD_RE, lambda m: f"{m.group(1)} {w['times']}", text)
    text = c.sub(_AND_OR_RE, lambda m: f"{w['and']} {w['or']}", text)
    text = c.sub(_PER_RE, lambda m: None if f"{m.group('a')}/{m.group('b')}" in UNIT_CANONICAL
                 else f"{m.group('a')} {w['per']} {m.group('b')}", text)
    text = c.sub(_WORD_SLASH_RE, lambda m: f"{m.group('a')} {w['or']} {m.group('b')}", text)
    return text


_SCALED_RE = re.compile(r"(?<![\w.,])(?P<num>\d+(?:\.\d+)?)(?P<scale>k|M|bn|B)(?=\s+[a-z]{2,})")
"""1.2k users, 3M views: the scale said as a word before a noun (not 4K, a
resolution, nor "Apt 4B")."""
_SCALE_WORDS = {"k": "thousand", "M": "million", "bn": "billion", "B": "billion"}
_BARE_DECIMAL_RE = re.compile(r"(?<![\w.,])\.(\d+)(?![\w.,])")
""".5: "point five"."""
_NEXT_WORD_RE = re.compile(r"\s+([^\W\d_]+)")


def rule_numbers(text: str, c: Ctx) -> str:
    """Every remaining standalone number: cardinals, decimals, negatives,
    thousands separators; dotted runs (versions, IPs) digit-group by group."""
    assert c.L is not None
    L, P = c.L, patterns(c.L.family)

    def dotted(m: re.Match[str]) -> str | None:
        s = m.group()
        if L.family in ("es", "fr", "it", "pt") and DOT_THOUSANDS_RE.fullmatch(s):
            return None  # "1.000.000" is a number here; the general rule reads it
        return f" {L.w['dot']} ".join(say_int(part, L) for part in s.split("."))

    def number(m: re.Match[str]) -> str:
        int_str, frac = parse_num(m.group("num"), L)
        words = say_number(int_str, frac, L, m.group("sign") or "")
        noun = _NEXT_WORD_RE.match(text, m.end())
        if noun and not frac:  # "1 hora" -> "una hora", "21 grados" -> "veintiún grados"
            gender = noun_gender(noun.group(1), L)
            if gender is not None:
                words = agree(words, L, gender)
        return words

    def scaled(m: re.Match[str]) -> str:
        return f"{say_number(*parse_num(m.group('num'), L), L)} {L.w[_SCALE_WORDS[m.group('scale')]]}"

    text = c.sub(P.dotted, dotted, text)
    text = c.sub(_SCALED_RE, scaled, text)
    text = c.sub(_BARE_DECIMAL_RE, lambda m: f"{L.w['point']} {say_frac(m.group(1), L)}", text)
    return c.sub(P.numbers, number, text)
