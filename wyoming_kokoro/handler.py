"""Wyoming events in, Wyoming events out: what Home Assistant relies on.

- describe -> info, answered at once even while this or another client's
  audio is being synthesised (synthesis is a task, never awaited inline).
- synthesize -> exactly one audio-start, chunks, exactly one audio-stop.
- synthesize-start / -chunk* / synthesize (ignored) / -stop -> one
  audio-start, chunks as clauses complete, one audio-stop, then
  synthesize-stopped. One audio format for the whole stream.
- Every audio-start is closed by an audio-stop, whatever ends the audio:
  its end, a failure, text over the limit, a second synthesize-start, a
  client that half-closes, a server shutdown. When audio was cut short an
  `error` event comes first, saying why. Text with nothing to say gives a
  short silence, never an empty stream (Home Assistant cannot play one).
- Replies come in request order: a synthesis, its error, synthesize-stopped
  are written by one chain of jobs per connection.
- Bad requests get an `error` event and the connection keeps working;
  events with empty data and unknown events are ignored, never fatal.
- A connection that makes no progress in either direction is closed: no
  complete event read and no event written for `idle_timeout` (a client
  that opens a stream and goes silent), or one event that cannot be
  written for `write_timeout` (a client that never reads). Its slot is
  freed and its synthesis cancelled.
- When the client goes away its synthesis is cancelled, and with it every
  model call not yet started.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from typing import Any

from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from .engine import Utterance
from .protocol import ProtocolError, read_event
from .replies import Job
from .service import RequestError, Service, request_line

_LOGGER = logging.getLogger(__name__)

LOGGED_REJECTIONS = 5
"""Bad or rejected events logged per connection; the rest are counted."""


class _RefusalLog:
    """Refused connections, logged at most once per `every` seconds: a
    connection storm against a full server must not flood the log."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = -every
        self._quiet = 0

    def log(self, peer: str, reason: str) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._quiet += 1
            return
        more = f" ({self._quiet} more refused since the last message)" if self._quiet else ""
        _LOGGER.warning("Refused %s: %s%s", peer, reason, more)
        self._last, self._quiet = now, 0


_REFUSALS = _RefusalLog()

EVICT_AFTER = 10.0
"""Seconds without progress after which a connection gives up its slot to
a new client when all max_connections are taken."""

MAX_QUEUED_REPLIES = 16
"""Replies (syntheses, errors) a connection may have waiting; past this its
events are not read until one is done."""

CLOSE_GRACE = 1.0
"""Seconds an ending connection may spend writing its last events (error,
audio-stop) before the socket is dropped: a client that does not read must
not hold a shutdown, or its slot, for longer."""


def _text_of(data: dict[str, Any]) -> str:
    text = data.get("text", "")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise RequestError("bad-request", "text must be a string")
    return text


