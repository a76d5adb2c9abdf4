"""Where text is cut before normalisation, and streamed == whole."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wyoming_kokoro.sentences import sentences, split_complete, split_words
from wyoming_kokoro.text import TextPipeline


@pytest.mark.parametrize(("text", "pieces"), [
    ("Hi. How are you? Fine, thanks.", ["Hi. ", "How are you? ", "Fine, ", "thanks."]),
    ("On Dec. 5, 2025 at 7:05 AM we met.", ["On Dec. 5, 2025 at 7:05 AM we met."]),
    ("It costs $3.50 — 50% off.", ["It costs $3.50 — 50% off."]),
    ("from 5 — 10 minutes.", ["from 5 — 10 minutes."]),
    ("Call Dr. Smith, e.g. today. Then go.", ["Call Dr. Smith, ", "e.g. today. ", "Then go."]),
    ("```\nx = 1. y = 2, z\n```\nDone. Ok", ["```\nx = 1. y = 2, z\n```\nDone. ", "Ok"]),
    ("| a. b | c, d |\n|---|---|\n| 1. x | 2 |\nThen. Ok",
     ["| a. b | c, d |\n|---|---|\n| 1. x | 2 |\nThen. ", "Ok"]),
    ("Run `a. b` now. And **this. That** too.", ["Run `a. b` now. ", "And **this. That** too."]),
    ("今日は。明日は、晴れ。", ["今日は。", "明日は、", "晴れ。"]),
])
def test_cuts(text, pieces):
    assert sentences(text) == pieces


@pytest.mark.parametrize(("text", "complete"), [
    ("Hello there, how", "Hello there, "),
    ("Hello there, ", ""),          # a comma's role depends on what follows ("5, 2025")
    ("Done! ", "Done! "),           # a "!" does not
    ("Dec. 5, ", ""),
    ("Dec. 5, 2025. It", "Dec. 5, 2025. "),
    ("```\nprint(1). x", ""),       # a fence still open
])
def test_split_complete_waits_for_what_decides(text, complete):
    head, tail = split_complete(text)
    assert head == complete and head + tail == text


def test_split_complete_is_linear():
    text = "Hello there, how are you. " * 800  # 20,800 characters, 1,600 clause ends
    started = time.perf_counter()
    head, tail = split_complete(text)
    assert time.perf_counter() - started < 0.5 and head + tail == text
    buffer, started = "", time.perf_counter()
    for char in text:  # one character at a time, as the engine scans it
        scanned = len(buffer) - 8
        buffer += char
        _, buffer = split_complete(buffer, scanned)
    assert time.perf_counter() - started < 3


def test_split_words_never_cuts_a_date_or_a_fence():
    assert split_words("Meet me on December 5", 5) == ("Meet me on ", "December 5")
    assert split_words("It costs $3", 3) == ("It costs ", "$3")  # "$3" + ".50" stays whole
    assert split_words("```\nsome code here", 5) == ("", "```\nsome code here")
    assert split_words("short words", 50) == ("", "short words")
    assert split_words("the living room lights", 4) == ("the living room ", "lights")
    assert split_words("the living room lights", 17) == ("", "the living room lights")  # cut before min_chars


def test_split_words_with_phrase_starters_cuts_only_before_one():
    """The words after the cut are still arriving: the cut must be a phrase
    boundary, with at least `min_words` words before it."""
    opens = frozenset({"on", "in", "and"})
    assert split_words("Turned on the kitchen ", 5, before=opens, min_words=3) == ("", "Turned on the kitchen ")
    assert split_words("I have turned on the lights in the ", 10, before=opens, min_words=3) == (
        "I have turned on the lights ", "in the ")
    assert split_words("I have turned on the lights in", 10, before=opens, min_words=3) == (
        "I have turned ", "on the lights in")  # "in" may still be "inside"
    assert split_words("I have turned on the lights in the ", 40, before=opens, min_words=3) == (
        "", "I have turned on the lights in the ")  # not yet longer than a first call may be
    assert split_words("It is set to 21 and on ", 5, before=opens, min_words=3) == (
        "", "It is set to 21 and on ")  # never next to a digit ("21" + ".5")


def test_split_words_costs_constant_time_when_it_cannot_cut():
    text = "1 " * 10_000
    started = time.perf_counter()
    for _ in range(2_000):
        assert split_words(text, 10) == ("", text)
    assert time.perf_counter() - started < 1
    started = time.perf_counter()
    for _ in range(2_000):  # looking for a phrase boundary: no rescan either
        assert split_words(text, 10, before=frozenset({"and"}), min_words=3) == ("", text)
    assert time.perf_counter() - started < 1


def _stream(text: str, splits: list[int]) -> list[str]:
    """What the engine hands the text stage for these fragment boundaries."""
    pieces, buffer, position = [], "", 0
    for cut in sorted(set(splits)) + [len(text)]:
        scanned = len(buffer) - 8
        buffer += text[position:cut]
        position = cut
        complete, buffer = split_complete(buffer, scanned)
        if complete.strip():
            pieces.append(complete)
    if buffer.strip():
        pieces.append(buffer)
    return pieces


_TOKENS = ["It", "costs", "$3.50", "—", "50%", "off", "Dec.", "5,", "2025", "at", "7:05", "AM", "Dr.",
           "Smith", "e.g.", "the", "read", "live", "5", "-", "10", "min", "1h", "30m", "24/7", "v2.5.1",
           ".", ",", "!", "?", ":", "\n", "```", "|", "**", "`", "x = 1.", "A & B", "Call", "555-1234"]


@given(st.lists(st.sampled_from(_TOKENS), max_size=40), st.lists(st.integers(0, 400), max_size=12))
@example([".", "|", ".", "."], [3])  # a piece that starts with '|' is not a table row mid-line
@settings(max_examples=120, deadline=None)
def test_streamed_phonemes_equal_whole_text_phonemes(tokens, splits):
    text = " ".join(tokens)
    pipeline = TextPipeline()
    whole = pipeline.phonemes(text, "en-us").split()
    streamed = [w for piece in _stream(text, [s for s in splits if s < len(text)])
                for w in pipeline.phonemes(piece, "en-us").split()]
    assert streamed == whole


@pytest.mark.parametrize("splits", [[], [3], [2, 4], list(range(1, 20))])
def test_a_line_starts_no_earlier_than_the_last_cut(splits):
    """Streamed, the piece after a cut is all that is seen: '| . .' after
    '. ' may look like a table row. Whole text must cut the same way."""
    text = ". | . . Then | a. b. c"
    assert sentences(text) == [". ", "| . . Then | a. b. c"]  # a row runs to the end of its line
    assert [cut for piece in _stream(text, splits) for cut in sentences(piece)] == sentences(text)
    table = "Hello.\n| a. | b. |\nBye. Now"
    assert sentences(table) == ["Hello.\n", "| a. | b. |\nBye. ", "Now"]


def test_llm_style_fragments_keep_code_and_dates_whole():
    text = "Here is code:\n```python\nx = 1. y = 2\n```\nThe date is Dec. 5, 2025. Bye."
    pipeline = TextPipeline()
    streamed = " ".join(pipeline.phonemes(p, "en-us") for p in _stream(text, list(range(0, len(text), 3))))
    assert streamed.split() == pipeline.phonemes(text, "en-us").split()
    words = pipeline.normalized(text, "en-us")
    assert "equals" not in words and "two thousand twenty-five" not in words
