"""Text -> Kokoro phonemes, per language.

Kokoro was trained on misaki's phoneme set, so each language gets the
closest offline source of those phonemes:

* English: Kokoro's own lexicons (english.py, misaki's data files), with
  espeak-ng for words outside them, its IPA mapped onto Kokoro's symbols
  by misaki's fallback table;
* Japanese: OpenJTalk readings romanised as misaki does (japanese.py);
* Mandarin: misaki's zh G2P (jieba + pypinyin);
* everything else: espeak-ng (bundled by `espeakng-loader`, so users need
  no system install), tied diphthongs mapped to single letters (a^ɪ -> I)
  and affricates to ligatures (t^ʃ -> ʧ), as misaki's EspeakG2P does.

espeak-ng keeps process-global state, so every call goes through one lock.
Punctuation is kept: the model uses it for prosody, and the segmenter uses it
to find sentence and clause boundaries.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .vocab import PUNCTUATION, known

_LOGGER = logging.getLogger(__name__)

# espeak-ng API constants (speak_lib.h).
_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_CHARS_UTF8 = 1
_TIE = "^"
# bit 1: IPA; bit 7: join multi-letter phonemes with the tie in bits 8-23.
_PHONEME_MODE = 0x02 | 0x80 | (ord(_TIE) << 8)

# Tied espeak sequences -> Kokoro symbols, for every language (misaki EspeakG2P).
_GENERIC_MAP = {
    "a^ɪ": "I", "a^ʊ": "W", "d^z": "ʣ", "d^ʒ": "ʤ", "e^ɪ": "A", "o^ʊ": "O",
    "ə^ʊ": "Q", "s^s": "S", "t^s": "ʦ", "t^ʃ": "ʧ", "ɔ^ɪ": "Y",
    "ɫ": "l", "ʑ": "ʒ", "ʍ": "w", "g": "ɡ",  # not in Kokoro's set: the nearest sound that is
}
# English needs more: Kokoro's English set has no r, x, ɚ... This is
# misaki's EspeakFallback table (longest first), plus the two fixes below.
_ENGLISH_MAP = {
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn", "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A",
    "t^ʃ": "ʧ", "ɔ^ɪ": "Y", "ə^l": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚɹ": "əɹ", "ɚ": "əɹ",
    "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "ɫ": "l", "ʍ": "w", "ʑ": "ʒ", "g": "ɡ", "\u0303": "", "-": "",
}
"""'ɚɹ' -> 'əɹ': espeak writes 'around' as ɚɹˈaʊnd, and mapping ɚ alone gave
əɹɹ. 'ʔn̩' -> 'ʔn' ('certain' sˈɜɹʔn, as the lexicon has it) before the
syllabic mark turns it into a second ᵊ."""
def _ordered(table: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(table.items(), key=lambda kv: -len(kv[0]))


_GENERIC = _ordered(_GENERIC_MAP)
_ENGLISH = _ordered(_ENGLISH_MAP)
_BRITISH = _ordered({"e^ə": "ɛː", "i^ə": "ɪə", "iə": "ɪə", "u^ə": "ʊə", "ə^ʊ": "Q", "æ": "a"})
"""en-gb, applied before the shared table: that rewrites 'e' to 'A' and so
left 'e^ə' unmatched ('there' came out as ðAə, 'here' as hiə). The RP voice
writes TRAP as æ where Kokoro's British lexicon has a."""
_HAPPY = re.compile(r"(?<!\^)ɪ(?=\s|$)")
"""...and a word-final ɪ (happy, city) where the lexicon has i."""
_FINAL_SCHWA_N = re.compile(r"(?<=[^aeiouæɑɒɔəɛɜɪʊʌAIOQWYˈˌ\s])ən(?=\s|$)")
"""en-gb: a word-final unstressed -ən after a consonant (even, seven, eleven)
is the British lexicon's syllabic ᵊn (the American one mostly writes ən)."""
_REDUCED_I = re.compile(r"ᵻ(?![dz](?:\s|$))")
"""en-us: espeak's ᵻ is the lexicon's ə, except in the -ed and -es endings (wanted, boxes)."""
_UNSTRESSED_I = re.compile(r"(?<=[^\sˈˌ^])ɪ(?![\sŋ^ɹaeiouæɑɒɔəɛɜɪʊʌAIOQWYᵻ]|$)")
"""en-us: an unstressed ɪ inside a word (because, office, market) is the lexicon's ə;
not first or last in the word, not before ŋ (-ing), ɹ or a vowel."""
_BRITISH_VOICE = "en-gb-x-rp"
"""espeak-ng's plain en-gb has a short BATH vowel (bˈaθ, ˈaftə); its RP voice
has the lexicon's ɑː (bˈɑːθ)."""
_LANG_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")
_SYLLABIC = re.compile(r"(\S)\u0329")
_PUNCT_SPLIT = re.compile(rf"((?:(?!(?<=\w)\.(?=\w))[{re.escape(PUNCTUATION)}])+)")
"""Runs of punctuation; a dot between two letters or digits ('U.S', '2.5')
belongs to its word, so it is neither a pause nor a sentence end."""
_SPACES = re.compile(r"\s+")
# Written punctuation that has a spoken equivalent in Kokoro's set.
_TEXT_PUNCT = str.maketrans({"«": "“", "»": "”", "–": "—", "¡": " ", "¿": " ", "‘": "'", "’": "'"})


