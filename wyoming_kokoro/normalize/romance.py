"""What Spanish, French, Italian and Portuguese share: nouns have gender.

A number before a noun agrees with it ("una hora", "duas horas",
"veintiún grados"); the noun's gender is guessed from its ending with
each language's exceptions (data/<family>.json: "feminine",
"masculine", "not_nouns").
"""

from __future__ import annotations

from .languages import table


def gender(word: str, family: str) -> bool | None:
    """True feminine, False masculine, None when `word` is not a common noun."""
    data = table(family)["gender"]
    lower = word.lower()
    if not word.isalpha() or word != lower or lower in data["not_nouns"]:
        return None
    if lower in data["feminine"]:
        return True
    if lower in data["masculine"]:
        return False
    if data.get("unknown_is_none"):
        return None
    return lower.endswith(tuple(data["feminine_endings"]))
