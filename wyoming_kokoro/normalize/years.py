"""Years: a bare 1999 is a count unless the context says year ("in 1999", "1990s").

English only: the other languages read years as cardinals anyway.
"""

from __future__ import annotations

import re

from .context import Ctx
from .numbers import cardinal, pluralize_last, year

_YEAR_CONTEXT_RE = re.compile(
    r"(?<!\w)(?P<ctx>(?:[Ii]n|[Ss]ince|[Yy]ear|[Uu]ntil|[Tt]ill|[Bb]y|[Ff]rom|[Bb]efore|[Aa]fter|"
    r"[Cc]irca|[Aa]round|[Dd]uring|[Bb]etween|[Ee]arly|[Ll]ate|[Mm]id|[Cc]lass of|[Ss]ummer|"
    r"[Ww]inter|[Ss]pring|[Aa]utumn|[Ff]all|[Ss]ummer of|[Ww]inter of|Q ?[1-4]|H ?[12]|FY)[\s-]*)"
    r"(?P<y>1[1-9]\d\d|20\d\d)(?![\w])(?![.,]\d)(?!\s?[-–—]\s?\d)"
)
_YEAR_BEFORE_NOUN_RE = re.compile(
    r"(?<!\w)(?P<ctx>(?:[Tt]he|[Tt]his|[Tt]hat|[Ll]ast|[Nn]ext|[Ii]ts|[Tt]heir|[Oo]ur|[Hh]is|[Hh]er|[Yy]our|[Mm]y)\s+)"
    r"(?P<y>1[1-9]\d\d|20\d\d)(?=\s+(?:[a-z][a-z-]*\s+)?(?i:season|election|model|edition|version|release|"
    r"census|budget|tax|fiscal|school|academic|calendar|championship|cup|olympics|world|tournament|draft|"
    r"class|vintage|harvest|campaign|update|report|survey|summer|winter|spring|autumn|fall|festival|show)\b)"
    r"(?![.,]\d)")
"""'the 2024 season', 'this 2025 model': a year, said as one."""
_YEAR_SUBJECT_RE = re.compile(
    r"(?:^|(?<=[.!?]\s))(?P<y>1[1-9]\d\d|20\d\d)(?=\s+(?:was|is|has|had|will|saw|brought|marked|began|ended)\b)")
"""'2024 was a good year': a year opening a sentence before a verb."""
_SHORT_YEAR_RE = re.compile(r"(?<![\w'’])['’](?P<y>\d\d)(?![\w'’])")
"""'95, '05: a year said by its last two digits ("ninety-five", "oh five")."""
_YEAR_ERA_RE = re.compile(r"(?<![\w.,])(?P<y>\d{3,4})\s+(?P<era>AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)")
_DECADE_RE = re.compile(
    r"(?P<pre>\b(?:[Tt]he|[Hh]is|[Hh]er|[Tt]heir|[Mm]y|[Yy]our|[Oo]ur|[Ee]arly|[Ll]ate|[Mm]id)[\s-]+)?"
    r"(?<![\w.,])(?P<apos>['’])?(?P<y>1[1-9]\d0|20\d0|[1-9]0)['’]?s(?!\w)")


def rule_years(text: str, c: Ctx) -> str:
    """A bare 1999 is a count unless context says year ("in 1999", "1990s")."""
    assert c.L is not None
    L = c.L
    if L.family != "en":
        return text

    def decade(m: re.Match[str]) -> str | None:
        """ "1990s" always; "90s" only as "the 90s" / "'90s" ("30s" may be seconds)."""
        y = int(m.group("y"))
        if y < 1000 and not (m.group("pre") or m.group("apos")):
            return None
        return (m.group("pre") or "") + pluralize_last(year(y, L) if y >= 1000 else cardinal(y, L))

    def era(m: re.Match[str]) -> str:
        letters = " ".join(ch for ch in m.group("era") if ch.isalpha())
        return f"{year(int(m.group('y')), L)} {letters}"

    text = c.sub(_DECADE_RE, decade, text)
    text = c.sub(_SHORT_YEAR_RE, lambda m: (f"oh {cardinal(int(m.group('y')), L)}" if m.group("y")[0] == "0"
                                            else cardinal(int(m.group("y")), L)), text)
    text = c.sub(_YEAR_ERA_RE, era, text)
    text = c.sub(_YEAR_BEFORE_NOUN_RE, lambda m: m.group("ctx") + year(int(m.group("y")), L), text)
    text = c.sub(_YEAR_SUBJECT_RE, lambda m: year(int(m.group("y")), L), text)
    return c.sub(_YEAR_CONTEXT_RE, lambda m: m.group("ctx") + year(int(m.group("y")), L), text)
