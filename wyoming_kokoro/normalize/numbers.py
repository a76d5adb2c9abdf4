"""Number words, shared by every rule: cardinals, ordinals, years, digits.

Words come from num2words; a language module may replace any step
(Hindi reads numbers itself, English pairs the digits of years, Spanish
shortens "veintiuno" before "mil") through the hooks named below.
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words as _num2words

from .languages import Lang

_DIGIT_RE = re.compile(r"\d")
BIG_SCALE_RE = re.compile(
    r".*\b(?:millón|millones|billón|billones|million|millions|milliard|milliards|milione|"
    r"milioni|miliardo|miliardi|milhão|milhões|bilhão|bilhões)\b ?"
)
"""Number words up to a large scale: what follows it agrees with the noun, not the scale."""
DOT_THOUSANDS_RE = re.compile(r"\d{1,3}(?:\.\d{3})+")
ROMANCE = frozenset({"es", "fr", "it", "pt"})


def ascii_digits(s: str) -> str:
    """Map any Unicode decimal digit (Devanagari, Arabic-Indic...) to ASCII."""
    return _DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), s)


def tidy(words: str, L: Lang) -> str:
    """Clean num2words output: commas would become pauses."""
    return L.hook("tidy", lambda w, _L: w)(words.replace(",", ""), L)


def cardinal(n: int, L: Lang) -> str:
    own = L.hook("cardinal", None)
    return own(n) if own else tidy(_num2words(n, lang=L.n2w), L)


def ordinal(n: int, L: Lang) -> str:
    own = L.hook("ordinal", None)
    return own(n) if own else tidy(_num2words(n, lang=L.n2w, to="ordinal"), L)


def year(n: int, L: Lang) -> str:
    """A year as said: English pairs its digits, the others read a cardinal."""
    return L.hook("year", cardinal)(n, L)


def digits(s: str, L: Lang) -> str:
    """Digit by digit, for phone numbers, leading zeros and long decimals."""
    return " ".join(cardinal(int(ch), L) for ch in ascii_digits(s) if ch.isdigit())


def say_int(int_str: str, L: Lang) -> str:
    int_str = ascii_digits(int_str)
    if not int_str:
        return cardinal(0, L)
    if (len(int_str) > 1 and int_str[0] == "0") or len(int_str) > 15:
        return digits(int_str, L)
    return cardinal(int(int_str), L)


def say_frac(frac: str, L: Lang) -> str:
    """Decimals after the separator: English reads digits; Romance languages
    read short parts as a number ("tres coma catorce")."""
    frac = ascii_digits(frac)
    if L.family in ROMANCE and len(frac) <= 2 and frac[0] != "0":
        return cardinal(int(frac), L)
    return digits(frac, L)


def say_number(int_str: str, frac: str, L: Lang, sign: str = "") -> str:
    words = say_int(int_str, L)
    if frac:
        words += f" {L.w['point']} {say_frac(frac, L)}"
    if sign in ("-", "−"):
        words = f"{L.w['minus']} {words}"
    elif sign == "+":
        words = f"{L.w['plus']} {words}"
    return words


def agree(words: str, L: Lang, feminine: bool) -> str:
    """Make number words agree with the noun after them ("una hora", "veintiún grados").

    Only the tail after "million" changes: "un millón de libras" keeps "un".
    """
    own = L.hook("agree", None)
    if own is None:
        return words
    head_m = BIG_SCALE_RE.match(words)
    head, tail = (words[: head_m.end()], words[head_m.end():]) if head_m else ("", words)
    return head + own(tail, feminine)


def parse_num(s: str, L: Lang) -> tuple[str, str]:
    """Split a written number into (integer digits, fraction digits) by locale."""
    s = ascii_digits(s)
    s = s.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if L.family in ("en", "hi"):
        int_str, _, frac = s.replace(",", "").partition(".")
        return int_str, frac
    if "," in s:
        int_str, _, frac = s.partition(",")
        return int_str.replace(".", ""), frac
    if DOT_THOUSANDS_RE.fullmatch(s):
        return s.replace(".", ""), ""
    int_str, _, frac = s.partition(".")
    return int_str, frac


def num_value(int_str: str, frac: str) -> float:
    try:
        return float(f"{int(int_str or 0)}.{frac or 0}")
    except (ValueError, OverflowError):
        return 2.0


def is_singular(int_str: str, frac: str, L: Lang) -> bool:
    """French treats anything below two as singular ("1,5 degré")."""
    if L.family == "fr":
        return abs(num_value(int_str, frac)) < 2
    return not frac and int_str.lstrip("0") == "1"


def pluralize_last(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties" (decades)."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x") else "s")
    return f"{head} {last}" if head else last


def noun_gender(word: str, L: Lang) -> bool | None:
    """True for a feminine noun, False for a masculine one, None for no noun
    (a preposition, a name, a number): whether and how "1 hora" agrees."""
    own = L.hook("noun_gender", None)
    return own(word) if own else None
