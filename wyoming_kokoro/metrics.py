"""Request metrics, rendered in the Prometheus text format.

One `Metrics` object lives on the Service and is fed by both front doors
(Wyoming connections and the HTTP API), so a dashboard sees all traffic and
can compare the two. No prometheus_client dependency: a handful of counters
and two histograms are a few lines, and the format is stable and simple.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

API_WYOMING = "wyoming"
API_HTTP = "http"
APIS = (API_WYOMING, API_HTTP)

TTFA_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Seconds: the interesting range is 0.1-1 s (a Pi 5 vs an N100)."""

RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Model seconds per audio second: above 1 the listener hears gaps."""


@dataclass
class Histogram:
    """A cumulative Prometheus histogram (le buckets, sum, count)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        """Record one value; NaN (no audio, so no TTFA/RTF) is not a value."""
        if math.isnan(value):
            return
        index = bisect_left(self.bounds, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str) -> Iterable[str]:
        running = 0
        for bound, count in zip(self.bounds, self.counts):
            running += count
            yield f'{name}_bucket{{{labels},le="{_number(bound)}"}} {running}'
        yield f'{name}_bucket{{{labels},le="+Inf"}} {self.count}'
        yield f"{name}_sum{{{labels}}} {_number(self.total)}"
        yield f"{name}_count{{{labels}}} {self.count}"


def _number(value: float) -> str:
    """Prometheus float syntax: Python's repr ("0.05", "1.0", "inf" aside)."""
    return repr(float(value))


def resident_memory_bytes() -> int:
    """Current RSS: what the container's memory limit is compared with.

    /proc gives the current value; elsewhere only the peak is known
    (getrusage), which is still the number that matters for sizing.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class Metrics:
    """Counters and histograms per front door ("wyoming" or "http").

    `requests` counts finished syntheses (with or without an error);
    `errors` counts error answers (Wyoming `error` events, HTTP 4xx/5xx).
    """

    def __init__(self) -> None:
        self.requests = dict.fromkeys(APIS, 0)
        self.errors = dict.fromkeys(APIS, 0)
        self.audio_seconds = dict.fromkeys(APIS, 0.0)
        self.ttfa = {api: Histogram(TTFA_BUCKETS) for api in APIS}
        self.rtf = {api: Histogram(RTF_BUCKETS) for api in APIS}
        self.http_streams = 0
        self._wyoming_streams: weakref.WeakSet = weakref.WeakSet()

    def observe(self, api: str, ttfa: float, rtf: float, audio_seconds: float) -> None:
        """One finished synthesis: NaN ttfa/rtf when it produced no audio."""
        self.requests[api] += 1
        self.audio_seconds[api] += audio_seconds
        self.ttfa[api].observe(ttfa)
        self.rtf[api].observe(rtf)

    def error(self, api: str) -> None:
        self.errors[api] += 1

    def wyoming_event(self, handler: Any, event_type: str) -> None:
        """Called for every event a Wyoming connection writes.

        Error events are counted; a connection that starts audio is watched
        (weakly, so a closed connection simply disappears) and counts as an
        active stream while its synthesis task runs. Counting at render time
        means a client that vanishes mid-stream can never leave the gauge
        stuck, unlike paired +1/-1 calls.
        """
        if event_type == "error":
            self.error(API_WYOMING)
        elif event_type == "audio-start":
            self._wyoming_streams.add(handler)

    def active_streams(self) -> dict[str, int]:
        wyoming = sum(1 for handler in list(self._wyoming_streams) if handler._busy())
        return {API_WYOMING: wyoming, API_HTTP: self.http_streams}

    def render(self, *, queued_segments: int, connections: int,
               rss: Callable[[], int] = resident_memory_bytes) -> str:
        """The whole exposition, one metric family after another."""
        out: list[str] = []
        family = _family(out)
        family("kokoro_requests_total", "counter", "Finished synthesis requests.",
               (f'{{api="{api}"}} {n}' for api, n in self.requests.items()))
        family("kokoro_errors_total", "counter", "Requests answered with an error.",
               (f'{{api="{api}"}} {n}' for api, n in self.errors.items()))
        family("kokoro_audio_seconds_total", "counter", "Seconds of audio synthesised.",
               (f'{{api="{api}"}} {_number(s)}' for api, s in self.audio_seconds.items()))
        out += ["# HELP kokoro_ttfa_seconds Time from request to first audio.",
                "# TYPE kokoro_ttfa_seconds histogram"]
        for api, histogram in self.ttfa.items():
            out += histogram.lines("kokoro_ttfa_seconds", f'api="{api}"')
        out += ["# HELP kokoro_rtf Real-time factor: model seconds per audio second.",
                "# TYPE kokoro_rtf histogram"]
        for api, histogram in self.rtf.items():
            out += histogram.lines("kokoro_rtf", f'api="{api}"')
        family("kokoro_active_streams", "gauge", "Syntheses streaming audio now.",
               (f'{{api="{api}"}} {n}' for api, n in self.active_streams().items()))
        family("kokoro_queued_segments", "gauge", "Model calls waiting for a worker.",
               [f" {queued_segments}"])
        family("kokoro_wyoming_connections", "gauge", "Open Wyoming connections.", [f" {connections}"])
        family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [f" {rss()}"])
        return "\n".join(out) + "\n"


def _family(out: list[str]) -> Callable[..., None]:
    def add(name: str, kind: str, help_text: str, samples: Iterable[str]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{sample}" for sample in samples)
    return add
