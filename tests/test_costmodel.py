"""The cost of a model call, learnt from the calls themselves."""

from __future__ import annotations

import asyncio

import pytest
from conftest import make_config, slow_down

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.costmodel import CostModel
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


def test_calls_that_shared_the_cores_teach_the_cost_of_sharing_not_the_solo_cost():
    """Two stand-in streams: 1.9x was assumed for a call sharing the cores with
    one other, 2.0-2.2x measured, and calls sized with no time to spare were
    heard late. Scaling shared calls down by the assumed factor and fitting
    them would have hidden the error in the fit."""
    def alone(n: int) -> float:
        return 0.05 + 0.025 * n

    cost = CostModel([(n, alone(n)) for n in (10, 40, 80)])
    assert cost.slowdown(1) == 1.0 and cost.slowdown(2) == pytest.approx(1.9)
    for _ in range(30):
        for n in (20, 44, 71):
            cost.observe(n, alone(n) * 2.2, running=2.0)
    assert cost.slowdown(2) == pytest.approx(2.2, abs=0.02)
    assert cost.seconds(44) == pytest.approx(alone(44))  # a lone stream is sized as before
    cost.observe(44, alone(44) * 50, running=2.0)  # a stall: one call's lesson is bounded
    assert cost.slowdown(2) < 2.4
    learnt = cost.slowdown(2)
    cost.observe(44, alone(44), running=1.1)  # as good as alone: teaches nothing about sharing
    cost.observe(44, alone(44) * 1.1, running=1.3)  # overlapped briefly: says less than a shared call
    assert learnt - 0.1 < cost.slowdown(2) < learnt


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
