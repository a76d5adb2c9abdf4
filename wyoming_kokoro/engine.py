"""The synthesis engine: text in (whole or streamed), trimmed audio out.

An Utterance owns one request's text. Text is normalised and phonemised as
soon as a clause is complete, and a Segmenter cuts model calls lazily, just
before the worker could take the next one. Two calls per utterance are in
flight at most: the one being synthesised and the next, so segment i+1 is
computed while segment i is streamed, and text that arrives meanwhile joins
a later, larger segment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable

import numpy as np

from . import SAMPLE_RATE
from .cache import AudioCache
from .chunk import finish_segment
from .infer import KokoroModel
from .scheduler import Scheduler
from .segment import Segment, Segmenter, split_complete
from .voices import Voice, VoiceCatalog

_LOGGER = logging.getLogger(__name__)

SECONDS_PER_TOKEN = 0.08
"""Rough audio per token at speed 1, for deadlines before the audio exists."""

MIN_SPLIT_TOKENS = 8

_LOOKBEHIND = 8
"""A clause boundary (mark, closing quotes, space) straddling two streamed
chunks starts at most this many characters before the new text."""


@dataclass
class EngineSettings:
    sentence_silence: float = 0.2
    clause_silence: float = 0.1
    first_tokens: int = 24
    growth: float = 1.5
    max_tokens: int = 200
    cost: tuple[float, float] | None = None
    """(fixed seconds, seconds per token) of a model call on this machine,
    measured at warm-up; None: segments are sized by growth alone."""


class Engine:
    """Shared by all clients: the model, the voices and the scheduler."""

    def __init__(self, model: KokoroModel, voices: VoiceCatalog, scheduler: Scheduler,
                 settings: EngineSettings, prepare: Callable[[str, str], str],
                 cache: AudioCache | None = None) -> None:
        self.model = model
        self.cache = cache
        self.active = 0
        """Utterances currently producing audio (they share the model)."""
        self.voices = voices
        self.scheduler = scheduler
        self.settings = settings
        self.prepare = prepare
        """(text, espeak language) -> phonemes: normalise + phonemise."""

    def utterance(self, voice: Voice, speed: float) -> "Utterance":
        return Utterance(self, voice, speed)

    def infer(self, segment: Segment, voice: Voice, speed: float) -> np.ndarray:
        """One segment's audio; on failure, split it in two and try again.

        A call can fail for memory (an arena cap too small for a long
        segment): two halves cost less at peak, so the request survives.
        """
        try:
            return self.model.run(segment.tokens, voice.style(len(segment.tokens)), speed)
        except Exception as error:  # noqa: BLE001 - ORT raises plain RuntimeError
            words = segment.phonemes.split()
            if len(segment.tokens) < MIN_SPLIT_TOKENS or len(words) < 2:
                raise
            _LOGGER.warning("Model call of %d tokens failed (%s); retrying in halves",
                            len(segment.tokens), str(error).splitlines()[0])
            middle = len(words) // 2
            halves = [Segment(" ".join(part), segment.boundary) for part in (words[:middle], words[middle:])]
            return np.concatenate([self.infer(half, voice, speed) for half in halves])


class Utterance:
    """One request: feed text, iterate audio (float32 pieces, 24 kHz)."""

    def __init__(self, engine: Engine, voice: Voice, speed: float) -> None:
        self.engine = engine
        self.voice = voice
        self.speed = speed
        s = engine.settings
        self.segmenter = Segmenter(s.first_tokens, s.growth, s.max_tokens)
        self._text = ""
        self._done = False
        self._changed = asyncio.Event()
        self._prepare_lock = asyncio.Lock()
        self.play_start: float | None = None
        self.audio_seconds = 0.0
        self.model_seconds = 0.0
        self.first_model_seconds = 0.0
        self.segments = 0
        self.first_audio_at: float | None = None
        self.text_chars = 0

    # -- text in --------------------------------------------------------------
    async def add_text(self, text: str, *, streamed: bool = True) -> None:
        """Add text; complete clauses are prepared right away.

        streamed: more text may follow soon, so when nothing is being
        synthesised yet, whole words are released without waiting for
        punctuation.
        """
        scanned = len(self._text) - _LOOKBEHIND
        self._text += text
        self.text_chars += len(text)
        complete, self._text = split_complete(self._text, scanned)
        if not complete and streamed and self._starving():
            complete, self._text = _complete_words(self._text, 2 * self.segmenter.first_tokens)
        if complete.strip():
            await self._prepare(complete)

    def _starving(self) -> bool:
        """Nothing is being synthesised yet: waiting for punctuation would
        delay the first audio of an LLM answer by a whole long sentence."""
        return self.segmenter.count == 0 and not self.segmenter

    async def finish(self) -> None:
        """No more text will come: prepare what is left."""
        rest, self._text = self._text, ""
        if rest.strip():
            await self._prepare(rest)
        self._done = True
        self._changed.set()

    async def _prepare(self, text: str) -> None:
        async with self._prepare_lock:
            phonemes = await asyncio.to_thread(self.engine.prepare, text, self.voice.language.espeak)
            self.segmenter.add(phonemes)
            self._changed.set()

    async def _next_segment(self, ahead: float = 0.0) -> Segment | None:
        while True:
            if self.segmenter:
                share = self.engine.active
                if self.segmenter.count == 0 and self.engine.scheduler.queued:
                    # Our first call waits behind another stream's: that one
                    # leads and bridges with a longer first segment; ours
                    # stays short so our first audio is not late twice over.
                    share = 1
                return self.segmenter.next(share=share, fit=self._affordable_tokens(ahead))
            if self._done:
                return None
            self._changed.clear()
            await self._changed.wait()

    def _affordable_tokens(self, ahead: float) -> int | None:
        """Tokens the next call may have so that it, and the calls of other
        streams that may run first, finish before this stream's buffered
        audio runs out.

        ahead: seconds of this stream's audio that are queued or playing
        but not yet heard, less the model time its in-flight call still
        needs. Calls cannot be pre-empted and each other stream may have
        two in flight with earlier deadlines, so with n streams this call
        gets 1/(2n - 1) of that time (alone: all of it, and growth, not
        this, limits the size). Buffers grow faster than they are played
        while the model keeps up, so segments still grow, just later.
        """
        cost = self.engine.settings.cost
        if cost is None:
            return None
        fixed, per_token = cost
        return int((ahead / max(1, 2 * self.engine.active - 1) - fixed) / per_token)

    # -- audio out ------------------------------------------------------------
    def _deadline(self, queued_seconds: float) -> float:
        """When the audio queued before this segment will have been played."""
        start = self.play_start if self.play_start is not None else time.monotonic()
        return start + queued_seconds

    def _run(self, segment: Segment, queued: float, deadline: float) -> tuple[np.ndarray, float]:
        started = time.monotonic()
        audio = self.engine.infer(segment, self.voice, self.speed)
        done = time.monotonic()
        _LOGGER.debug("utterance %x segment %d (%d tokens): queued %.3fs, ran %.3fs, done %.3fs before its deadline",
                      id(self) & 0xFFFF, segment.index, len(segment.tokens), started - queued, done - started,
                      deadline - done)
        return audio, done - started

    def _cache_key(self, segment: Segment) -> tuple:
        return (segment.phonemes, self.voice.name, self.speed, str(self.engine.model.path))

    def _cached(self, segment: Segment) -> asyncio.Future | None:
        """A finished future holding the segment's audio, if it is cached."""
        cache = self.engine.cache
        if cache is None or not cache.accepts(segment.phonemes):
            return None
        audio = cache.get(self._cache_key(segment))
        if audio is None:
            return None
        future = asyncio.get_running_loop().create_future()
        future.set_result((audio, 0.0))
        return future

    def _remember(self, segment: Segment, raw: np.ndarray) -> None:
        cache = self.engine.cache
        if cache is not None and cache.accepts(segment.phonemes):
            cache.put(self._cache_key(segment), raw)

    async def audio(self) -> AsyncIterator[np.ndarray]:
        """Finished audio pieces in order, computed one segment ahead."""
        slots = asyncio.Semaphore(2)
        queue: asyncio.Queue = asyncio.Queue()
        estimated = 0.0  # audio seconds of everything submitted so far (estimates)
        in_flight = 0.0  # estimated model seconds of this stream's unfinished calls
        cost = self.engine.settings.cost or (0.0, 0.0)

        def ahead() -> float:
            if self.play_start is None:  # the buffer's clock starts with the first audio
                return max(estimated, self.audio_seconds)
            played = time.monotonic() - self.play_start
            return max(estimated, self.audio_seconds) - played - in_flight

        async def produce() -> None:
            nonlocal estimated, in_flight
            try:
                while True:
                    await slots.acquire()
                    segment = await self._next_segment(ahead())
                    if segment is None:
                        await queue.put(None)
                        return
                    future, seconds = self._cached(segment), 0.0
                    if future is None:
                        seconds = cost[0] + cost[1] * len(segment.tokens)
                        deadline = self._deadline(max(estimated, self.audio_seconds))
                        future = self.engine.scheduler.submit(
                            lambda s=segment, q=time.monotonic(), d=deadline: self._run(s, q, d), deadline)
                    estimated += len(segment.tokens) * SECONDS_PER_TOKEN / self.speed
                    in_flight += seconds
                    await queue.put((segment, future, seconds))
            except Exception as error:  # noqa: BLE001 - e.g. G2P failed: hand it to the consumer
                await queue.put(error)

        producer = asyncio.create_task(produce(), name="utterance-producer")
        futures: list[asyncio.Future] = []
        self.engine.active += 1
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, Exception):
                    raise item
                segment, future, expected = item
                futures.append(future)
                raw, seconds = await future
                in_flight = max(0.0, in_flight - expected)
                slots.release()
                self._remember(segment, raw)
                self.model_seconds += seconds
                if self.segments == 0:
                    self.first_model_seconds = seconds
                self.segments += 1
                last = self._done and not self.segmenter and queue.empty()
                piece = finish_segment(
                    raw, segment.boundary, last=last,
                    sentence_silence=self.engine.settings.sentence_silence,
                    clause_silence=self.engine.settings.clause_silence,
                )
                if self.play_start is None:
                    self.play_start = self.first_audio_at = time.monotonic()
                self.audio_seconds += piece.size / SAMPLE_RATE
                yield piece
        finally:
            self.engine.active -= 1
            producer.cancel()
            for future in futures:
                future.cancel()
            while not queue.empty():
                item = queue.get_nowait()
                if isinstance(item, tuple):
                    item[1].cancel()


def _complete_words(text: str, min_chars: int) -> tuple[str, str]:
    """Split off the whole words of streamed text once there are enough of
    them to make a first segment (the last word may still be arriving)."""
    cut = text.rfind(" ")
    if cut < min_chars:
        return "", text
    return text[: cut + 1], text[cut + 1:]
