"""Japanese text through our G2P and the real model comes out as Japanese speech.

The real Kokoro int8 model speaks the phonemes of japanese.py with a real
Japanese voice (jf_alpha), and Whisper, told nothing but "Japanese", must
write back most of the sentence. Wrong phonemes (romanisation Kokoro was
not trained on, English read out, or silence) come back as something else.
"""

from __future__ import annotations

import difflib
import unicodedata

import numpy as np
import pytest
from realweights import Ears, kokoro_int8, voices_file

from wyoming_kokoro.chunk import trim
from wyoming_kokoro.infer import KokoroModel
from wyoming_kokoro.text import TextPipeline
from wyoming_kokoro.vocab import tokenize

pytestmark = pytest.mark.realweights
pytest.importorskip("pyopenjtalk", reason="the ja extra is not installed")

SENTENCES = [
    "今日はとても良い天気ですね。",
    "リビングの電気をつけました。",
    "明日の朝七時に起こしてください。",
]


def _kana(text: str) -> str:
    """Compare readings, not spellings: Whisper may write 七時 as 7時 or しちじ."""
    import pyopenjtalk

    text = unicodedata.normalize("NFKC", text)
    nodes = pyopenjtalk.run_frontend(text, use_sudachi_kanji_yomi=False)
    return "".join(node["pron"] for node in nodes if node["pos"] != "記号")


@pytest.fixture(scope="module")
def speak():
    model = KokoroModel(kokoro_int8())
    with np.load(voices_file()) as packs:
        styles = np.asarray(packs["jf_alpha"], dtype=np.float32).reshape(-1, 256)
    pipeline = TextPipeline()

    def run(text: str) -> np.ndarray:
        tokens = tokenize(pipeline.phonemes(text, "ja"))
        return trim(model.run(tokens, styles[len(tokens) - 1:len(tokens)], 1.0))

    return run


@pytest.mark.parametrize("text", SENTENCES)
def test_japanese_text_is_heard_as_japanese(speak, text):
    heard = Ears().transcribe(speak(text), language="ja")
    similarity = difflib.SequenceMatcher(None, _kana(text), _kana(heard)).ratio()
    assert similarity >= 0.6, (text, heard, similarity)
