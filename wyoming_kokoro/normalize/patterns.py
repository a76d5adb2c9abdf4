"""The number-shaped patterns of each language family, compiled once.

Rules differ in what surrounds a number (a currency, a unit, a percent
sign, a range dash); the number itself is written per family: 1,234.5 in
English and Hindi (1,23,456), 1.234,5 in Spanish, Italian and Portuguese,
1 234,5 in French (data/shared.json "number_patterns").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .languages import SHARED, UNIT_CANONICAL, VULGAR, table

_START = r"(?<![\w.,])"
_END = r"(?![\w])(?![.,]\d)"
_SIGN = r"(?P<sign>(?<![\w.,])[-−+])?"


@dataclass(frozen=True)
class Patterns:
    money_pre: re.Pattern[str]
    money_post: re.Pattern[str]
    percent: re.Pattern[str]
    units: re.Pattern[str]
    ranges: re.Pattern[str]
    numbers: re.Pattern[str]
    dotted: re.Pattern[str]
    ordinals: re.Pattern[str] | None


_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNIT_CANONICAL, key=len, reverse=True))


@cache
def patterns(family: str) -> Patterns:
    num = SHARED["number_patterns"].get(family, SHARED["number_patterns"]["rom"])
    cur = r"R\$|US\$|\$|€|£|¥|₹|Rs\.?(?=\s?\d)|USD|EUR|GBP|JPY|INR|BRL"
    scale = (r"(?:\s?(?P<scale>thousand|million|billion|trillion|k|K|m|M|bn|B)(?!\w))?"
             if family == "en" else "")
    ordinal_suffix = table(family).get("ordinal_suffix")
    return Patterns(
        money_pre=re.compile(
            rf"{_SIGN}(?<![\w.,])(?P<cur>{cur})\s?(?P<num>{num})"
            rf"(?:\s?[-–—]\s?(?:(?P=cur)\s?)?(?P<num2>{num})(?![\d.,]*\s?[%％]))?{scale}{_END}"),
        money_post=re.compile(
            rf"{_SIGN}{_START}(?P<num>{num})\s?(?P<cur>€|\$|£|¥|₹|¢|USD|EUR|GBP|JPY|INR|BRL)(?!\w)"),
        percent=re.compile(
            rf"{_SIGN}{_START}(?P<a>{num})(?:\s?[-–—]\s?(?P<b>{num}))?\s?[%％](?!\w)"),
        units=re.compile(
            rf"{_SIGN}{_START}(?:(?P<frac>(?:(?P<whole>\d+)\s?)?(?:(?P<fn>\d{{1,2}})/(?P<fd>\d{{1,2}})|"
            rf"(?P<v>[{''.join(VULGAR)}])))|(?P<a>{num})(?:\s?[-–—]\s?(?P<b>{num}))?)(?P<sp>\s?)"
            rf"(?P<unit>{_UNIT_ALT})(?![\w²³])(?!/\w)"),
        ranges=re.compile(
            rf"(?<![-−])(?<![\w.,/])(?P<a>{num})(?:-|\s?[–—]\s?|(?P<spaced>\s-\s))(?P<b>{num})(?![\w/%])(?![.,-]\d)"),
        numbers=re.compile(rf"{_SIGN}{_START}(?P<num>{num}){_END}"),
        dotted=re.compile(r"(?<![\w.,])\d+(?:\.\d+){2,}(?![\w])(?!\.\d)"),
        ordinals=(re.compile(rf"(?<![\w.,])(?P<n>\d+)(?P<suf>{ordinal_suffix})(?!\w)")
                  if ordinal_suffix else None),
    )
