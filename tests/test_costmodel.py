"""The cost of a model call, learnt from the calls themselves."""

from __future__ import annotations

import asyncio

import pytest
from conftest import make_config, slow_down

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.costmodel import CostModel, slowdown
from wyoming_kokoro.segment import CLAUSE, SENTENCE


def test_a_line_through_calls_of_different_lengths():
    cost = CostModel([(10, 0.35), (50, 1.35), (30, 0.85)])
    assert cost.line == pytest.approx((0.1, 0.025))
    assert cost.tokens_for(0.6) == 20
    assert CostModel().tokens_for(1.0) is None and not CostModel()


def test_a_cost_that_grows_faster_than_the_tokens_is_followed():
    """Kokoro's cost is superlinear (stand-in, 2 cores: 24 / 65 / 96 tokens in
    0.61 / 1.87 / 3.20 s); a line fitted mostly to short calls promised long
    clauses too soon, and the listener heard the gap."""
    def kokoro(n: int) -> float:
        return 0.1 + 0.017 * n + 0.00017 * n * n

    cost = CostModel([(n, kokoro(n)) for n in (8, 24, 96, 24, 30, 27)])
    assert cost.curve == pytest.approx((0.1, 0.017, 0.00017))
    assert cost.seconds(150) == pytest.approx(kokoro(150))
    assert cost.tokens_for(kokoro(65)) == 65
    line = CostModel([(n, kokoro(n)) for n in (8, 24)])  # two short lengths: a line, too hopeful
    assert line.curve[2] == 0 and line.seconds(65) < kokoro(65)


def test_a_warm_up_taken_under_load_is_forgotten_once_the_machine_is_quiet():
    """Warmed up while the host was busy, the fit said 250 ms a token, and
    the first segment was clamped to a syllable for the life of the server."""
    cost = CostModel([(8, 2.0), (24, 6.0), (96, 24.0)])
    assert cost.tokens_for(0.5) <= 2
    for _ in range(4):
        for tokens in (20, 60, 140):
            cost.observe(tokens, 0.05 + 0.02 * tokens)
    fixed, per_token = cost.line
    assert per_token == pytest.approx(0.02, rel=0.25) and fixed < 0.2
    assert cost.tokens_for(0.5) >= 18


def test_calls_that_shared_the_cores_have_a_cost_of_their_own():
    """Sharing the cores does not cost a fixed factor (stand-in, 2 cores: two
    17-token calls side by side 2.6-3.0x, two 44-token calls 2.0-2.2x, two
    80-token calls 1.8x); one factor for all, 1.9x, sized short calls with
    no time to spare and the listener heard gaps."""
    def alone(n: int) -> float:
        return 0.1 + 0.025 * n

    def shared(n: int) -> float:  # short calls suffer most: 0.32 s + 1.8x alone
        return 0.5 + 0.045 * n

    cost = CostModel([(n, alone(n)) for n in (10, 40, 80)])
    assert cost.seconds(40, 2) == pytest.approx(1.9 * alone(40))  # nothing shared timed yet: the prior
    for _ in range(8):
        for n in (17, 44, 80, 30):
            cost.observe(n, shared(n), running=2.0)
    cost.observe(60, shared(60) * slowdown(1.5) / slowdown(2.0), running=1.5)  # overlapped half the time
    for n in (17, 44, 80, 150):
        assert cost.seconds(n, 2) == pytest.approx(shared(n), rel=0.05)
    assert abs(cost.tokens_for(shared(44), 2) - 44) <= 2
    assert cost.seconds(44) == pytest.approx(alone(44))  # a lone stream is sized as before
    assert cost.tokens_for(alone(44)) in (44, 45)  # (float rounding of the fit)
    assert cost.seconds(44, 3) == pytest.approx(cost.seconds(44, 2) * slowdown(3) / slowdown(2))


def test_a_few_shared_calls_of_one_length_do_not_make_long_calls_look_cheap():
    """Calls of 17-29 tokens alone once gave a shared cost of 966 ms + 18 ms
    per token, which promised a 44-token call in 1.8 s that took 2.9 s."""
    def alone(n: int) -> float:
        return 0.05 + 0.03 * n

    cost = CostModel([(n, alone(n)) for n in (10, 40, 80)])
    for n, seconds in ((17, 1.25), (20, 1.30), (20, 1.25), (29, 1.32)):  # flat by noise
        cost.observe(n, seconds, running=2.0)
    assert cost.seconds(44, 2) >= 1.8 * alone(44)
    assert cost.seconds(100, 2) >= 1.8 * alone(100)


def test_noise_never_gives_a_negative_or_free_call():
    cost = CostModel([(20, 0.5), (21, 0.2)])  # more tokens, less time: noise
    fixed, per_token = cost.line
    assert fixed >= 0 and per_token > 0
    cost.observe(0, 1.0)
    cost.observe(10, float("nan"))
    assert cost.line == (fixed, per_token)  # nonsense observations are ignored


async def _segments(service, text: str) -> list:
    engine = service.engine
    seen = []
    real = engine.infer

    def infer(segment, voice, speed):
        seen.append(segment)
        return real(segment, voice, speed)

    engine.infer = infer
    utterance = engine.utterance(engine.voices["af_heart"], 1.0)
    await utterance.add_text(text, streamed=False)
    await utterance.finish()
    async for _ in utterance.audio():
        pass
    return seen


PARAGRAPH = ("Tomorrow looks mostly sunny with a high of twenty four degrees and a light breeze from the west. "
             "Rain is unlikely until the evening, when clouds move in from the coast. If you are planning to hang "
             "the washing out, the morning is your best window, and you might want to close the skylight before "
             "you go to bed tonight.")


def test_a_slow_machine_makes_fewer_longer_calls_not_more_shorter_ones(model_dir):
    """Falling behind used to make it worse: a late stream was cut at the
    floor, 36-51 calls for a paragraph where peers made 3, and 43 % longer
    audio. Now a late stream catches up with long calls ending on
    punctuation, and the machine's cost is learnt as it serves."""
    quick = build_service(make_config(model_dir, warmup=True))
    slow = build_service(make_config(model_dir, warmup=True))
    slow_down(slow, 0.03)  # 3x slower than the audio it makes (the tiny model gives 10 ms a token)
    for service in (quick, slow):
        asyncio.run(_segments(service, PARAGRAPH))  # the cost model sees real calls
    fast_cuts = asyncio.run(_segments(quick, PARAGRAPH))
    slow_cuts = asyncio.run(_segments(slow, PARAGRAPH))
    clauses = sum(PARAGRAPH.count(mark) for mark in ".,")
    assert len(fast_cuts) <= 3 and len(slow_cuts) <= clauses  # never more calls than clauses
    assert all(s.boundary in (CLAUSE, SENTENCE) for s in slow_cuts[1:])
    assert slow.engine.settings.cost.line[1] > 0.02  # learnt: ~30 ms per token
