"""Segment sizing and scheduling: what keeps streams from underrunning."""

from __future__ import annotations

import asyncio
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from wyoming_kokoro.engine import EngineSettings, Utterance
from wyoming_kokoro.scheduler import Scheduler
from wyoming_kokoro.segment import CONTENDED_FIRST, Segmenter


def test_small_first_budget_takes_one_more_word_rather_than_an_article():
    segmenter = Segmenter(first_tokens=6)
    segmenter.add("ðə lˈɪvɪŋ ɹˈum ɪz æt twˈɛnti")
    assert segmenter.next().phonemes == "ðə lˈɪvɪŋ"  # not 'ðə' alone (2 tokens, a syllable of audio)


def test_first_segment_is_longer_when_another_stream_shares_the_model():
    segmenter = Segmenter(first_tokens=20)
    assert segmenter.budget(share=1) == 20
    assert segmenter.budget(share=2) == int(20 * CONTENDED_FIRST)


def test_fit_shrinks_later_segments_but_never_below_first_tokens():
    words = " ".join(["abcd"] * 100)
    alone, shared, starved = Segmenter(10, 2.0, 200), Segmenter(10, 2.0, 200), Segmenter(10, 2.0, 200)
    for segmenter in (alone, shared, starved):
        segmenter.add(words)
        segmenter.next()
    assert len(alone.next(fit=None).tokens) > len(shared.next(fit=12).tokens)
    assert starved.next(fit=0).phonemes == "abcd abcd"  # the most whole words within first_tokens


@given(st.lists(st.sampled_from(["ab", "cde,", "f.", "ghij", "k?", "lmnopq"]), max_size=200),
       st.lists(st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(-50, 300))), min_size=1),
       st.integers(4, 60))
@settings(max_examples=200, deadline=None)
def test_sizing_under_contention_never_loses_or_repeats(tokens, calls, first):
    segmenter = Segmenter(first, 1.5, 200)
    segmenter.add(" ".join(tokens))
    out, index = [], 0
    while (segment := segmenter.next(*calls[index % len(calls)])) is not None:
        out += segment.phonemes.split()
        index += 1
    assert out == tokens


class _Engine:
    """Just what Utterance reads for sizing."""

    def __init__(self, active: int, cost) -> None:
        self.active = active
        self.settings = EngineSettings(first_tokens=10, cost=cost)


class _Voice:
    name = "af_test"


def test_affordable_tokens_leave_room_for_other_streams_calls():
    alone = Utterance(_Engine(1, (0.1, 0.025)), _Voice(), 1.0)
    two = Utterance(_Engine(2, (0.1, 0.025)), _Voice(), 1.0)
    assert alone._affordable_tokens(1.0) == 36  # (1.0 - 0.1) / 0.025
    assert two._affordable_tokens(1.0) == 9  # other stream: up to two calls first -> a third each
    assert Utterance(_Engine(2, None), _Voice(), 1.0)._affordable_tokens(1.0) is None


def test_scheduler_runs_earliest_deadline_first_and_counts_queued_calls():
    async def main() -> list[str]:
        scheduler = Scheduler(1)
        gate = threading.Event()
        order: list[str] = []
        blocker = scheduler.submit(gate.wait)
        now = time.monotonic()
        futures = [scheduler.submit(lambda name=name: order.append(name), now + delay)
                   for name, delay in (("late", 5.0), ("soon", 1.0), ("new stream", 0.0))]
        await asyncio.sleep(0.05)
        assert scheduler.queued == 4  # one running, three waiting
        gate.set()
        await asyncio.gather(blocker, *futures)
        assert scheduler.queued == 0
        scheduler.close()
        return order

    assert asyncio.run(main()) == ["new stream", "soon", "late"]
