"""What a model call costs on this machine, learnt from the calls themselves.

Every sizing decision (how long the first segment may be, how much a later
call can afford before a listener hears a gap) needs `seconds = fixed +
per_token x tokens + curve x tokens^2`. Fitted once at warm-up it is wrong for the life of the
server whenever the warm-up ran under load, on a cold cache, or the host's
load changes later (a Home Assistant host is rarely idle): measured, a fit
taken under load clamped the first segment to 6 tokens forever. So every
real call is an observation, and the fit follows the machine as it is now.

The fit is weighted least squares over recent calls, newer calls weighing
more (HALF_LIFE), with the warm-up's timings as the first observations.
Kokoro's cost grows faster than its tokens (stand-in fp32 on 2 cores: 24,
65 and 96 tokens took 0.61, 1.87 and 3.20 s, 25 then 31 then 43 ms per
token more), so a straight line fitted mostly to short calls promised a
65-token clause in 1.75 s that took 2.17 s, and the listener heard the gap;
hence the square term. It needs calls of three lengths and is kept only if
every term comes out non-negative; otherwise a line, and until calls of two
lengths exist or if noise tilts the line (negative slope or intercept), the
cost is taken as proportional to the tokens, which is never far wrong. One
call's outlier (a page fault, a stall) moves the fit by its weight, no more.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable

import numpy as np

HALF_LIFE = 12
"""Calls after which an observation counts half as much."""

WINDOW = 48
"""Observations kept (older ones weigh < 1/16 anyway)."""


class CostModel:
    """Thread-safe: observed on worker threads, read on the event loop.

    Calls that ran alone are fitted (the lone cost). Calls that shared the
    cores with another are mapped onto it: shared = fixed + factor x lone.
    Sharing does not cost one factor: on 2 cores (stand-in fp32, 2 threads
    per call) two 17-token calls side by side took 2.6-3.0x as long as
    alone, two 44-token calls 2.0-2.2x, two 80-token calls 1.8x (short calls
    are many small operators, and four threads on two cores wait for each
    other at each one): hence the fixed part. One factor for all was too
    hopeful for short calls and a listener heard gaps. A fit of shared
    calls of their own was worse: calls of 17-29 tokens gave "966 ms + 18 ms
    per token", which promised a 44-token call in 1.8 s that took 2.9 s.
    Mapped onto the lone cost, whose shape comes from calls of every length,
    and held to the 1.9x prior by PRIOR_WEIGHT, the map stays sane outside
    the lengths it has seen.
    """

    def __init__(self, timings: Iterable[tuple[int, float]] = ()) -> None:
        self._lock = threading.Lock()
        self._calls: deque[tuple[int, float]] = deque(maxlen=WINDOW)
        self._fit: tuple[float, float, float] | None = None
        self._shared: deque[tuple[int, float]] = deque(maxlen=WINDOW)
        self._map: tuple[float, float] = (0.0, slowdown(2.0))
        for tokens, seconds in timings:
            self.observe(tokens, seconds)

    def __bool__(self) -> bool:
        """Anything observed yet (otherwise sizes fall back to token counts)."""
        return self._fit is not None

    def observe(self, tokens: int, seconds: float, running: float = 1.0) -> None:
        """A call of `tokens` took `seconds` while `running` calls (itself
        included, a mean over its time) ran on the same cores. One that
        overlapped another only in part counts as shared, scaled to what
        full sharing would have cost by `slowdown`."""
        if tokens <= 0 or not math.isfinite(seconds) or seconds <= 0 or not math.isfinite(running):
            return
        with self._lock:
            if running < SOLO or self._fit is None:
                self._calls.append((tokens, seconds))
                self._fit = _fit(self._calls)
            else:
                self._shared.append((tokens, seconds * slowdown(2.0) / slowdown(running)))
            if self._shared:
                self._map = _shared_map(self._shared, self._lone)

    def _lone(self, tokens: float) -> float:
        fixed, per_token, square = self.curve
        return fixed + per_token * tokens + square * tokens * tokens

    @property
    def line(self) -> tuple[float, float]:
        """(fixed seconds, seconds per token) of a lone call; (0, 0) before any call."""
        return self.curve[:2]

    @property
    def curve(self) -> tuple[float, float, float]:
        """(fixed seconds, seconds per token, seconds per token squared) of a lone call."""
        return self._fit or (0.0, 0.0, 0.0)

    def _shared_by(self, sharing: float) -> tuple[float, float]:
        """(fixed, factor): a call alongside `sharing` - 1 others takes
        fixed + factor x its lone cost."""
        if sharing < SOLO:
            return 0.0, 1.0
        fixed, factor = self._map
        scale = slowdown(sharing) / slowdown(2.0)
        return fixed * scale, factor * scale

    def seconds(self, tokens: int, sharing: float = 1.0) -> float:
        """What a call of `tokens` takes alongside `sharing` - 1 others."""
        fixed, factor = self._shared_by(sharing)
        return fixed + factor * self._lone(tokens)

    def tokens_for(self, seconds: float, sharing: float = 1.0) -> int | None:
        """Most tokens a call may hold to take at most `seconds` alongside
        `sharing` - 1 others (negative: not even an empty call fits; None:
        unknown, nothing observed)."""
        if self._fit is None or seconds == math.inf:
            return None
        shared_fixed, factor = self._shared_by(sharing)
        seconds = (seconds - shared_fixed) / factor
        fixed, per_token, square = self._fit
        if square <= 0 or seconds <= fixed:
            return int((seconds - fixed) / per_token) if per_token > 0 else -1
        return int((-per_token + math.sqrt(per_token * per_token + 4 * square * (seconds - fixed))) / (2 * square))

    def describe(self) -> str:
        fixed, per_token, square = self.curve
        text = f"{fixed * 1000:.0f} ms + {per_token * 1000:.1f} ms per token + {square * 1e6:.1f} us per token^2"
        if self._shared:
            shared_fixed, factor = self._map
            text += f"; shared by two: {shared_fixed * 1000:.0f} ms + {factor:.2f}x"
        return text


def _shared_map(calls: Iterable[tuple[int, float]], lone) -> tuple[float, float]:
    """(fixed, factor) with shared seconds = fixed + factor x lone seconds:
    the recency-weighted line (_line) through the shared calls, plus the
    prior (no fixed part, slowdown(2)) at a short and a long call's lone
    cost, PRIOR_WEIGHT each. A factor under 1 (sharing never speeds a call
    up) falls back to the weighted ratio of the two, at least 1."""
    calls = list(calls)
    decay = 0.5 ** (1 / HALF_LIFE)
    pairs = [(lone(tokens), seconds) for tokens, seconds in calls]
    weights = [decay ** (len(calls) - 1 - i) for i in range(len(calls))]
    pairs += [(lone(tokens), lone(tokens) * slowdown(2.0)) for tokens in PRIOR_TOKENS]
    weights += [PRIOR_WEIGHT] * len(PRIOR_TOKENS)
    fixed, factor = _line(pairs, weights)
    if factor < 1.0:
        ratio = sum(w * y for w, (_, y) in zip(weights, pairs)) / sum(w * x for w, (x, _) in zip(weights, pairs))
        return 0.0, max(1.0, ratio)
    return fixed, factor


def _fit(calls: Iterable[tuple[int, float]]) -> tuple[float, float, float]:
    """Recency-weighted least squares over the calls that agree, within 3x,
    with the weighted median cost per token: a stall, or a burst of load now
    over, keeps almost no say (OUTLIER_WEIGHT) however long the call was."""
    calls = list(calls)
    decay = 0.5 ** (1 / HALF_LIFE)
    weights = [decay ** (len(calls) - 1 - i) for i in range(len(calls))]
    rate = _weighted_median([y / x for x, y in calls], weights)
    weights = [w * (1.0 if 1 / 3 <= y / (rate * x) <= 3 else OUTLIER_WEIGHT) for w, (x, y) in zip(weights, calls)]
    return _curve(calls, weights)


def _weighted_median(values: list[float], weights: list[float]) -> float:
    pairs = sorted(zip(values, weights))
    half, running = sum(weights) / 2, 0.0
    for value, weight in pairs:
        running += weight
        if running >= half:
            return value
    return pairs[-1][0]


def _curve(calls: list[tuple[int, float]], weights: list[float]) -> tuple[float, float, float]:
    """The weighted least-squares parabola, if calls of three lengths give
    one with no negative term; else the line (_line) with no square term."""
    if len({x for (x, _), w in zip(calls, weights) if w > OUTLIER_WEIGHT}) >= 3:
        root = np.sqrt(np.asarray(weights))
        x = np.asarray([c[0] for c in calls], dtype=float)
        terms = np.stack([np.ones_like(x), x, x * x], axis=1) * root[:, None]
        target = np.asarray([c[1] for c in calls]) * root
        solution, *_ = np.linalg.lstsq(terms, target, rcond=None)
        if np.all(solution >= 0) and solution[1] > 0:
            return float(solution[0]), float(solution[1]), float(solution[2])
    return (*_line(calls, weights), 0.0)


def _line(calls: list[tuple[float, float]], weights: list[float]) -> tuple[float, float]:
    total = sum(weights)
    mean_x = sum(w * x for w, (x, _) in zip(weights, calls)) / total
    mean_y = sum(w * y for w, (_, y) in zip(weights, calls)) / total
    var_x = sum(w * (x - mean_x) ** 2 for w, (x, _) in zip(weights, calls))
    if var_x > 0:
        slope = sum(w * (x - mean_x) * (y - mean_y) for w, (x, y) in zip(weights, calls)) / var_x
        fixed = mean_y - slope * mean_x
        if slope > 0 and fixed >= 0:
            return fixed, slope
    return 0.0, mean_y / mean_x  # proportional: all calls alike, or noise tilted the line


OUTLIER_WEIGHT = 0.05
"""Weight left to a call over 3x off the typical cost per token."""

SHARED_COST = 0.9
"""Extra cost per other call running alongside, before shared calls have
been timed (the prior), and to scale between degrees of sharing: a call
that shares the cores with one other takes 1.9x as long as alone (the
middle of 1.8-3.0x measured, see CostModel). The lone fit is kept apart so
that one busy minute with two streams does not make the next lone stream's
sizing pessimistic."""

SOLO = 1.2
"""A call that ran with fewer calls than this alongside, on average, ran alone."""

PRIOR_TOKENS = (10, 120)
"""Lengths at which the prior (slowdown(2)) anchors the map of shared cost."""

PRIOR_WEIGHT = 1.0
"""Weight of each prior point: as much as the newest shared call."""


def slowdown(sharing: float) -> float:
    """How many times longer a call takes when `sharing` calls (itself
    included) run at once on the same cores, by SHARED_COST."""
    return 1.0 + SHARED_COST * max(0.0, sharing - 1.0)