class G2P(Protocol):
    """Anything that turns one language's text into Kokoro phonemes."""

    name: str

    def __call__(self, text: str) -> str: ...


class Espeak:
    """The bundled libespeak-ng, called through ctypes.

    ctypes rather than `phonemizer`: we need three C calls, and the wrapper
    would add a dependency chain (segments, joblib, dlinfo) for nothing.
    """

    _instance: Espeak | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        if self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0) <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise with data at {data!r}")
        self._lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._voices = self._list_voices()
        self._current: str | None = None
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> Espeak:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _list_voices(self) -> dict[str, str]:
        """Language code -> voice identifier (SetVoiceByName needs the latter)."""

        class _Voice(ctypes.Structure):
            _fields_ = [
                ("name", ctypes.c_char_p), ("languages", ctypes.c_char_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int),
                ("spare", ctypes.c_void_p),
            ]

        self._lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        voices = self._lib.espeak_ListVoices(None)
        found: dict[str, str] = {}
        index = 0
        while voices[index]:
            voice = voices[index].contents
            # `languages` is a list of (priority byte, name, NUL) entries.
            language = voice.languages[1:].decode(errors="replace")
            found.setdefault(language, voice.identifier.decode())
            index += 1
        return found

    def has_language(self, language: str) -> bool:
        return language in self._voices

    def phonemes(self, text: str, language: str) -> str:
        """IPA for `text` with ties; clauses joined by spaces. Takes the lock."""
        if language not in self._voices:
            raise ValueError(f"espeak-ng has no voice for language {language!r}")
        with self.lock:
            if self._current != language:
                if self._lib.espeak_SetVoiceByName(self._voices[language].encode()) != 0:
                    raise RuntimeError(f"espeak-ng could not select {language!r}")
                self._current = language
            buffer = ctypes.c_char_p(text.replace("\0", " ").encode("utf-8", errors="replace"))
            pointer = ctypes.pointer(buffer)
            parts = []
            while pointer.contents.value:
                result = self._lib.espeak_TextToPhonemes(pointer, _CHARS_UTF8, _PHONEME_MODE)
                if result:
                    parts.append(result.decode("utf-8", errors="replace"))
        return " ".join(p.strip() for p in parts if p.strip())


def _apply(table: list[tuple[str, str]], phonemes: str) -> str:
    for old, new in table:
        phonemes = phonemes.replace(old, new)
    return phonemes


