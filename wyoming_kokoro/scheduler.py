"""Earliest-deadline-first queue of model calls, run on worker threads.

Several satellites may speak at once, and the model is the one scarce
resource. Each pending segment carries a deadline: the moment its stream's
already-sent audio runs out (a new stream's first segment: now, the most
urgent). Workers always take the earliest deadline, so a new request is not
stuck behind another stream's paragraph, and a running stream is served
before its buffer empties. Inference never runs on the event loop, so
Describe and other clients are answered while a long text is synthesised.

Jobs whose future was cancelled (the client went away) are dropped when
popped, so no further model work is started for a gone client.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

_LOGGER = logging.getLogger(__name__)


@dataclass(order=True)
class _Job:
    deadline: float
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    future: asyncio.Future = field(compare=False)
    loop: asyncio.AbstractEventLoop = field(compare=False)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Scheduler:
    """A fixed pool of worker threads fed in deadline order."""

    def __init__(self, workers: int = 1) -> None:
        self._heap: list[_Job] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self.busy = 0
        self.completed = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"kokoro-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], Any], deadline: float | None = None) -> asyncio.Future:
        """Queue fn() to run on a worker; await the returned future.

        deadline is on time.monotonic()'s clock; None means now.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        job = _Job(time.monotonic() if deadline is None else deadline, next(self._seq), fn, future, loop)
        with self._cond:
            if self._closed:
                raise RuntimeError("scheduler is closed")
            heapq.heappush(self._heap, job)
            self._cond.notify()
        return future

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(1 for job in self._heap if not job.future.cancelled())

    @property
    def queued(self) -> int:
        """Calls running or waiting (cancelled ones included: cheap, and
        they are dropped at the next pop)."""
        with self._cond:
            return self.busy + len(self._heap)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._closed:
                    self._cond.wait()
                if self._closed and not self._heap:
                    return
                job = heapq.heappop(self._heap)
                if job.future.cancelled():
                    continue
                self.busy += 1
            result, error = None, None
            try:
                result = job.fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting client
                error = exc
            finally:
                with self._cond:
                    self.busy -= 1
                    self.completed += 1
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, result, error)
            except RuntimeError:  # loop closed: nobody is waiting any more
                pass

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking jobs, drop pending ones, wait for running ones."""
        with self._cond:
            self._closed = True
            for job in self._heap:
                job.loop.call_soon_threadsafe(job.future.cancel)
            self._heap.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
