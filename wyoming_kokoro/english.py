"""English words -> Kokoro phonemes from Kokoro's own lexicons.

Kokoro-82M was trained on the phonemes of misaki's English lexicons
(`us_gold.json`, `us_silver.json`, `gb_gold.json`, `gb_silver.json`,
data files inside the `misaki` package). Looking words up there gives the
model exactly what it learnt; espeak-ng's IPA, mapped onto Kokoro's
symbols, differed from it for a third of everyday words. `misaki.en`
itself cannot be imported without spaCy (a network model download at
start), so the JSON is read here and the lookup rules misaki applies
around it are reimplemented: case variants, possessives and -s/-ed/-ing
stems, hyphenated compounds, acronyms spelt as letters, heteronyms chosen
from the neighbouring words, and the weak forms of "the", "a", "to"...
Words outside the lexicons return None and go to espeak-ng.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import re
import threading
from dataclasses import dataclass

from num2words import num2words

_LOGGER = logging.getLogger(__name__)

PRIMARY, SECONDARY = "ˈ", "ˌ"
VOWELS = frozenset("AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻɐ")
_US_FLAPS = frozenset("AIOWYiuæɑəɛɪɹʊʌ")
"""A t after these is flapped in American -ed/-ing forms (misaki's US_TAUS)."""

# Heteronyms (lexicon values that are dicts keyed by part of speech) are
# chosen from the word before: a spaCy tagger would be better, but these
# few closed word classes decide most everyday cases.
_VERB_BEFORE = frozenset(
    "to will would can could should must might may shall do does did don't doesn't didn't won't wouldn't "
    "can't cannot couldn't shouldn't mustn't let's please i you we they 'll".split()
)
_PAST_BEFORE = frozenset("have has had 've 'd was were been being be is are am get gets got".split())
_THIRD_PERSON = frozenset("he she it who which".split())
"""'he read' is past: the present would be 'he reads'."""
_DETERMINERS = frozenset(
    "the a an this these those my your his her its our their some any no every each another".split()
)
_OBJECT_STARTS = _DETERMINERS | frozenset("it them him me us you up down to with from on off in into all".split())
"""Words after a clause-initial heteronym that make it an imperative verb ("Update to", "Close the")."""


@dataclass(frozen=True)
class Word:
    """One word with what the heteronym and weak-form rules look at."""

    text: str
    before: str | None = None
    """The previous word in the clause, lower case."""
    after: str | None = None
    """The next word in the clause, lower case."""
    alone: bool = True
    """The only word of its request: dictionary form, no weak forms."""


def _tags(word: Word) -> tuple[str, ...]:
    """Part-of-speech keys to try, most likely first."""
    before, after = word.before, word.after
    if before in _PAST_BEFORE:
        return ("VBN", "VBD", "ADJ")
    if before in _THIRD_PERSON:
        return ("VBD", "VERB")
    if before in _VERB_BEFORE:
        return ("VERB",)  # not VBP: misaki's VBP of "read" is the past form
    if before in _DETERMINERS:
        return ("NOUN",)
    if after in _OBJECT_STARTS and before is None:
        return ("VERB",)  # imperative: "Close the door", "Record it"
    return ()


def _lower_stress(phonemes: str) -> str:
    return phonemes.replace(SECONDARY, "").replace(PRIMARY, SECONDARY)


class Lexicon:
    """Gold then silver entries for American or British English."""

    def __init__(self, british: bool) -> None:
        self.british = british
        prefix = "gb" if british else "us"
        self.gold = _load(f"{prefix}_gold.json")
        self.silver = _load(f"{prefix}_silver.json")

    # -- lookups ---------------------------------------------------------

    def entry(self, word: str) -> str | dict | None:
        """The raw entry for `word` or its lower-case / capitalised form."""
        for table in (self.gold, self.silver):
            for form in _case_forms(word):
                value = table.get(form)
                if value is not None:
                    return value
        return None

    def choose(self, value: str | dict | None, word: Word) -> str | None:
        if not isinstance(value, dict):
            return value
        if word.after is None and not word.alone and "None" in value:
            return value["None"]  # stressed form at the end of a clause ("yes, I can.")
        for tag in _tags(word):
            if tag in value:
                return value[tag]
        return value["DEFAULT"]

    def letters(self, word: str) -> str | None:
        """An acronym spelt out ('USB' -> jˌuˌɛsbˈi): stress on the last letter."""
        phonemes = [self.gold.get(c.upper()) for c in word if c.isalnum()]
        if not phonemes or any(not isinstance(p, str) for p in phonemes):
            return None
        joined = _lower_stress("".join(phonemes))
        head, sep, tail = joined.rpartition(SECONDARY)
        return f"{head}{PRIMARY}{tail}" if sep else joined

    def lookup(self, text: str, word: Word) -> str | None:
        """Phonemes for one written word, or None if the lexicons cannot say."""
        if not text:
            return None
        if text.isupper() and len(text) > 1 and text.isalpha():
            value = self.gold.get(text)
            if isinstance(value, dict) and (value.get("NOUN", "") is None or value.get("None", "") is None):
                return self.letters(text)  # "US", "IT", "WHO": in assistant text an acronym
            if value is not None:
                return self.choose(value, word)
            if len(text) <= 4 or self.entry(text.lower()) is None:
                return self.letters(text)
            return self._known(text.lower(), word)
        if "." in text.strip("."):
            pieces = text.strip(".").split(".")
            if all(p.isalpha() and len(p) <= 2 for p in pieces):
                return self.letters("".join(pieces))  # "e.g.", "U.S.", "a.m."
        known = self._known(text, word)
        if known is not None:
            return known
        if "-" in text.strip("-"):
            parts = [self.lookup(part, Word(part, alone=False)) for part in text.strip("-").split("-") if part]
            if parts and all(parts):
                # the last part carries the compound's stress (twˌɛntifˈɔɹ), as in 876 of the
                # lexicon's 965 two-part compounds whose parts it knows
                return "".join([p.replace(PRIMARY, SECONDARY) for p in parts[:-1]] + parts[-1:])
            return None
        if text.isdigit() or re.fullmatch(r"\d+(?:st|nd|rd|th)", text):
            return self._number(text)
        return None

    def _known(self, text: str, word: Word) -> str | None:
        value = self.entry(text)
        if value is not None:
            return self.choose(value, word)
        if text.endswith("s'"):
            stem = self._known(text[:-2], word)
            return self._s(stem) if stem else None
        if text.endswith("'") and len(text) > 1:
            return self._known(text[:-1], word)
        return self._stemmed(text, word)

    def _stemmed(self, text: str, word: Word) -> str | None:
        """-s, -'s, -ed and -ing forms of known stems (misaki's rules)."""
        lower = text.lower()
        if len(lower) >= 3 and lower.endswith("s") and not lower.endswith("ss"):
            for cut, add in ((1, ""), (2, ""), (3, "y")):
                stem = text[:-cut] + add
                if cut == 2 and not (lower.endswith("'s") or (len(lower) > 4 and lower.endswith("es")
                                                              and not lower.endswith("ies"))):
                    continue
                if cut == 3 and not (len(lower) > 4 and lower.endswith("ies")):
                    continue
                value = self.entry(stem)
                if value is not None:
                    return self._s(self.choose(value, Word(stem, alone=False)))
        if len(lower) >= 4 and lower.endswith("d") and not lower.endswith("dd"):
            for cut in (1, 2):
                if cut == 2 and not (len(lower) > 4 and lower.endswith("ed") and not lower.endswith("eed")):
                    continue
                value = self.entry(text[:-cut])
                if value is not None:
                    return self._ed(self.choose(value, Word(text[:-cut], alone=False)))
        if len(lower) >= 5 and lower.endswith("ing"):
            stems = [text[:-3]] if len(lower) > 5 else []
            stems.append(text[:-3] + "e")
            if len(lower) > 5 and re.search(r"([bcdgklmnprstvxz])\1ing$|cking$", lower):
                stems.append(text[:-4])
            for stem in stems:
                value = self.entry(stem)
                if value is not None:
                    return self._ing(self.choose(value, Word(stem, alone=False)))
        return None

    def _s(self, stem: str | None) -> str | None:
        if not stem:
            return None
        if stem[-1] in "ptkfθ":
            return stem + "s"
        if stem[-1] in "szʃʒʧʤ":
            return stem + ("ɪ" if self.british else "ᵻ") + "z"
        return stem + "z"

    def _ed(self, stem: str | None) -> str | None:
        if not stem:
            return None
        if stem[-1] in "pkfθʃsʧ":
            return stem + "t"
        if stem[-1] == "d":
            return stem + ("ɪ" if self.british else "ᵻ") + "d"
        if stem[-1] != "t":
            return stem + "d"
        if self.british or len(stem) < 2:
            return stem + "ɪd"
        if stem[-2] in _US_FLAPS:
            return stem[:-1] + "ɾᵻd"
        return stem + "ᵻd"

    def _ing(self, stem: str | None) -> str | None:
        if not stem:
            return None
        if self.british:
            if stem[-1] in "əː":
                return None
        elif len(stem) > 1 and stem[-1] == "t" and stem[-2] in _US_FLAPS:
            return stem[:-1] + "ɾɪŋ"
        return stem + "ɪŋ"

    def _number(self, text: str) -> str | None:
        """Digits the normaliser left (it normally spells them out)."""
        try:
            if text.isdigit():
                words = num2words(int(text))
            else:
                words = num2words(int(text[:-2]), to="ordinal")
        except (ValueError, OverflowError, NotImplementedError):
            return None
        words = words.replace(",", "").replace(" and ", " ")
        parts = [self.lookup(w, Word(w, alone=False)) for w in words.split()]
        return " ".join(parts) if all(parts) else None


def _case_forms(word: str) -> tuple[str, ...]:
    """misaki's grow_dictionary at lookup time: lower <-> Capitalised."""
    forms = [word]
    if len(word) > 1:
        if word == word.capitalize() and word != word.lower():
            forms.append(word.lower())
        elif word == word.lower() and word != word.capitalize():
            forms.append(word.capitalize())
    return tuple(forms)


def _load(name: str) -> dict:
    from misaki import data  # the package's data directory; no code of misaki runs

    with importlib.resources.files(data).joinpath(name).open(encoding="utf-8") as file:
        return json.load(file)


_lexicons: dict[bool, Lexicon] = {}
_lock = threading.Lock()


def lexicon(british: bool) -> Lexicon:
    """The lexicon for a variety, read once (about 0.3 s and 40 MB each)."""
    with _lock:
        if british not in _lexicons:
            _lexicons[british] = Lexicon(british)
        return _lexicons[british]


def available() -> bool:
    """Whether misaki's lexicon data is installed."""
    try:
        from misaki import data

        return importlib.resources.files(data).joinpath("us_gold.json").is_file()
    except ImportError:
        return False


_NOT_A_NOUN = frozenset(
    "and or is was to of in on at for with vs versus plus minus then are has had will can and/or & - — , .".split())
"""Words that cannot follow the article "A": before them a capital A is the letter."""
_TOKEN = re.compile(r"\S+")
_EDGE = re.compile(r"^[\"'‘’`]+|[\"'‘’`]+$")


def weak_forms(words: list[str], phonemes: list[str | None]) -> list[str | None]:
    """'the', 'a', 'an', 'to', 'I' inside a clause take misaki's weak forms.

    'the' before a vowel sound is ði, else ðə; 'to' is tʊ before a vowel,
    else tə; the article 'a' is ɐ, 'an' ɐn. Decided on the next word's
    phonemes, as misaki does.
    """
    out = list(phonemes)
    for index, word in enumerate(words):
        if index + 1 >= len(words):
            break
        following = phonemes[index + 1] or ""
        first = next((c for c in following if c not in "ˈˌ"), "")
        vowel = first in VOWELS
        lower = word.lower()
        if lower == "the":
            out[index] = "ði" if vowel else "ðə"
        elif lower == "to":
            out[index] = "tʊ" if vowel else "tə"
        elif word == "a" or (word == "A" and words[index + 1].lower() not in _NOT_A_NOUN):
            out[index] = "ɐ"  # the article; "A and B", "A is" keep the letter's name
        elif lower == "an":
            out[index] = "ɐn"
        elif word == "I":
            out[index] = "ˌI"
    return out


class EnglishG2P:
    """English text without punctuation -> phonemes, lexicon first.

    fallback: phonemes for a word the lexicons do not know (espeak-ng).
    """

    name = "lexicon"

    def __init__(self, language: str, fallback) -> None:
        self.language = language
        self.british = language == "en-gb"
        self.lexicon = lexicon(self.british)
        self.fallback = fallback

    def _token(self, text: str) -> str:
        """Quotes around a word are not part of it; an apostrophe is when the
        lexicon has the word with it ('em, 'cause, rock 'n' roll)."""
        text = text.replace("’", "'").replace("‘", "'")
        stripped = _EDGE.sub("", text) or text
        if stripped != text and self.lexicon.entry(text.strip('"`')) is not None:
            return text.strip('"`')
        return stripped

    def words(self, text: str, *, alone: bool | None = None) -> str:
        tokens = [self._token(t) for t in _TOKEN.findall(text)]
        if alone is None:
            alone = len(tokens) == 1
        lowers = [t.lower() for t in tokens]
        found: list[str | None] = []
        for index, token in enumerate(tokens):
            word = Word(token, before=lowers[index - 1] if index else None,
                        after=lowers[index + 1] if index + 1 < len(tokens) else None, alone=alone)
            used = self.lexicon.gold.get("used")
            if lowers[index] == "used" and word.after == "to" and isinstance(used, dict) and "VBD" in used:
                found.append(used["VBD"])  # "used to" is jˈust
            else:
                found.append(self.lexicon.lookup(token, word))
        if not alone:
            found = weak_forms(tokens, found)
        out = []
        for token, phonemes in zip(tokens, found):
            out.append(phonemes if phonemes is not None else self.fallback(token))
        return " ".join(p for p in out if p)
