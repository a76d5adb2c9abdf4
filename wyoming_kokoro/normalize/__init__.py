"""Turn written text into speakable words before phonemisation.

espeak-ng and the lexicon read what they are given: "21.5 °C" comes out as
a string of digits and symbol names, "$5.30" as "dollar five point three
zero", and a chat model's ``**bold**`` or a table pipe as noise or silence.
Home Assistant answers are full of exactly these things, so before the text
reaches the phonemiser numbers, units, money, dates, times, addresses and
markdown are rewritten into the words a person would say.

The package, by job:

* this module: the ordered pipeline of rules (``RULES``) and ``normalize``;
* shared machinery: context.py (sealing, sanitising, failure reports),
  languages.py (a language's tables and code), numbers.py (number words),
  patterns.py (how numbers are written per language family);
* the rules, one module per kind of token: markup, addresses,
  abbreviations, symbols, money, phone, dates, times, measures (percent,
  units), years, counting (ordinals, fractions, ranges);
* one module per language for what only it does: en, es, fr, it, pt, hi
  (romance.py: what the four Romance languages share);
* the tables as data: data/<family>.json, data/shared.json.

Order matters: specific patterns must claim their digits before general
ones do ("$5.30" before "5.30", a phone number before a range, a date
before a fraction). A disabled rule seals the spans it would have
rewritten so later rules leave them as written. A rule that raises is
logged once and skipped; the other rules still run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from .abbreviations import rule_abbreviations
from .addresses import rule_emails, rule_urls
from .context import Ctx, protect_phonemes, report, sanitize, tidy_spacing
from .counting import rule_fractions, rule_ordinals, rule_ranges
from .dates import rule_date
from .languages import resolve
from .markup import rule_emoji, rule_markdown
from .measures import rule_percent, rule_units
from .money import rule_money
from .phone import rule_phone
from .symbols import rule_numbers, rule_symbols
from .times import rule_time
from .years import rule_years

__all__ = ["RULES", "normalize"]

_PIPELINE: tuple[tuple[str, Callable[[str, Ctx], str], bool], ...] = (
    # (rule name, function, needs a supported language)
    ("emoji", rule_emoji, False),
    ("markdown", rule_markdown, False),
    ("emails", rule_emails, True),
    ("urls", rule_urls, True),
    ("abbreviations", rule_abbreviations, True),
    ("symbols", rule_symbols, True),
    ("money", rule_money, True),
    ("phone", rule_phone, True),
    ("date", rule_date, True),
    ("time", rule_time, True),
    ("percent", rule_percent, True),
    ("units", rule_units, True),
    ("years", rule_years, True),
    ("ordinals", rule_ordinals, True),
    ("fractions", rule_fractions, True),
    ("ranges", rule_ranges, True),
    ("numbers", rule_numbers, True),
)

RULES: tuple[str, ...] = tuple(name for name, _, _ in _PIPELINE)
"""Names of the rules ``normalize(disabled=...)`` accepts, in pipeline order."""

_SKIP_WHEN_DISABLED = frozenset({"emoji", "markdown"})
"""Rules that only delete noise: when off they simply do not run (sealing
their spans would hide the text inside them from every other rule)."""


def normalize(
    text: str,
    lang: str = "en-us",
    *,
    disabled: Collection[str] = (),
    date_order: str | None = None,
) -> str:
    """Rewrite `text` as words a TTS voice can say.

    lang: en-us, en-gb, es, fr-fr, it, pt-br or hi get the full treatment;
    any other language (ja, zh, ...) only markdown/emoji/whitespace cleanup.
    disabled: names from ``RULES``; a disabled rule leaves its tokens as written.
    date_order: "mdy" or "dmy" for ambiguous numeric dates; default mdy for
    en-us, dmy for everything else.

    Never raises; the result is single-spaced and stripped.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    L = resolve(lang if isinstance(lang, str) else "")
    off = frozenset(disabled or ())
    if date_order not in ("mdy", "dmy"):
        date_order = "mdy" if L is not None and L.key == "en-us" else "dmy"
    ctx = Ctx(L, off, date_order)
    work = protect_phonemes(sanitize(text), ctx)
    for name, rule, needs_lang in _PIPELINE:
        if needs_lang and L is None:
            continue
        if name in off:
            if name in _SKIP_WHEN_DISABLED:
                continue
            ctx.sealing = True
        ctx.rule = name
        try:
            work = rule(work, ctx)
        except Exception as error:  # noqa: BLE001 - skip this rule, keep the others
            report(name, error)
        finally:
            ctx.sealing = False
    return ctx.unseal(tidy_spacing(work))