@dataclass
class EspeakG2P:
    """espeak-ng for one language, mapped onto Kokoro's symbols."""

    language: str
    name: str = "espeak-ng"

    def __post_init__(self) -> None:
        self._espeak = Espeak.get()
        self._english = self.language.startswith("en")
        self._british = self.language == "en-gb"
        self._voice = _BRITISH_VOICE if self._british and self._espeak.has_language(_BRITISH_VOICE) else self.language

    def words(self, text: str) -> str:
        """Phonemes of text that holds no punctuation."""
        raw = _LANG_FLAG.sub("", self._espeak.phonemes(text, self._voice))
        if not self._english:  # espeak's "-" marks and the syllabic/dental diacritics: not in Kokoro's set
            return _apply(_GENERIC, raw).replace(_TIE, "").replace("-", "").replace("\u0329", "").replace(
                "\u032a", "")
        if self._british:
            raw = _HAPPY.sub("i", _apply(_BRITISH, raw))
        ps = _apply(_ENGLISH, raw)
        ps = _SYLLABIC.sub(r"ᵊ\1", ps).replace("\u0329", "")
        if self._british:
            ps = _FINAL_SCHWA_N.sub("ᵊn", ps)
        else:
            ps = _UNSTRESSED_I.sub("ə", _REDUCED_I.sub("ə", ps))
        if not self._british:
            ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ")
            ps = ps.replace("ɪə", "iə").replace("ː", "")
        return ps.replace(_TIE, "").replace("o", "ɔ")

    def __call__(self, text: str) -> str:
        return join_with_punctuation(text, self.words)


def join_with_punctuation(text: str, words: Callable[[str], str]) -> str:
    """Phonemise the runs between punctuation marks and keep the marks.

    espeak drops punctuation, but Kokoro reads it (a comma is a short pause,
    a question mark a rising tone), so runs are phonemised separately and the
    marks put back where they were: 'Hi, you.' -> 'hˈI, jˈu.'
    """
    out: list[str] = []
    in_quote = False
    for piece in _PUNCT_SPLIT.split(text.translate(_TEXT_PUNCT)):
        if not piece.strip():
            continue
        if _PUNCT_SPLIT.fullmatch(piece):
            marks = piece.strip()
            opening = marks[0] in "(“" or (marks[0] == '"' and not in_quote)
            in_quote ^= marks.count('"') % 2 == 1
            if out and not opening:
                out[-1] = out[-1].rstrip() + marks + " "
            else:
                out.append(marks if opening else marks + " ")
            continue
        phonemes = words(piece.strip())
        if phonemes:
            if out and out[-1] and out[-1][-1] in "(“\"":  # after an opening mark
                out[-1] += phonemes + " "
            else:
                out.append(phonemes + " ")
    return known(_SPACES.sub(" ", "".join(out)).strip())


class LexiconG2P:
    """English: Kokoro's lexicons, espeak-ng for the words they lack."""

    name = "lexicon"

    def __init__(self, language: str) -> None:
        from .english import EnglishG2P

        espeak = EspeakG2P(language)
        self.language = language
        self._english = EnglishG2P(language, espeak.words)

    def words(self, text: str) -> str:
        return self._english.words(text)

    def __call__(self, text: str) -> str:
        return join_with_punctuation(text, self.words)


class _Lazy:
    """A G2P whose libraries load on first use: Japanese (87 MB) and Mandarin
    (130 MB with jieba's dictionary) cost nothing until a voice of theirs speaks."""

    def __init__(self) -> None:
        self._g2p = None
        self._lock = threading.Lock()

    def _load(self):
        raise NotImplementedError

    def __call__(self, text: str) -> str:
        if self._g2p is None:
            with self._lock:
                if self._g2p is None:
                    self._g2p = self._load()
        return known(_SPACES.sub(" ", self._phonemes(text) or "").strip())

    def _phonemes(self, text: str) -> str:
        return self._g2p(text)


_ZH_DEGREES = re.compile(r"\s?(?:[°º]\s?(F)|(℉)|[°º]\s?C|℃|[°º])(?![A-Za-z])")
"""°C/°F: misaki's zh G2P drops the symbol; 度 (degrees), 华氏度 (Fahrenheit)."""


