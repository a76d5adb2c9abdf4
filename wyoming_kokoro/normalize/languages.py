"""The languages the rules serve: tables from data/, code from one module each.

Everything a rule needs to know about a language is on its `Lang`: the
tables (connective words, month names, currencies, unit names,
abbreviations, fraction names, phone formats) come from
`data/<family>.json`, so adding a unit or an abbreviation is a data edit;
the few readings that need code (clock times, dates, ordinal suffixes,
number agreement, Hindi's number system) are functions of the language's
own module (en.py, es.py, fr.py, it.py, pt.py, hi.py), looked up by name
with a shared default where a language has nothing special.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

FAMILIES = ("en", "es", "fr", "it", "pt", "hi")


@cache
def table(name: str) -> dict[str, Any]:
    """data/<name>.json, read once."""
    path = importlib.resources.files(__package__).joinpath(f"data/{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


SHARED = table("shared")
UNIT_CANONICAL = {alias: aliases[0] for aliases in SHARED["unit_aliases"] for alias in aliases}
"""Every written form of a unit -> the form its names are filed under."""
SPACED_UNITS = frozenset(SHARED["spaced_units"])
"""Units that must be apart from their number: "90s" is a decade, "5s" fives."""
CURRENCY_SYMBOLS: dict[str, str] = SHARED["currency_symbols"]
VULGAR: dict[str, tuple[int, int]] = {k: tuple(v) for k, v in SHARED["vulgar_fractions"].items()}


@dataclass(frozen=True, eq=False)
class Lang:
    """One voice language's tables and code (en-us and en-gb share a family)."""

    key: str
    """en-us, en-gb, es, fr, it, pt, hi"""
    family: str
    n2w: str | None
    """num2words language code (None: the language module reads numbers)."""
    code: ModuleType = field(repr=False)
    data: dict[str, Any] = field(repr=False)

    @property
    def w(self) -> dict[str, str]:
        """Connective words: point, minus, to, and, at, dot..."""
        return self.data["words"]

    @property
    def months(self) -> list[str]:
        return self.data["months"]

    @property
    def currencies(self) -> dict[str, list[str]]:
        """ISO code -> (singular, plural, sub-unit singular, sub-unit plural); "f:" = feminine."""
        return self.data["currencies"]

    def unit(self, written: str) -> str | None:
        """ "singular|plural" for a written unit ("f:" = feminine noun), None if unknown here."""
        return self.data["units"].get(UNIT_CANONICAL.get(written, written))

    @property
    def abbreviations(self) -> tuple[tuple[re.Pattern[str], str, bool], ...]:
        return _abbreviations(self.family)

    @property
    def fractions(self) -> dict[str, list[str]]:
        """Denominator -> (singular, plural) where it is not the ordinal."""
        return self.data.get("fractions", {})

    @property
    def phones(self) -> tuple[re.Pattern[str], ...]:
        return _phones(self.family)

    def hook(self, name: str, default):
        """The function `name` defined in the language's module, else the shared `default`."""
        own = getattr(self.code, name, None)
        return own if getattr(own, "__module__", None) == self.code.__name__ else default


@cache
def _abbreviations(family: str) -> tuple[tuple[re.Pattern[str], str, bool], ...]:
    """(pattern, replacement, may end a sentence) from the language's table."""
    return tuple((re.compile(p), word, may_end) for p, word, may_end in table(family)["abbreviations"])


@cache
def _phones(family: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in table(family)["phone_patterns"])


@cache
def _lang(key: str, family: str, n2w: str | None) -> Lang:
    module = importlib.import_module(f"{__package__}.{family}")
    return Lang(key, family, n2w, module, table(family))


def resolve(lang: str) -> Lang | None:
    """Map a voice language ("en-us", "pt-br", "fr-fr", "es_ES"...) to its tables.

    Anything else (ja, zh, unknown) gets None: only language-neutral cleanup.
    """
    code = (lang or "").strip().lower().replace("_", "-")
    if code in ("en-gb", "en-uk") or code.startswith(("en-gb-", "en-uk-")):
        return _lang("en-gb", "en", "en")
    base = code.split("-")[0]
    if base == "en":
        return _lang("en-us", "en", "en")
    n2w = {"es": "es", "fr": "fr", "it": "it", "pt": "pt_BR", "hi": None}
    return _lang(base, base, n2w[base]) if base in n2w else None
