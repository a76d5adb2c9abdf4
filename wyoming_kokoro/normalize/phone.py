"""Phone numbers are read digit by digit, grouped as written.

International forms are shared; each language's national formats are
data (data/<family>.json "phone_patterns").
"""

from __future__ import annotations

import re

from .context import Ctx
from .languages import Lang
from .numbers import digits

_PHONE_COMMON = [
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]\(?\d{1,5}\)?|\(\d{1,5}\)){1,6}(?![\w])(?![.-]\d)"),
    re.compile(r"(?<![\w+])\+\d{8,15}(?!\w)"),
]
_PHONE_GROUP_RE = re.compile(r"\+|\d+")


def _phone_words(number: str, L: Lang) -> str | None:
    count = sum(ch.isdigit() for ch in number)
    if not 7 <= count <= 15:
        return None
    groups = []
    for token in _PHONE_GROUP_RE.findall(number):
        groups.append(L.w["plus"] if token == "+" else digits(token, L))
    if groups and groups[0] == L.w["plus"] and len(groups) > 1:
        groups[:2] = [f"{groups[0]} {groups[1]}"]
    return ", ".join(groups)


_SHORT_NUMBER_RE = re.compile(
    r"(?P<verb>\b(?:[Cc]all(?:ed)?|[Dd]ial(?:l?ed)?|[Tt]ext(?:ed)?)\s)(?P<n>\d{3})(?![\w,-])(?!\.\d)")
"""'call 911', 'dial 112': emergency and service numbers are said digit by digit."""


def rule_phone(text: str, c: Ctx) -> str:
    """Phone numbers are read digit by digit, grouped as written."""
    assert c.L is not None
    L = c.L
    text = c.sub(_SHORT_NUMBER_RE, lambda m: m.group("verb") + digits(m.group("n"), L), text)
    for pattern in (*_PHONE_COMMON, *L.phones):
        text = c.sub(pattern, lambda m: _phone_words(m.group(), L), text)
    return text
