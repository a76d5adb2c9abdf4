"""Ordinals (1st, 1º, 1er), fractions (1/2, ¾) and ranges (5-10, 1990-1995).

Fraction names per language are data (data/<family>.json "fractions");
ordinal suffixes are read by the language module's `ordinal_words`.
"""

from __future__ import annotations

import re

from .context import Ctx
from .languages import VULGAR, Lang
from .numbers import agree, ascii_digits, cardinal, num_value, ordinal, parse_num, say_int, say_number, year
from .patterns import patterns


def _ordinal_words(m: re.Match[str], L: Lang) -> str | None:
    """The suffix carries gender and number: 1º/1ª, 1er/1re, 1.er (Spanish "primer")."""
    n, suffix = int(ascii_digits(m.group("n"))), m.group("suf").lower().lstrip(".")
    return L.code.ordinal_words(n, suffix, L)


def rule_ordinals(text: str, c: Ctx) -> str:
    """1st, 1º, 1ª, 1er, 2e -> ordinal words, with gender where the suffix says."""
    assert c.L is not None
    pattern = patterns(c.L.family).ordinals
    if pattern is None:
        return text
    return c.sub(pattern, lambda m: _ordinal_words(m, c.L), text)


_IDIOM_RE = re.compile(r"(?<![\w/.,])(?:(?P<a>24)/(?P<b>7)|(?P<c>50)/(?P<d>50))(?![\w/])(?![.,]\d)")
"""24/7 ("twenty-four seven") and 50/50 ("fifty-fifty"): not fractions, never "slash"."""
_RATING_RE = re.compile(
    r"(?<![\w/.,])(?:(?P<a>\d+[.,]\d+)\s?/\s?(?P<b>\d+)|(?P<a2>\d+)\s?/\s?(?P<b2>5|10|100)(?=\s+(?:stars?|points?|rating)\b))"
    r"(?![\w/])(?![.,]\d)")
"""4.5/5, 8/10 stars: a score out of a maximum, not a fraction."""
_FRACTION_RE = re.compile(
    r"(?<![\w/.,])(?:(?P<whole>\d+)\s(?=\d+/))?(?P<n>\d{1,2})/(?P<d>\d{1,2})(?![\w/])(?![.,]\d)")
_VULGAR_RE = re.compile(r"(?<![\w.,])(?:(?P<whole>\d+)\s?)?(?P<v>[" + "".join(VULGAR) + r"])")
def fraction_words(n: int, d: int, L: Lang) -> str | None:
    """ "one half", "three quarters", "dos tercios"; denominators up to ten."""
    if not (0 < n < d <= 10):
        return None
    own = L.hook("fraction", None)
    if own:
        return own(n, d)
    names = L.fractions.get(str(d))
    if names is None:
        name = ordinal(d, L)
        names = (name, L.hook("fraction_plural", lambda w: w + "s")(name))
    return f"{agree(cardinal(n, L), L, False)} {names[0] if n == 1 else names[1]}"


def with_whole(whole: str | None, frac_words: str, n: int, L: Lang) -> str:
    if not whole:
        return frac_words
    if L.family == "en" and n == 1:
        frac_words = "a " + frac_words.split(" ", 1)[1]
    return f"{say_int(whole, L)} {L.w['and']} {frac_words}"


def rule_fractions(text: str, c: Ctx) -> str:
    """1/2 -> "one half", 2 ¾ -> "two and three quarters" (denominators up to ten)."""
    assert c.L is not None
    L = c.L

    def slash(m: re.Match[str]) -> str | None:
        n, d = int(ascii_digits(m.group("n"))), int(ascii_digits(m.group("d")))
        words = fraction_words(n, d, L)
        return None if words is None else with_whole(m.group("whole"), words, n, L)

    def vulgar(m: re.Match[str]) -> str | None:
        n, d = VULGAR[m.group("v")]
        words = fraction_words(n, d, L)
        return None if words is None else with_whole(m.group("whole"), words, n, L)

    def idiom(m: re.Match[str]) -> str:
        a, b = (cardinal(int(m.group(k)), L) for k in (("a", "b") if m.group("a") else ("c", "d")))
        return f"{a}-{b}" if a == b and L.family == "en" else f"{a} {b}"

    def rating(m: re.Match[str]) -> str:
        a = parse_num(m.group("a") or m.group("a2"), L)
        b = parse_num(m.group("b") or m.group("b2"), L)
        return f"{say_number(*a, L)} {L.w['out_of']} {say_number(*b, L)}"

    text = c.sub(_IDIOM_RE, idiom, text)
    text = c.sub(_RATING_RE, rating, text)
    return c.sub(_VULGAR_RE, vulgar, c.sub(_FRACTION_RE, slash, text))


def is_year(num: str) -> bool:
    return len(num) == 4 and num.isdigit() and 1100 <= int(num) <= 2099


def rule_ranges(text: str, c: Ctx) -> str:
    """5-10 -> "five to ten"; 1990-1995 -> years in English."""
    assert c.L is not None
    L = c.L

    def fn(m: re.Match[str]) -> str | None:
        a, b = m.group("a"), m.group("b")
        if m.group("spaced") and not num_value(*parse_num(a, L)) < num_value(*parse_num(b, L)):
            # "10 - 5": a subtraction, not a range
            return f"{say_number(*parse_num(a, L), L)} {L.w['minus']} {say_number(*parse_num(b, L), L)}"
        if L.family == "en" and is_year(a) and is_year(b) and int(a) < int(b):
            return f"{year(int(a), L)} {L.w['to']} {year(int(b), L)}"
        return f"{say_number(*parse_num(a, L), L)} {L.w['to']} {say_number(*parse_num(b, L), L)}"

    return c.sub(patterns(L.family).ranges, fn, text)
