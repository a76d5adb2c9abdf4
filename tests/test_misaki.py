"""misaki is used when installed: English (espeak-ng fallback), Japanese, Mandarin.

misaki's English needs a spaCy model download, impossible here, so a stand-in
module with misaki's interface checks the wiring: which G2P is chosen, that
espeak-ng serves as its fallback, and that ja/zh voices appear only with it.
"""

from __future__ import annotations

import sys
import types

import pytest

from wyoming_kokoro import phonemize


class _Token:
    def __init__(self, text: str) -> None:
        self.text = text


@pytest.fixture
def fake_misaki(monkeypatch):
    calls = {}

    class EnG2P:
        def __init__(self, trf, british, fallback):
            calls["en"] = {"trf": trf, "british": british}
            self.fallback = fallback

        def __call__(self, text):
            # Known word from the 'dictionary', unknown word through the fallback.
            unknown, _rating = self.fallback(_Token("Zyxwv"))
            return f"hˈɛlO {unknown}.", []

    class JAG2P:
        def __call__(self, text):
            return "koɲɲiʨiwa", []

    package = types.ModuleType("misaki")
    en = types.ModuleType("misaki.en")
    en.G2P = EnG2P
    ja = types.ModuleType("misaki.ja")
    ja.JAG2P = JAG2P
    package.en, package.ja = en, ja
    monkeypatch.setitem(sys.modules, "misaki", package)
    monkeypatch.setitem(sys.modules, "misaki.en", en)
    monkeypatch.setitem(sys.modules, "misaki.ja", ja)
    monkeypatch.setitem(sys.modules, "misaki.zh", None)  # zh extra not installed
    monkeypatch.setattr(phonemize, "_cache", {})
    yield calls


def test_english_uses_misaki_with_espeak_fallback(fake_misaki):
    g2p = phonemize.get_g2p("en-gb")
    assert g2p.name == "misaki"
    assert fake_misaki["en"] == {"trf": False, "british": True}
    phonemes = g2p("Hello Zyxwv")
    fallback = phonemize.EspeakG2P("en-gb").words("Zyxwv")
    assert phonemes == f"hˈɛlO {fallback}." and fallback


def test_japanese_needs_misaki_and_zh_without_its_extra_is_hidden(fake_misaki):
    assert phonemize.misaki_available("ja") and not phonemize.misaki_available("zh")
    assert phonemize.get_g2p("ja")("こんにちは") == "koɲɲiʨiwa"
    with pytest.raises(ValueError, match="misaki"):
        phonemize.get_g2p("zh")


def test_without_misaki_english_runs_on_espeak(monkeypatch):
    monkeypatch.setitem(sys.modules, "misaki", None)
    monkeypatch.setattr(phonemize, "_cache", {})
    assert phonemize.get_g2p("en-us").name == "espeak-ng"
    with pytest.raises(ValueError, match="misaki"):
        phonemize.get_g2p("ja")
