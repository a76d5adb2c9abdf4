"""One reply of a Wyoming connection: its audio, always closed.

A connection's replies (syntheses, errors, synthesize-stopped) are Jobs
run one after another (handler.py), so they reach the client in request
order. A Job that speaks writes audio-start, chunks and audio-stop; it can
be aborted at any point (text over the limit, a half-closed socket,
shutdown) and then writes an `error` saying why before its audio-stop,
itself, so nothing of a later reply can come between them. Only a client
that has gone away gets nothing: there is nobody to tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event

from . import CHANNELS, SAMPLE_WIDTH
from .admission import Admission
from .engine import Utterance
from .metrics import API_WYOMING
from .resample import OutputChunker
from .service import RequestError, Service, timings

_LOGGER = logging.getLogger(__name__)

SILENCE_SECONDS = 0.1
"""Audio sent for text with nothing to say: Home Assistant turns a stream
without chunks into a 44-byte WAV, an mp3 error or an ffmpeg failure."""

Write = Callable[[Event], Awaitable[None]]


class Job:
    """One reply of a connection, written in request order.

    A job speaks an utterance (audio-start, chunks, audio-stop) and/or
    writes events after it (an error, synthesize-stopped). `abort` ends
    its audio early with a reason; the job itself writes the error and the
    audio-stop, so nothing of a later job can come between them.
    """

    def __init__(self, utterance: Utterance | None = None, *, error: RequestError | None = None,
                 after: Event | None = None) -> None:
        self.utterance = utterance
        self.reason = error
        """Why the audio ended early (or, without an utterance, the error to send)."""
        self.after: list[Event] = [after] if after is not None else []
        self.task: asyncio.Task | None = None
        self.pump: asyncio.Task | None = None
        self.started = time.monotonic()

    def abort(self, reason: RequestError) -> None:
        """End this job's audio now; the first reason given is the one sent."""
        if self.reason is None:
            self.reason = reason
        if self.pump is not None:
            self.pump.cancel()

    async def admit(self, slot: contextlib.AsyncExitStack, admission: Admission) -> None:
        """Wait for a synthesis slot (shared with HTTP), as the job's pump so
        that an abort (text over the limit, shutdown) ends the wait at once;
        an aborted job then only writes its error, without a slot."""
        if self.reason is not None:
            return
        self.pump = waiting = asyncio.create_task(slot.enter_async_context(admission.slot(API_WYOMING)))
        try:
            await asyncio.wait({waiting})
        except asyncio.CancelledError:  # the client went away
            waiting.cancel()
            raise
        finally:
            self.pump = None
        if not waiting.cancelled() and waiting.exception() is not None:
            raise waiting.exception()

    async def speak(self, text: str | None, write: Write, service: Service) -> str:
        """Audio of the utterance, always closed by audio-stop; the outcome for the log.
        text=None: the text is streamed in separately."""
        utterance = self.utterance
        assert utterance is not None
        chunker = OutputChunker(service.settings.samples_per_chunk, service.settings.output_rate)
        fmt = {"rate": chunker.rate, "width": SAMPLE_WIDTH, "channels": CHANNELS}
        if self.reason is not None:  # aborted before its turn came: no audio was opened
            await write(Error(text=self.reason.text, code=self.reason.code).event())
            return f"aborted: {self.reason.code}"
        self.started = time.monotonic()
        await write(AudioStart(**fmt).event())
        self.pump = asyncio.create_task(self._pump(utterance, text, chunker, fmt, write))
        if self.reason is not None:  # aborted while audio-start was being written
            self.pump.cancel()
        try:
            await asyncio.wait({self.pump})
        except asyncio.CancelledError:  # the client went away: nobody to tell
            self.pump.cancel()
            raise
        error: RequestError | None = None
        outcome = "done"
        if self.pump.cancelled():
            error = self.reason or RequestError("cancelled", "synthesis cancelled")
            outcome = f"aborted: {error.code}"
        elif isinstance(self.pump.exception(), ConnectionError):
            raise self.pump.exception()
        elif isinstance(self.pump.exception(), RequestError):
            error = self.pump.exception()
            outcome = f"failed: {error.code}"
        elif self.pump.exception() is not None:
            exc = self.pump.exception()
            _LOGGER.error("Synthesis failed", exc_info=exc)
            error = RequestError("synthesis-failed", f"synthesis failed: {exc}")
            outcome = "failed: synthesis-failed"
        if error is not None:
            await write(Error(text=error.text, code=error.code).event())
        await write(AudioStop(timestamp=chunker.timestamp_ms()).event())
        if error is None:
            service.metrics.observe(API_WYOMING, *timings(utterance, self.started), utterance.audio_seconds)
        return outcome

    @staticmethod
    async def _pump(utterance: Utterance, text: str | None, chunker: OutputChunker, fmt: dict[str, int],
                    write: Write) -> None:
        if text is not None:
            await utterance.add_text(text, streamed=False)
            await utterance.finish()
        # aclosing: if writing fails (client gone), the generator's cleanup
        # must run now, cancelling queued model calls, not at GC time.
        async with contextlib.aclosing(utterance.audio()) as pieces:
            async for piece in pieces:
                for chunk in chunker.feed_audio(piece):
                    await _write_chunk(write, chunker, chunk, fmt)
        tail = chunker.flush()
        if not tail and chunker.samples_sent == 0:  # nothing to say: a short silence
            tail = chunker.feed(bytes(int(SILENCE_SECONDS * chunker.rate) * SAMPLE_WIDTH)) + chunker.flush()
        for chunk in tail:
            await _write_chunk(write, chunker, chunk, fmt)


async def _write_chunk(write: Write, chunker: OutputChunker, chunk: bytes, fmt: dict[str, int]) -> None:
    await write(AudioChunk(audio=chunk, timestamp=chunker.timestamp_ms(), **fmt).event())
    chunker.sent(chunk)
