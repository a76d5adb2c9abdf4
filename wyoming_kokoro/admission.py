"""One admission for every client: a shared limit on concurrent syntheses.

Wyoming satellites and HTTP clients share one model. Once admitted, every
synthesis is equal: its model calls go into the same deadline queue
(scheduler.py) through the same Utterance path. What differs is admission,
and the rule is:

- at most `max_syntheses` syntheses run at once, both doors together;
- HTTP holds at most `http_syntheses` of them, so the model is never
  entirely taken by batch clients and a satellite always finds a slot
  free for it as long as fewer than `max_syntheses - http_syntheses`
  other satellites are speaking;
- when slots are short, waiting Wyoming requests are admitted before
  waiting HTTP ones (a listener is waiting on one; a file download is not);
  each class waits in arrival order;
- an HTTP request waits at most `http_wait` seconds, then gets 503 with
  Retry-After (the OpenAI client retries it).

A satellite's first audio therefore competes with at most `http_syntheses`
HTTP streams, whatever the number of HTTP requests sent: an HTTP flood
delays it by the calls of those few streams (each stream has at most two
calls queued, and each later call is sized so that a waiting first call
still ends by its latest moment; scheduler.room), not by the flood.

`http_syntheses` defaults to the number of model workers less one (at
least one), so a worker stays free for a satellite's first call: HTTP
streams beyond that would not finish sooner (their calls only take turns
on the same workers), but together they fall behind real time, their
calls' deadlines pass, and the deadline queue then serves them before a
new satellite's first call. Measured (tests/test_admission.py, 1 worker, a
20-request flood of paragraphs, model slowed to 4 ms per token): a
satellite's first audio 0.12 s alone; 0.13 s with http_syntheses 1 (the
default), 0.64 s with 2, 1.67 s with 4, 4.60 s with no cap (20).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

API_WYOMING = "wyoming"
API_HTTP = "http"


class AdmissionTimeout(Exception):
    """No slot was free within the wait allowed (HTTP: answered 503)."""


class Admission:
    """Slots for syntheses, shared by the Wyoming and HTTP front doors."""

    def __init__(self, max_syntheses: int = 8, http_syntheses: int = 1, http_wait: float = 60.0) -> None:
        self.max_syntheses = max(1, max_syntheses)
        self.http_syntheses = max(1, min(http_syntheses, self.max_syntheses))
        self.http_wait = http_wait
        self.active = {API_WYOMING: 0, API_HTTP: 0}
        self._waiting: dict[str, deque[asyncio.Future]] = {API_WYOMING: deque(), API_HTTP: deque()}

    def waiting(self) -> dict[str, int]:
        return {api: sum(1 for f in queue if not f.done()) for api, queue in self._waiting.items()}

    def _free(self, api: str) -> bool:
        if sum(self.active.values()) >= self.max_syntheses:
            return False
        return api != API_HTTP or self.active[API_HTTP] < self.http_syntheses

    @contextlib.asynccontextmanager
    async def slot(self, api: str, wait: float | None = None) -> AsyncIterator[None]:
        """Hold a synthesis slot for the body of the `async with`.

        wait: the longest wait for a slot (None: the door's default: HTTP
        http_wait, Wyoming unbounded); AdmissionTimeout when it runs out.
        """
        if wait is None and api == API_HTTP:
            wait = self.http_wait
        await self._acquire(api, wait)
        try:
            yield
        finally:
            self.active[api] -= 1
            self._wake()

    async def _acquire(self, api: str, wait: float | None) -> None:
        if self._free(api) and not self._ahead_of(api):
            self.active[api] += 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting[api].append(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), wait)
        except asyncio.TimeoutError:
            if not future.done():
                future.cancel()
                raise AdmissionTimeout(f"no synthesis slot free within {wait:g} s") from None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted just as we were cancelled: give it back
                self.active[api] -= 1
                self._wake()
            else:
                future.cancel()
            raise
        # granted: _wake counted us as active

    def _ahead_of(self, api: str) -> bool:
        """Someone of the same or a higher class already waits (no overtaking)."""
        classes = (API_WYOMING,) if api == API_WYOMING else (API_WYOMING, API_HTTP)
        return any(not f.done() for c in classes for f in self._waiting[c])

    def _wake(self) -> None:
        """Hand free slots to waiters: Wyoming first, then HTTP, each in order."""
        for api in (API_WYOMING, API_HTTP):
            queue = self._waiting[api]
            while queue:
                if queue[0].done():  # gave up or was cancelled
                    queue.popleft()
                    continue
                if not self._free(api):
                    break
                self.active[api] += 1
                queue.popleft().set_result(None)
