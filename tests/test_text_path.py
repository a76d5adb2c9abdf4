"""Phonemisation and segmentation: the text half of the data path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wyoming_kokoro.phonemize import get_g2p, phonemize
from wyoming_kokoro.segment import CLAUSE, SENTENCE, WORD, Segmenter
from wyoming_kokoro.sentences import split_complete
from wyoming_kokoro.vocab import MAX_TOKENS, VOCAB


@pytest.mark.parametrize("language,text,expected", [
    # Kokoro's own symbols: diphthongs as single letters, r as ɹ, flaps, ligatures;
    # English as Kokoro's lexicon writes it, weak forms inside a sentence.
    ("en-us", "Hello world, how are you?", "həlˈO wˈɜɹld, hˌW ɑɹ ju?"),
    ("en-us", "The water bottle.", "ðə wˈɔɾəɹ bˈɑɾəl."),
    ("en-us", "I choose joy!", "ˌI ʧˈuz ʤˈY!"),
    ("en-gb", "Going home.", "ɡˈQɪŋ hˈQm."),
    ("fr-fr", "Bonjour le monde.", "bɔ\u0303ʒˈuʁ lə mˈɔ\u0303d."),
    ("es", "¡Hola! ¿Qué tal?", "ˈola! kˈe tˈal?"),
    ("it", "Ciao mondo.", "ʧˈao mˈondo."),
    ("pt-br", "Olá mundo.", "olˈa mˈu\u0303ŋdʊ."),  # nasal tilde: combining U+0303, id 17
    ("hi", "नमस्ते", "nəmˈʌsteː"),
])
def test_phonemes_in_kokoro_symbols(language, text, expected):
    assert phonemize(text, language) == expected


@given(st.text(max_size=200), st.sampled_from(["en-us", "en-gb", "es", "fr-fr", "it", "pt-br", "hi"]))
@settings(max_examples=150, deadline=None)
def test_g2p_maps_everything_it_says_into_the_vocabulary(text, language):
    """Before the final filter (which drops unknown symbols), the mapped phonemes
    must already be Kokoro's: a symbol outside the table is a sound silently lost."""
    g2p = get_g2p(language)
    mapped = g2p.words(text) if hasattr(g2p, "words") else g2p(text)
    assert set(mapped) <= set(VOCAB), sorted(set(mapped) - set(VOCAB))


def words(phonemes: str) -> list[str]:
    return phonemes.split()


SAMPLE = phonemize(
    "Sure! The kitchen lights are now on, and the thermostat is set to twenty one degrees. "
    "The weather tomorrow looks sunny with a high of twenty five and a low of twelve, so you "
    "might want to open the windows in the morning. Anything else I can help with?", "en-us")


def cut_all(segmenter: Segmenter) -> list:
    out = []
    while (segment := segmenter.next()) is not None:
        out.append(segment)
    return out


def test_segments_join_to_the_input_and_grow():
    segmenter = Segmenter(first_tokens=24, growth=1.5, max_tokens=250)
    segmenter.add(SAMPLE)
    segments = cut_all(segmenter)
    assert " ".join(s.phonemes for s in segments) == " ".join(words(SAMPLE))
    assert segments[0].phonemes == "ʃˈʊɹ!" and segments[0].boundary == SENTENCE
    sizes = [len(s.tokens) for s in segments]
    assert sizes[1] <= 24 * 1.3 and max(sizes) <= 250
    assert all(s.boundary in (SENTENCE, CLAUSE) for s in segments)


def test_first_segment_without_punctuation_is_whole_words_within_budget():
    segmenter = Segmenter(first_tokens=20)
    segmenter.add(phonemize("the quick brown fox jumps over the lazy dog again and again", "en-us"))
    first = segmenter.next()
    assert len(first.tokens) <= 20 and first.boundary == WORD
    rest = cut_all(segmenter)
    assert " ".join([first.phonemes] + [s.phonemes for s in rest]).split() == words(
        phonemize("the quick brown fox jumps over the lazy dog again and again", "en-us"))


def test_a_run_longer_than_the_context_is_sliced_not_dropped():
    segmenter = Segmenter(first_tokens=24, max_tokens=510)
    run = "a" * 1200
    segmenter.add(run + " b.")
    segments = cut_all(segmenter)
    assert all(0 < len(s.tokens) <= MAX_TOKENS for s in segments)
    assert "".join(s.phonemes.replace(" ", "") for s in segments) == run + "b."


@given(st.lists(st.sampled_from(["ab", "cde,", "f.", "ghij", "k?", "lmnopq", "r;"]), max_size=300),
       st.integers(4, 100), st.floats(0.5, 3.0), st.integers(16, 510))
@settings(max_examples=200, deadline=None)
def test_segmenter_never_loses_or_repeats(tokens, first, growth, cap):
    segmenter = Segmenter(first, growth, cap)
    segmenter.add(" ".join(tokens))
    segments = cut_all(segmenter)
    assert [w for s in segments for w in s.phonemes.split()] == tokens
    assert all(len(s.tokens) <= MAX_TOKENS for s in segments)


@pytest.mark.parametrize("text,complete", [
    ("Hello there, how", "Hello there, "),
    ("It is 3.5 degrees", ""),
    ("Call Dr. Smith now. Then", "Call Dr. Smith now. "),
    ("e.g. this", ""),
    ("Done! ", "Done! "),
    ("Quote: \"yes.\" And", "Quote: \"yes.\" "),
])
def test_split_complete(text, complete):
    head, tail = split_complete(text)
    assert head == complete and head + tail == text
