"""Earliest-deadline-first queue of model calls, run on worker threads.

Several satellites may speak at once, and the model is the one scarce
resource. Each pending segment carries a deadline: the moment its stream's
already-sent audio runs out (a new stream's first segment: now, the most
urgent). Workers always take the earliest deadline, so a new request is not
stuck behind another stream's paragraph, and a running stream is served
before its buffer empties. Inference never runs on the event loop, so
Describe and other clients are answered while a long text is synthesised.

Each worker runs calls on the one shared session, and a stream has at most
one call running: with one stream a call has every core, and with two the
calls run side by side and share them. Measured on 2 cores (stand-in fp32,
a session of 2 threads): two 80-token calls side by side took 4.82 s against
5.38 s one after the other, so sharing costs no throughput, while a stream
no longer waits for another stream's whole call before its own can start
(calls cannot be pre-empted). `sharing()` tells a call how many calls it
will share the cores with, `mean_running()` how many it did.

When every worker is busy, a call must also not be so long that a call
waiting behind it finishes after its own stream runs dry. Each job says the
latest moment it may finish and the least it will cost; `room()` tells the
job being started how long it may take (see Utterance, which cuts its later
segments only then, with this knowledge).

Jobs whose future was cancelled (the client went away) are dropped when
popped, so no further model work is started for a gone client.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_LOGGER = logging.getLogger(__name__)


@dataclass(order=True)
class _Job:
    deadline: float
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    future: asyncio.Future = field(compare=False)
    loop: asyncio.AbstractEventLoop = field(compare=False)
    owner: object = field(compare=False, default=None)
    latest: float = field(compare=False, default=float("inf"))
    """The latest moment this call may finish without its listener noticing."""
    floor: float = field(compare=False, default=0.0)
    """The least this call will cost, in seconds."""


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
        self.workers = workers
        self._jobs: list[_Job] = []
        """Waiting jobs, unordered: `_take` picks the earliest one that may run."""
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self._running: set[int] = set()
        """id() of the owners with a call running now (one each at most)."""
        self.busy = 0
        self.completed = 0
        self._area = 0.0
        self._area_at = time.monotonic()
        """Integral of `busy` over time up to _area_at (see mean_running)."""
        self._threads = [
            threading.Thread(target=self._work, name=f"kokoro-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], Any], deadline: float | None = None, *, owner: object = None,
               latest: float | None = None, floor: float = 0.0) -> asyncio.Future:
        """Queue fn() to run on a worker; await the returned future.

        deadline (time.monotonic()'s clock; None: now) orders the queue.
        latest (default: the deadline) and floor describe the call to the
        calls of other owners that may have to wait behind it (`room`).
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        deadline = time.monotonic() if deadline is None else deadline
        job = _Job(deadline, next(self._seq), fn, future, loop, owner,
                   deadline if latest is None else latest, floor)
        with self._cond:
            if self._closed:
                raise RuntimeError("scheduler is closed")
            self._jobs.append(job)
            self._cond.notify()
        return future

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(1 for job in self._jobs if not job.future.cancelled())

    @property
    def queued(self) -> int:
        """Calls running or waiting (cancelled ones included: cheap, and
        they are dropped at the next pop)."""
        with self._cond:
            return self.busy + len(self._jobs)

    def retime(self, owner: object, shift: float) -> None:
        """Move the waiting calls of `owner` later by `shift` seconds (its
        playback started later than their deadlines assumed)."""
        with self._cond:
            for job in self._jobs:
                if job.owner is owner:
                    job.deadline += shift
                    job.latest += shift

    def room(self, owner: object, now: float | None = None) -> float:
        """Seconds a call of `owner` starting now may take before some waiting
        call of another owner, run after it in deadline order at its least
        cost, would finish after its latest moment (inf: nobody waits, or a
        worker is free for them).
        """
        now = time.monotonic() if now is None else now
        with self._cond:
            if self.busy < self.workers:
                return float("inf")
            # A call whose stream has one running waits for that, not for us.
            waiting = sorted(self._waiting_for_a_worker(owner))
        room, before = float("inf"), 0.0
        for job in waiting:
            before += job.floor
            room = min(room, job.latest - now - before)
        return room

    def sharing(self, owner: object, about_to: Iterable[object] = ()) -> int:
        """Calls that a call of `owner` starting now will share the cores
        with, itself included: those running, and those of other owners
        waiting that will start as a worker frees (at most one per worker).

        about_to: other owners with no call submitted yet that are about to
        submit one (a stream with text to cut): counted unless they have a
        call running already.
        """
        with self._cond:
            others = {id(job.owner) for job in self._waiting_for_a_worker(owner)}
            others.update(id(other) for other in about_to)
            others -= self._running
            others.discard(id(owner))
            running = self.busy + (0 if id(owner) in self._running else 1)
            return max(1, min(self.workers, running + len(others)))

    def mark(self) -> tuple[float, float]:
        """A point in time to measure `mean_running` from."""
        with self._cond:
            now = time.monotonic()
            self._account(now)
            return now, self._area

    def mean_running(self, since: tuple[float, float]) -> float:
        """Mean number of calls running since `since` (a `mark()`): how many
        calls shared the cores with one that ran over that time."""
        with self._cond:
            now = time.monotonic()
            self._account(now)
            start, area = since
            return max(1.0, (self._area - area) / (now - start)) if now > start else float(max(1, self.busy))

    def _account(self, now: float) -> None:
        self._area += self.busy * (now - self._area_at)
        self._area_at = now

    def _waiting_for_a_worker(self, owner: object) -> list[_Job]:
        """Live jobs of other owners that will start as soon as a worker is
        free (not those waiting for their own stream's running call)."""
        return [job for job in self._jobs if job.owner is not owner and not job.future.cancelled()
                and id(job.owner) not in self._running]

    def _take(self) -> _Job | None:
        """The earliest-deadline job whose owner has no call running (cancelled
        jobs are dropped on the way); None if every waiting job must wait."""
        self._jobs = [job for job in self._jobs if not job.future.cancelled()]
        ready = [job for job in self._jobs if job.owner is None or id(job.owner) not in self._running]
        if not ready:
            return None
        job = min(ready)
        self._jobs.remove(job)
        return job

    def _work(self) -> None:
        while True:
            with self._cond:
                while (job := None if self._closed else self._take()) is None:
                    if self._closed:  # close() cancelled whatever was waiting
                        return
                    self._cond.wait()
                self._account(time.monotonic())
                self.busy += 1
                if job.owner is not None:
                    self._running.add(id(job.owner))
            result, error = None, None
            try:
                result = job.fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting client
                error = exc
            finally:
                with self._cond:
                    self._account(time.monotonic())
                    self.busy -= 1
                    self.completed += 1
                    self._running.discard(id(job.owner))
                    self._cond.notify_all()  # the owner's next call may start now
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, result, error)
            except RuntimeError:  # loop closed: nobody is waiting any more
                pass

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking jobs, drop pending ones, wait for running ones."""
        with self._cond:
            self._closed = True
            for job in self._jobs:
                job.loop.call_soon_threadsafe(job.future.cancel)
            self._jobs.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