class KokoroEventHandler(AsyncEventHandler):
    """One client connection."""

    def __init__(self, service: Service, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self._stream: Utterance | None = None
        self._stream_job: Job | None = None
        self._stream_chars = 0
        self._rejected_stream = False
        self._jobs: list[Job] = []
        """Unfinished jobs, oldest first; each starts when the one before ends."""
        settings = service.settings
        self.idle_timeout: float | None = settings.idle_timeout
        """None for standard input, which its parent process owns."""
        self.write_timeout: float | None = settings.write_timeout
        self._progress = time.monotonic()
        """When an event was last read completely or written completely."""
        self._dropped = False
        self._rejections = 0
        """Bad or rejected events so far: only the first few are logged."""

    # -- writing ----------------------------------------------------------------
    async def write_event(self, event: Event) -> None:
        """Every event out passes here: counted for /metrics, and bounded in
        time, so a client that stops reading cannot hold its slot."""
        self.service.metrics.wyoming_event(self, event)
        if self.writer.is_closing():
            raise ConnectionResetError("connection closed")
        # A timer, not asyncio.wait_for: on Python < 3.12 wait_for can swallow
        # the cancellation of a job that is aborted while it writes.
        timer = None
        if self.write_timeout is not None:
            timer = asyncio.get_running_loop().call_later(self.write_timeout, self._stalled)
        try:
            await super().write_event(event)
        finally:
            if timer is not None:
                timer.cancel()
        if self._dropped:
            raise ConnectionResetError("client stopped reading")
        self._progress = time.monotonic()

    def _stalled(self) -> None:
        _LOGGER.info("Dropping %s: it read nothing for %.0f s", self._peer(), self.write_timeout)
        self._drop()

    def _drop(self) -> None:
        """Close at once, discarding what the client did not read."""
        self._dropped = True
        self.writer.transport.abort()

    # -- reading ----------------------------------------------------------------
    async def run(self) -> None:
        """Read events with size limits, progress timeouts and admission control.

        Replaces wyoming's loop, which trusts sizes sent by the peer and
        drops the client on the first bad line.
        """
        refusal = self._admission()
        if refusal is not None:
            _REFUSALS.log(self._peer(), refusal.text)
            with contextlib.suppress(ConnectionError, OSError):
                await _within(self.write_event(Error(text=refusal.text, code=refusal.code).event()), CLOSE_GRACE)
            await self._close()
            return
        self.service.connections += 1
        self.service.handlers.add(self)
        try:
            await self._read_loop()
        finally:
            self.service.connections -= 1
            self.service.handlers.discard(self)
            self.service.metrics.wyoming_closed(self)
            if self._rejections > LOGGED_REJECTIONS:
                _LOGGER.info("%d more bad or rejected events from %s were not logged",
                             self._rejections - LOGGED_REJECTIONS, self._peer())
            await self.disconnect()
            await self._close()

    async def _read_loop(self) -> None:
        limits = self.service.settings.limits
        reading: asyncio.Task | None = None
        try:
            while True:
                if reading is None and len(self._jobs) >= MAX_QUEUED_REPLIES:
                    # A client pipelining requests faster than they are spoken
                    # waits (its socket fills) instead of queueing without bound.
                    await asyncio.wait([self._jobs[0].task], timeout=1.0)
                    if not self._stalled_too_long():
                        continue
                    _LOGGER.info("Closing connection from %s: no progress for %.0f s", self._peer(),
                                 self.idle_timeout)
                    await self._end_jobs(RequestError("timeout", f"no progress for {self.idle_timeout:.0f} s"))
                    return
                if reading is None:
                    # One read task per event, never cancelled half-way: a
                    # timeout must not lose the half of a frame already read.
                    reading = asyncio.create_task(read_event(self.reader, limits))
                wait = None if self.idle_timeout is None else self._progress + self.idle_timeout - time.monotonic()
                if wait is not None and wait <= 0:
                    _LOGGER.info("Closing connection from %s: nothing read or written for %.0f s",
                                 self._peer(), self.idle_timeout)
                    await self._end_jobs(RequestError("timeout", f"no progress for {self.idle_timeout:.0f} s"))
                    return
                done, _ = await asyncio.wait({reading}, timeout=wait)
                if not done:
                    continue  # progress may have been made by writes meanwhile
                task, reading = reading, None
                try:
                    event = task.result()
                except ProtocolError as error:
                    self._log_rejected("Bad event from %s: %s", self._peer(), error.text)
                    self._enqueue(Job(error=RequestError(error.code, error.text)))
                    if error.fatal:  # the stream cannot be resynchronised: end every reply, close
                        await self._end_jobs(RequestError(error.code, error.text))
                        return
                    continue
                except (ConnectionError, OSError):
                    raise
                except Exception:  # noqa: BLE001 - whatever it was, this stream cannot be trusted now
                    _LOGGER.exception("Reading from %s failed", self._peer())
                    await self._end_jobs(RequestError("internal", "the connection could not be read"))
                    return
                if event is None:
                    await self._end_jobs(RequestError(
                        "cancelled", "the client closed its side of the connection; synthesis cancelled"))
                    return
                self._progress = time.monotonic()
                if not await self.handle_event(event):
                    return
        except (ConnectionError, OSError):
            return
        finally:
            if reading is not None:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)

    def _stalled_too_long(self) -> bool:
        return self.idle_timeout is not None and time.monotonic() - self._progress > self.idle_timeout

    def _log_rejected(self, message: str, *args: Any) -> None:
        """A client sending a million bad lines must not write a million log lines."""
        self._rejections += 1
        level = logging.INFO if self._rejections <= LOGGED_REJECTIONS else logging.DEBUG
        _LOGGER.log(level, message, *args)

    def _peer(self) -> str:
        peer = self.writer.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) else "local socket"

    def _admission(self) -> RequestError | None:
        """Why this connection must be refused (None: welcome)."""
        settings = self.service.settings
        if self.service.stopping:
            return RequestError("busy", "the server is stopping")
        peer = self.writer.get_extra_info("peername")
        if settings.allowed_clients and isinstance(peer, tuple):
            try:
                address = ipaddress.ip_address(str(peer[0]).split("%")[0])
            except ValueError:
                return RequestError("forbidden", "client address not understood")
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not any(address in network for network in settings.allowed_clients):
                return RequestError("forbidden", f"client {address} is not in allowed_clients")
        if self.service.connections >= settings.max_connections:
            stalest = self._stalest()
            if stalest is None:
                return RequestError("busy", f"server busy: {settings.max_connections} connections open")
            _LOGGER.info("All %d connections taken: closing the one from %s (no progress for %.0f s) "
                         "to admit %s", settings.max_connections, stalest._peer(),
                         time.monotonic() - stalest._progress, self._peer())
            stalest._drop()
        return None

    def _stalest(self) -> KokoroEventHandler | None:
        """The open connection longest without progress, if over EVICT_AFTER:
        clients that stopped reading or sending must not lock out new ones
        (Home Assistant) until their timeouts run out."""
        candidates = [h for h in self.service.handlers if h.idle_timeout is not None and not h._dropped]
        if not candidates:
            return None
        stalest = min(candidates, key=lambda h: h._progress)
        return stalest if time.monotonic() - stalest._progress >= EVICT_AFTER else None

    # -- events -----------------------------------------------------------------
    async def handle_event(self, event: Event) -> bool:
        if not isinstance(event.data, dict):
            event.data = {}
        try:
            await self._dispatch(event)
        except RequestError as error:
            self._log_rejected("Rejected %s: %s", event.type, error.text)
            self._enqueue(Job(error=error))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # noqa: BLE001 - one bad request must not kill the server
            _LOGGER.exception("Failed to handle %s", event.type)
            self._enqueue(Job(error=RequestError("internal", f"internal error: {error}")))
        return True

    async def _dispatch(self, event: Event) -> None:
        if Describe.is_type(event.type):
            await self.write_event(self.service.info_event())
        elif SynthesizeStart.is_type(event.type):
            await self._start_stream(event.data)
        elif SynthesizeChunk.is_type(event.type):
            await self._stream_chunk(event.data)
        elif SynthesizeStop.is_type(event.type):
            await self._stop_stream()
        elif Synthesize.is_type(event.type):
            if self._stream is not None or self._rejected_stream:
                return  # the full text of a stream we already speak: ignore
            await self._synthesize(event.data)
        else:
            _LOGGER.debug("Ignoring unknown event %s", event.type)

    # -- plain ----------------------------------------------------------------
    async def _synthesize(self, data: dict[str, Any]) -> None:
        text = _text_of(data)
        self._check_length(len(text))
        voice = self.service.resolve_voice(data.get("voice"))
        utterance = self.service.engine.utterance(voice, self.service.settings.speed)
        self._enqueue(Job(utterance), text=text)

    # -- streaming ------------------------------------------------------------
    async def _start_stream(self, data: dict[str, Any]) -> None:
        if self._stream is not None:
            # The client abandoned its stream without synthesize-stop: speak
            # what it sent (nothing is lost), close it, then say so.
            job = self._stream_job
            await self._finish_stream()
            if job is not None:
                job.after.append(Error(text="synthesize-start while a stream was open: the open stream was "
                                            "ended as if synthesize-stop had been sent",
                                       code="bad-request").event())
        self._rejected_stream = False
        try:
            voice = self.service.resolve_voice(data.get("voice"))
        except RequestError:
            self._rejected_stream = True  # ignore its chunks; stop ends it quietly
            raise
        self._stream = self.service.engine.utterance(voice, self.service.settings.speed)
        self._stream_chars = 0
        self._stream_job = self._enqueue(Job(self._stream), text=None)

    async def _stream_chunk(self, data: dict[str, Any]) -> None:
        if self._stream is None:
            if not self._rejected_stream:
                _LOGGER.debug("synthesize-chunk outside a stream: ignored")
            return
        text = _text_of(data)
        try:
            self._check_length(self._stream_chars + len(text))
        except RequestError as error:
            self._log_rejected("Rejected synthesize-chunk: %s", error.text)
            if self._stream_job is not None:
                self._stream_job.abort(error)  # it writes the error and closes the audio
            self._stream, self._stream_job = None, None
            self._rejected_stream = True
            return
        self._stream_chars += len(text)
        await self._stream.add_text(text)

    async def _stop_stream(self) -> None:
        if self._stream is None:
            if self._rejected_stream:
                self._rejected_stream = False
            else:
                _LOGGER.debug("synthesize-stop without a stream")
            self._enqueue(Job(after=SynthesizeStopped().event()))
            return
        job = self._stream_job
        await self._finish_stream()
        if job is not None:
            job.after.append(SynthesizeStopped().event())

    async def _finish_stream(self) -> None:
        """No more text for the open stream; its job ends it once spoken."""
        stream = self._stream
        self._stream, self._stream_job = None, None
        if stream is not None:
            await stream.finish()

    # -- jobs -----------------------------------------------------------------
    def _enqueue(self, job: Job, *, text: str | None = None) -> Job:
        """Run a job as a task, after the connection's previous one.

        Never awaited inline: the connection keeps reading events, so a
        disconnect is noticed (and the work cancelled) at once, and describe
        is answered meanwhile. text=None: the text is streamed in separately.
        """
        previous = self._jobs[-1] if self._jobs else None
        self._jobs.append(job)
        job.task = asyncio.create_task(self._run_job(job, previous, text), name="kokoro-speak")
        job.task.add_done_callback(lambda _: self._jobs.remove(job) if job in self._jobs else None)
        return job

    async def _run_job(self, job: Job, previous: Job | None, text: str | None) -> None:
        if previous is not None and previous.task is not None and not previous.task.done():
            await asyncio.gather(previous.task, return_exceptions=True)
        outcome = "done"
        try:
            if job.utterance is not None:
                async with contextlib.AsyncExitStack() as slot:
                    await job.admit(slot, self.service.admission)
                    outcome = await job.speak(text, self.write_event, self.service)
            elif job.reason is not None:
                await self.write_event(Error(text=job.reason.text, code=job.reason.code).event())
            for event in job.after:
                await self.write_event(event)
        except ConnectionError:
            outcome = "cancelled: client went away"
        except asyncio.CancelledError:
            outcome = "cancelled: client went away"
            raise
        finally:
            if job.utterance is not None:
                self._log_request(job, outcome)

    def _log_request(self, job: Job, outcome: str) -> None:
        """One line per request, however it ended."""
        assert job.utterance is not None
        _LOGGER.info("%s", request_line(job.utterance, job.started, outcome))

    def _check_length(self, chars: int) -> None:
        limit = self.service.settings.max_text_chars
        if chars > limit:
            raise RequestError("text-too-long", f"text of {chars} characters is over the limit of {limit}")

    # -- ending -----------------------------------------------------------------
    async def _end_jobs(self, reason: RequestError, grace: float = CLOSE_GRACE) -> None:
        """Abort every reply still due, give them `grace` seconds to write
        their error and audio-stop, then cancel what is left."""
        if self._stream is not None:
            self._stream, self._stream_job = None, None
        jobs = list(self._jobs)
        for job in jobs:
            job.abort(reason)
        tasks = [job.task for job in jobs if job.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()

    async def stop(self) -> None:
        """Server shutdown: every open audio stream ends with an error and
        audio-stop (within CLOSE_GRACE), then the connection closes."""
        await self._end_jobs(RequestError("shutting-down", "the server is stopping"))
        self.reader.feed_eof()
        await self._close()

    async def _close(self) -> None:
        """Close the socket; drop it if the client does not take the last bytes."""
        self.writer.close()
        try:
            closed = await _within(self.writer.wait_closed(), CLOSE_GRACE)
        except (ConnectionError, OSError, NotImplementedError):  # gone; or stdout, which cannot say
            return
        if not closed:
            self._drop()

    async def disconnect(self) -> None:
        """The client went away: cancel its synthesis and pending model calls."""
        self._stream, self._stream_job = None, None
        for job in list(self._jobs):
            if job.task is not None and not job.task.done():
                job.task.cancel()


async def _within(awaitable: Any, seconds: float) -> bool:
    """Await for at most `seconds`; False (and cancelled) if it took longer.
    (asyncio.wait_for can swallow a cancellation on Python < 3.12.)"""
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "exception never retrieved"
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True
