"""The G2P Kokoro was trained with: English lexicon, Japanese, Mandarin.

English words come from misaki's gold/silver lexicon data (no spaCy),
espeak-ng only for words outside it; Japanese from OpenJTalk readings
romanised as misaki does; Mandarin from misaki's zh G2P. Phonemes are
asserted, so a change in any of these shows up here.
"""

from __future__ import annotations

import sys

import pytest

from wyoming_kokoro import phonemize
from wyoming_kokoro.phonemize import EspeakG2P, get_g2p

needs_ja = pytest.mark.skipif(not phonemize.misaki_available("ja"), reason="the ja extra is not installed")
needs_zh = pytest.mark.skipif(not phonemize.misaki_available("zh"), reason="the zh extra is not installed")


def us(text: str) -> str:
    return get_g2p("en-us")(text)


def gb(text: str) -> str:
    return get_g2p("en-gb")(text)


@pytest.mark.parametrize(("text", "phonemes"), [
    ("around", "əɹˈWnd"),            # espeak gave əɹɹˈWnd
    ("certain", "sˈɜɹʔn"),
    ("Hello, world!", "həlˈO, wˈɜɹld!"),
    ("The", "ði"),                    # a word alone: its dictionary form
    ("the apple", "ði ˈæpᵊl"),        # weak forms by the next sound
    ("the car", "ðə kˈɑɹ"),
    ("to eat", "tʊ ˈit"),
    ("a car", "ɐ kˈɑɹ"),
    ("John's cats", "ʤˈɑnz kˈæts"),   # possessive and plural from their stems
    ("don't", "dˈOnt"),
    ("well-known", "wˌɛlnˈOn"),      # compound from its parts, stress on the last
    ("twenty-four", "twˌɛntifˈɔɹ"),
    ("USB", "jˌuˌɛsbˈi"),            # acronym spelt
    ("NASA", "nˈæsə"),                # acronym the lexicon reads as a word
    ("Yes, I can.", "jˈɛs, ˌI kˈæn."),  # stressed form at a clause end
    ("Tell 'em now", "tˈɛl əm nˈW"),  # the lexicon's 'em, not "em"
])
def test_english_words_come_from_kokoros_lexicon(text, phonemes):
    assert us(text) == phonemes


@pytest.mark.parametrize(("text", "phonemes"), [
    ("I want to read it.", "ˌI wˈɑnt tə ɹˈid ɪt."),
    ("He read it.", "hi ɹˈɛd ɪt."),
    ("I have read it.", "ˌI hæv ɹˈɛd ɪt."),
    ("They live here.", "ðA lˈɪv hˈɪɹ."),
    ("a live show", "ɐ lˈIv ʃˈO"),
    ("Close the door.", "klˈOz ðə dˈɔɹ."),
    ("It is close.", "ɪt ɪz klˈOs."),
    ("Record the show.", "ɹəkˈɔɹd ðə ʃˈO."),
    ("the record", "ðə ɹˈɛkəɹd"),
    ("the wind", "ðə wˈɪnd"),
    ("to wind it", "tə wˈInd ɪt"),
    ("We used to live here.", "wi jˈust tə lˈɪv hˈɪɹ."),
    ("the use of it", "ðə jˈus ʌv ɪt"),
])
def test_heteronyms_follow_the_word_before(text, phonemes):
    assert us(text) == phonemes


def test_british_lexicon_and_espeak_fixes():
    assert gb("there here bath") == "ðɛː hˈɪə bˈɑːθ"
    # espeak-ng for a word outside the lexicon, British diphthongs mapped first
    assert EspeakG2P("en-gb").words("here there") == "hˈɪə ðˈɛː"
    assert EspeakG2P("en-us").words("around certain") == "əɹˈWnd sˈɜɹʔn"


def test_unknown_english_word_goes_to_espeak():
    espeak = EspeakG2P("en-us").words("Zyxwv")
    assert espeak and us("hello Zyxwv") == f"həlˈO {espeak}"


def test_dot_inside_a_token_is_not_a_full_stop():
    assert "." not in us("v2.5")
    assert us("The U.S. team") == "ðə jˌuˈɛs. tˈim"


@needs_ja
def test_japanese_offline():
    assert get_g2p("ja")("こんにちは、世界！") == "koɲɲiʨiβa, sekai!"
    assert get_g2p("ja")("東京タワーに行きます。") == "toːkʲoːtaβaː ɲi ikʲimasɨ."
    assert get_g2p("ja")("3時") == "saɲʥi"


@needs_ja
def test_japanese_long_text_is_read_a_sentence_at_a_time():
    phonemes = get_g2p("ja")("今日は良い天気ですね。" * 300)
    assert phonemes.count("teŋkʲi") == 300


@needs_ja
def test_japanese_keeps_the_degrees_unit():
    assert get_g2p("ja")("25°C") == get_g2p("ja")("25度") == "ɲiʥɨː ɡo do"


@needs_zh
def test_mandarin_keeps_the_degrees_unit():
    assert get_g2p("zh")("30℃") == get_g2p("zh")("30度") == "sa→nʂɨ↗tu↘"
    assert get_g2p("zh")("75°F").endswith("xwa↗ʂɨ↘tu↘")


@needs_zh
def test_mandarin():
    assert get_g2p("zh")("你好，我有3个苹果。") == "ni↓xau↓, wo↓ jou↓ sa→nkɤ↘ pʰi↗ŋkwo↓."


def test_missing_language_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyopenjtalk", None)
    monkeypatch.setattr(phonemize, "_cache", {})
    assert not phonemize.misaki_available("ja")
    with pytest.raises(ValueError, match=r"Japanese voices need wyoming-kokoro\[ja\]"):
        phonemize.get_g2p("ja")


def test_without_misaki_english_runs_on_espeak(monkeypatch):
    monkeypatch.setitem(sys.modules, "misaki", None)
    monkeypatch.setattr(phonemize, "_cache", {})
    assert phonemize.get_g2p("en-us").name == "espeak-ng"
    assert not phonemize.misaki_available("zh")
