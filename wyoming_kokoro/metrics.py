"""Request metrics for Prometheus, through prometheus_client.

One `Metrics` object lives on the Service and is fed by both front doors
(Wyoming connections and the HTTP API), so a dashboard sees all traffic and
can compare the two. Each Metrics has its own registry (a test builds many
services; the global registry would mix them).

Every synthesis request is counted exactly once, when its outcome is known,
in `kokoro_requests_total{api, outcome}`:

- ok: all its audio was sent;
- rejected: a bad request (HTTP 4xx, a Wyoming `error` event before any
  audio: unknown voice, text too long, malformed event);
- busy: refused for capacity (HTTP 503, Wyoming code `busy`);
- failed: synthesis failed (HTTP 500, or an error after the audio started);
- cancelled: the client went away before the end.

So the error rate is `requests_total{outcome!="ok"} / requests_total` and
can never exceed 1. Time to first audio, real-time factor and audio seconds
are observed for every request that produced audio.

Wyoming requests are followed from the events the connection writes (an
`audio-start` opens one, its `audio-stop` ends it, an `error` outside of
audio is a request refused), plus `wyoming_closed` when the connection ends:
the handler needs no bookkeeping of its own, and a client that vanishes
mid-stream is counted as cancelled at once, never left open.
"""

from __future__ import annotations

import sys
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily

API_WYOMING = "wyoming"
API_HTTP = "http"
APIS = (API_WYOMING, API_HTTP)

OK, REJECTED, BUSY, FAILED, CANCELLED = "ok", "rejected", "busy", "failed", "cancelled"
OUTCOMES = (OK, REJECTED, BUSY, FAILED, CANCELLED)

TTFA_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Seconds: the interesting range is 0.1-1 s (a Pi 5 vs an N100)."""

RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Model seconds per audio second: above 1 the listener hears gaps."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def resident_memory_bytes() -> int:
    """Current RSS, from /proc (where prometheus_client's process collector works)."""
    import os  # noqa: PLC0415

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource  # noqa: PLC0415

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class _MemoryCollector:
    """process_resident_memory_bytes where prometheus_client's own process
    collector has no /proc to read (macOS): the memory limit is what matters."""

    def collect(self):
        yield GaugeMetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                                value=resident_memory_bytes())


class Metrics:
    """Counters and histograms per front door ("wyoming" or "http")."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("kokoro_requests", "Synthesis requests, each counted once by outcome.",
                                ["api", "outcome"], registry=r)
        self.audio_seconds = Counter("kokoro_audio_seconds", "Seconds of audio synthesised.", ["api"], registry=r)
        self.ttfa = Histogram("kokoro_ttfa_seconds", "Time from request to first audio.", ["api"],
                              buckets=TTFA_BUCKETS, registry=r)
        self.rtf = Histogram("kokoro_rtf", "Real-time factor: model seconds per audio second.", ["api"],
                             buckets=RTF_BUCKETS, registry=r)
        self._active = Gauge("kokoro_active_streams", "Syntheses streaming audio now.", ["api"], registry=r)
        self._queued = Gauge("kokoro_queued_segments", "Model calls waiting for a worker.", registry=r)
        self._running = Gauge("kokoro_running_calls", "Model calls running now (busy workers).", registry=r)
        self._waiting = Gauge("kokoro_admission_waiting", "Requests waiting for a synthesis slot.", ["api"],
                              registry=r)
        self._connections = Gauge("kokoro_wyoming_connections", "Open Wyoming connections.", registry=r)
        self._http_connections = Gauge("kokoro_http_connections", "Open HTTP connections.", registry=r)
        for api in APIS:
            for outcome in OUTCOMES:
                self.requests.labels(api, outcome)
            self.audio_seconds.labels(api)
            self.ttfa.labels(api)
            self.rtf.labels(api)
        if sys.platform.startswith("linux"):
            ProcessCollector(registry=r)  # RSS, CPU seconds, open and max file descriptors
        else:
            r.register(_MemoryCollector())
        self.http_streams = 0
        self._wyoming_open: dict[int, bool] = {}
        """id(handler) -> failed, for every Wyoming audio stream between its
        audio-start and its audio-stop (or the end of its connection)."""

    # -- requests -----------------------------------------------------------
    def request(self, api: str, outcome: str) -> None:
        """One request has ended with `outcome`."""
        self.requests.labels(api, outcome).inc()

    def observe(self, api: str, ttfa: float, rtf: float, audio_seconds: float) -> None:
        """Timings of one finished synthesis; NaN ttfa/rtf when it produced no audio."""
        self.audio_seconds.labels(api).inc(audio_seconds)
        if ttfa == ttfa:  # not NaN
            self.ttfa.labels(api).observe(ttfa)
        if rtf == rtf:
            self.rtf.labels(api).observe(rtf)

    # -- Wyoming, from the events a connection writes -------------------------
    def wyoming_event(self, handler: Any, event: Any) -> None:
        """Called for every event a Wyoming connection writes (an Event, or its type)."""
        kind = event if isinstance(event, str) else event.type
        key = id(handler)
        if kind == "audio-start":
            if key in self._wyoming_open:  # a stream left open: it did not end well
                self.request(API_WYOMING, FAILED)
            self._wyoming_open[key] = False
        elif kind == "audio-stop":
            if key in self._wyoming_open:
                self.request(API_WYOMING, FAILED if self._wyoming_open.pop(key) else OK)
        elif kind == "error":
            if key in self._wyoming_open:
                self._wyoming_open[key] = True
            else:
                data = {} if isinstance(event, str) else (event.data or {})
                self.request(API_WYOMING, BUSY if data.get("code") == "busy" else REJECTED)

    def wyoming_closed(self, handler: Any) -> None:
        """The connection ended: a stream still open was cut short."""
        if self._wyoming_open.pop(id(handler), None) is not None:
            self.request(API_WYOMING, CANCELLED)

    def active_streams(self) -> dict[str, int]:
        return {API_WYOMING: len(self._wyoming_open), API_HTTP: self.http_streams}

    # -- exposition -----------------------------------------------------------
    def render(self, *, queued_segments: int, connections: int, http_connections: int = 0,
               waiting: dict[str, int] | None = None, running_calls: int = 0) -> bytes:
        """The whole exposition, with the gauges read now."""
        for api, count in self.active_streams().items():
            self._active.labels(api).set(count)
        for api in APIS:
            self._waiting.labels(api).set((waiting or {}).get(api, 0))
        self._queued.set(queued_segments)
        self._running.set(running_calls)
        self._connections.set(connections)
        self._http_connections.set(http_connections)
        return generate_latest(self.registry)
