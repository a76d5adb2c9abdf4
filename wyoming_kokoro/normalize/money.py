"""Money: "$5.30" -> "five dollars and thirty cents", "12,50 €" -> "doce euros con cincuenta céntimos".

Currency names per language are data (data/<family>.json "currencies").
"""

from __future__ import annotations

import re

from .context import Ctx
from .languages import CURRENCY_SYMBOLS, Lang
from .numbers import BIG_SCALE_RE, agree, cardinal, parse_num, say_int, say_number
from .patterns import patterns

_SCALES = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "bn": "billion",
           "B": "billion", "thousand": "thousand", "million": "million", "billion": "billion",
           "trillion": "trillion"}


def _money_words(code: str, num: str, scale: str | None, sign: str, L: Lang) -> str | None:
    sing, plur, sub_sing, sub_plur = L.currencies[code]
    feminine = sing.startswith("f:")
    sing = sing.removeprefix("f:")
    int_str, frac = parse_num(num, L)
    minus = f"{L.w['minus']} " if sign in ("-", "−") else ""
    if scale:  # "$5.3 billion": a scaled amount is a plain number of dollars
        return f"{minus}{say_number(int_str, frac, L)} {_SCALES[scale]} {plur}"
    if frac and (len(frac) > 2 or not sub_sing):
        return f"{minus}{say_number(int_str, frac, L)} {plur}"
    whole = int(int_str or "0")
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole or not cents:
        words = agree(say_int(int_str or "0", L), L, feminine)
        noun = sing if whole == 1 else plur
        if L.w["of"] and BIG_SCALE_RE.fullmatch(words + " ") and not cents:
            of = "d'" if L.family == "fr" and noun[:1] in "aeiouéèh" else f"{L.w['of']} "
            noun = of + noun
        parts.append(f"{words} {noun}")
    if cents:
        cent_words = agree(cardinal(cents, L), L, False)
        parts.append(f"{cent_words} {sub_sing if cents == 1 else sub_plur}")
    return minus + f" {L.w['money_and']} ".join(parts)


def rule_money(text: str, c: Ctx) -> str:
    """$5.30 -> "five dollars and thirty cents"; 12,50 € -> "doce euros con cincuenta céntimos"."""
    assert c.L is not None
    L, P = c.L, patterns(c.L.family)

    def pre(m: re.Match[str]) -> str | None:
        code, scale = CURRENCY_SYMBOLS[m.group("cur")], m.groupdict().get("scale")
        sign = m.group("sign") or ""
        if not m.group("num2"):
            return _money_words(code, m.group("num"), scale, sign, L)
        # "$5-10" / "$5-$10": "five to ten dollars"; with cents, name both amounts
        upper = _money_words(code, m.group("num2"), scale, "", L)
        int_str, frac = parse_num(m.group("num"), L)
        lower = (say_number(int_str, frac, L, sign) if scale or not frac
                 else _money_words(code, m.group("num"), None, sign, L))
        return f"{lower} {L.w['to']} {upper}"

    def post(m: re.Match[str]) -> str | None:
        cur = m.group("cur")
        if cur == "¢":
            int_str, frac = parse_num(m.group("num"), L)
            if frac:
                return None
            sub_sing, sub_plur = L.currencies["USD"][2:]
            noun = sub_sing if int_str.lstrip("0") == "1" else sub_plur
            return f"{say_number(int_str, '', L, m.group('sign') or '')} {noun}"
        return _money_words(CURRENCY_SYMBOLS[cur], m.group("num"), None, m.group("sign") or "", L)

    text = c.sub(P.money_pre, pre, text)
    return c.sub(P.money_post, post, text)
