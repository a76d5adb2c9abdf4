"""What is said: lexicon, inline phonemes, normalisation reaching the phonemes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wyoming_kokoro.config import ConfigError, validate
from wyoming_kokoro.phonemize import misaki_available, phonemize
from wyoming_kokoro.text import TextPipeline, pipeline_from_config
from wyoming_kokoro.vocab import VOCAB

LEXICON = {"en": {"Kinzleigh": "kˈɪnzli", "Zigbee": "zˈɪɡbi"}, "en-gb": {"HVAC": "ˈAʧvæk"},
           "*": {"Kokoro": "kˈOkəɹO"}}


def test_lexicon_words_any_case_on_word_boundaries():
    pipeline = TextPipeline(lexicon=LEXICON)
    phonemes = pipeline.phonemes("ZIGBEE and zigbee, but not Zigbees.", "en-us")
    assert phonemes.startswith("zˈɪɡbi ænd zˈɪɡbi, bˌʌt")  # punctuation stays with its word
    assert "zˈɪɡbiz." in phonemes  # 'Zigbees' is another word: left to the G2P
    assert "kˈɪnzli" in pipeline.phonemes("Call Kinzleigh now.", "en-us")


def test_lexicon_is_per_language_with_prefixes():
    pipeline = TextPipeline(lexicon=LEXICON)
    assert "ˈAʧvæk" in pipeline.phonemes("The HVAC is on.", "en-gb")
    assert "ˈAʧvæk" not in pipeline.phonemes("The HVAC is on.", "en-us")
    assert "kˈOkəɹO" in pipeline.phonemes("Hola Kokoro.", "es")  # '*' applies everywhere


def test_inline_phonemes_are_spoken_as_given():
    pipeline = TextPipeline()
    phonemes = pipeline.phonemes("[Misaki](/misˈɑki/) is a G2P engine for [Kokoro](/kˈOkəɹO/).", "en-us")
    assert phonemes.startswith("misˈɑki ") and "kˈOkəɹO" in phonemes
    assert "[" not in phonemes and set(phonemes) <= set(VOCAB)


def test_inline_phonemes_drop_symbols_outside_the_vocabulary():
    assert TextPipeline().phonemes("[x](/k§ˈO/)", "en-us") == "kˈO"


def test_normalisation_can_be_switched_off():
    on = TextPipeline().normalized("Battery at 85%", "en-us")
    off = TextPipeline(normalize=False).normalized("Battery at 85%", "en-us")
    partly = TextPipeline(disabled_rules=("percent",)).normalized("Battery at 85%", "en-us")
    assert on == "Battery at eighty-five percent" and off == "Battery at 85%"
    assert "85%" in partly


def test_config_lexicon_file_and_bad_rules(tmp_path):
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("en:\n  Zigbee: zˈɪɡbi\n")
    config = validate({"lexicon": str(lexicon), "normalize": {"disabled_rules": ["emoji"]}})
    assert "zˈɪɡbi" in pipeline_from_config(config).phonemes("Zigbee", "en-us")
    with pytest.raises(ConfigError, match="unknown rule"):
        validate({"normalize": {"disabled_rules": ["nope"]}})
    with pytest.raises(ConfigError, match="lexicon"):
        validate({"lexicon": str(tmp_path / "missing.yaml")})


def _plain(phonemes: str) -> str:
    """Phonemes without stress, spaces and allophones that depend on context."""
    return phonemes.replace("ˈ", "").replace("ˌ", "").replace(" ", "").replace("ɾ", "t").replace("ᵻ", "ɪ")


def _subsequence(needle: str, haystack: str, start: int) -> int:
    """Index after matching `needle` as a subsequence of haystack[start:], or -1."""
    position = start
    for symbol in needle:
        position = haystack.find(symbol, position)
        if position < 0:
            return -1
        position += 1
    return position


@pytest.mark.parametrize("text", [
    "It is 21.5 °C in the living room.",
    "Battery at 85% and the dryer finishes at 3:45 PM.",
    "You used 12.4 kWh today, about $3.50 worth.",
    "**Sure!** Here are the lights: kitchen, hallway and porch.",
    "The meeting is on 2026-11-24 at 15:30 with Dr. Smith.",
])
def test_every_word_reaches_the_phoneme_stream(text):
    pipeline = TextPipeline()
    words = pipeline.normalized(text, "en-us").replace("-", " ").split()
    sentence = _plain(pipeline.phonemes(text, "en-us"))
    position = 0
    for word in words:
        word_phonemes = _plain(phonemize(word.strip(".,:!?*"), "en-us"))
        # Each word's consonants appear in order in the sentence's phonemes.
        consonants = "".join(p for p in word_phonemes if p not in "aeiouæɑɐɒɔəɚɛɜɪʊʌAIOQWYᵊː")
        found = _subsequence(consonants, sentence, position)
        assert found >= 0, (word, consonants, sentence[position:])
        position = found


def test_inspection_tool():
    run = lambda *a: subprocess.run([sys.executable, "-m", "wyoming_kokoro.text", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    only = run("--lang", "en-us", "--normalize-only", "It is 21.5 °C")
    assert only.returncode == 0
    assert only.stdout.strip() == "It is twenty-one point five degrees Celsius"
    full = run("--lang", "es", "Hace 21,5 °C. Vamos a la playa, ¿vale?")
    assert full.returncode == 0
    lines = full.stdout.splitlines()
    assert lines[0] == "normalised: Hace veintiuno coma cinco grados Celsius. Vamos a la playa, ¿vale?"
    assert lines[1].startswith("phonemes:") and lines[2].startswith("tokens:")
    assert any(line.startswith("segment 0:") for line in lines)
    japanese = run("--lang", "ja", "こんにちは")
    if misaki_available("ja"):
        assert japanese.returncode == 0 and "phonemes:   koɲɲiʨiβa" in japanese.stdout
    else:  # one clear line naming what to install
        assert japanese.returncode == 2 and "wyoming-kokoro[ja]" in japanese.stderr


def test_inspection_tool_reads_a_config_file(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("normalize:\n  disabled_rules: [units]\nlexicon:\n  en: {Kokoro: kˈOkəɹO}\n")
    done = subprocess.run([sys.executable, "-m", "wyoming_kokoro.text", "--config", str(config),
                           "Kokoro at 5 km"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kˈOkəɹO" in done.stdout and "normalised: [Kokoro](/kˈOkəɹO/) at 5 km" in done.stdout