class MandarinG2P(_Lazy):
    """misaki's zh G2P in the version Kokoro v1.0 was trained with (pinyin per jieba word)."""

    name = "misaki (zh)"

    def _load(self):
        import jieba
        from misaki import zh

        jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict..." on every start
        return zh.ZHG2P()

    def _phonemes(self, text: str) -> str:
        return self._g2p(_ZH_DEGREES.sub(lambda m: "华氏度" if m.group(1) or m.group(2) else "度", text))[0]


class JapaneseG2P(_Lazy):
    """OpenJTalk readings romanised as misaki does (japanese.py)."""

    name = "pyopenjtalk + misaki (ja)"

    def _load(self):
        from .japanese import JapaneseG2P as G2P

        return G2P()


OPTIONAL_LANGUAGES = {
    "ja": ("Japanese", "wyoming-kokoro[ja] (pyopenjtalk-plus, jaconv, misaki)"),
    "zh": ("Mandarin Chinese", "wyoming-kokoro[zh] (misaki, jieba, pypinyin, cn2an, ordered-set)"),
}
"""Languages espeak-ng cannot serve for Kokoro, and what they need installed."""
_MODULES = {
    "ja": ("jaconv", "pyopenjtalk", "sudachipy", "misaki"),
    "zh": ("cn2an", "jieba", "pypinyin", "ordered_set", "misaki"),
}

MISAKI_LANGUAGES = tuple(OPTIONAL_LANGUAGES)

_cache: dict[str, G2P] = {}
_cache_lock = threading.Lock()


def misaki_available(language: str) -> bool:
    """Whether the G2P Kokoro was trained with can run here for `language`.

    ja and zh: their modules are installed (found, not imported: importing
    them costs 60-90 MB, paid only when such a voice speaks); English:
    misaki's lexicon data.
    """
    if language in _MODULES:
        from importlib.util import find_spec

        try:
            return all(find_spec(module) is not None for module in _MODULES[language])
        except (ImportError, ValueError):  # a module set to None, a broken package
            return False
    from .english import available

    return available()


def install_hint(language: str) -> str:
    """What voices of an optional language need installed, in one sentence."""
    if language not in OPTIONAL_LANGUAGES:
        return f"{language} voices cannot be served here"
    label, package = OPTIONAL_LANGUAGES[language]
    return f"{label} voices need {package} installed: pip install '{package.split()[0]}'"


def missing_language(language: str) -> str | None:
    """Why voices of `language` cannot be served here (what to install); None if they can."""
    if language not in OPTIONAL_LANGUAGES or misaki_available(language):
        return None
    return install_hint(language)


def get_g2p(language: str, *, use_misaki: bool = True) -> G2P:
    """The G2P for an espeak-style language code, created once and shared.

    use_misaki: False forces espeak-ng for English (for comparison).
    """
    key = f"{language}:{use_misaki}"
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _create(language, use_misaki)
        return _cache[key]


def _create(language: str, use_misaki: bool) -> G2P:
    if language in OPTIONAL_LANGUAGES:
        reason = missing_language(language)
        if reason:
            raise ValueError(reason)
        g2p: G2P = JapaneseG2P() if language == "ja" else MandarinG2P()
        _LOGGER.info("G2P for %s: %s", language, g2p.name)
        return g2p
    if use_misaki and language.startswith("en"):
        if misaki_available(language):
            _LOGGER.info("G2P for %s: Kokoro's lexicon, espeak-ng for other words", language)
            return LexiconG2P(language)
        _LOGGER.warning("G2P for %s: espeak-ng only; install misaki for Kokoro's own lexicon", language)
        return EspeakG2P(language)
    _LOGGER.info("G2P for %s: espeak-ng", language)
    return EspeakG2P(language)


def phonemize(text: str, language: str) -> str:
    """Phonemes for `text` in Kokoro's symbol set (only known symbols)."""
    return get_g2p(language)(text)
