"""The synthesis engine: text in (whole or streamed), trimmed audio out.

An Utterance owns one request's text. Text is normalised and phonemised as
soon as a clause is complete. Two calls per utterance are in flight at most:
the one being synthesised and the next, so segment i+1 is computed while
segment i is streamed. The first segment is cut at once; every later one is
cut by the worker at the moment it starts the call, so text that arrived
meanwhile joins it, and its size can be chosen knowing this stream's buffer
and every other stream's waiting call (calls cannot be pre-empted). Where
no size can keep the buffer ahead (a long clause right after a short first
segment), the first audio is held back instead of a gap left inside the
reply (Utterance._hold_first).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from . import SAMPLE_RATE
from .cache import AudioCache
from .chunk import pause_seconds, silence, trim
from .costmodel import CostModel
from .infer import KokoroModel
from .scheduler import Scheduler
from .segment import MIN_PHRASE_WORDS, Segment, Segmenter, bare, phrase_starters
from .sentences import split_complete, split_words
from .voices import Voice, VoiceCatalog

_LOGGER = logging.getLogger(__name__)

SECONDS_PER_TOKEN = 0.08
"""Rough audio per token at speed 1, for deadlines before the audio exists."""

MIN_SPLIT_TOKENS = 8

FIRST_WAIT = 2.0
"""A new stream's first audio may come at most this many times its own
first call's cost after the request (another stream's call may run first)."""

SAFETY = 0.85
"""Share of the time left that a call is sized to take: the cost model is a
straight-line fit and calls vary by a few percent."""

MAX_HOLD = 0.6
"""The most a stream's first audio is held back so that later calls are done
before the audio before them has played (see Utterance._hold_first)."""

HOLD_MARGIN = 1 / SAFETY
"""Predicted costs are taken this much longer to decide on a hold: the
margin a call sized by `fit` has. A clause within reach but past the fit
has none, and the cost model's error is 8-20 % (stand-in, one stream: a
65-token clause predicted at 2.05-2.09 s took 2.26-2.46 s, with 2.17 s of
audio buffered). With the margin on the second call only, two stand-in
streams heard 1.6-3.0 s of silence over 40 stream-runs; with it on every
call, 0.2 s."""

HOLD_WAIT = 0.05
"""How long first audio waits for the second call to be cut, to know if it
must be held: the worker cuts it the moment the first call ends."""

LONG_CLAUSE_CHARS = 96
"""Streamed text without punctuation or a phrase boundary waits at most this
long for one before the first call starts on its whole words."""

_LOOKBEHIND = 8
"""A clause boundary (mark, closing quotes, space) straddling two streamed
chunks starts at most this many characters before the new text."""


_CARRIERS = ("go {} me", "go {} it")
"""Word contexts that give a phrase starter its running-speech forms
(before a consonant, before a vowel): see Engine.phrase_starts."""


@dataclass
class EngineSettings:
    sentence_silence: float = 0.2
    clause_silence: float = 0.1
    first_seconds: float = 0.5
    """The first call aims to take this long (first audio)..."""
    first_max_seconds: float = 1.5
    """...and runs on to the first clause end as long as it takes at most this."""
    first_tokens: int = 24
    """The first segment's aim before any call has been timed."""
    growth: float = 1.5
    max_tokens: int = 200
    cost: CostModel = field(default_factory=CostModel)
    """What a call costs on this machine, learnt from warm-up and every call."""

    def first_sizes(self, sharing: int = 1) -> tuple[int, int]:
        """(aim, most) tokens of a first segment, from the cost right now, for
        a call that shares the cores with `sharing` - 1 others."""
        aim = self.cost.tokens_for(self.first_seconds, sharing)
        most = self.cost.tokens_for(self.first_max_seconds, sharing)
        if aim is None:  # nothing timed yet: the configured aim, and the same ratio of aim to most
            return self.first_tokens, int(self.first_tokens * self.first_max_seconds / self.first_seconds)
        aim = max(MIN_FIRST_TOKENS, min(aim, self.max_tokens))
        return aim, max(aim, most)


MIN_FIRST_TOKENS = 6
"""Below this a first segment is a syllable or two: barely faster."""


class Engine:
    """Shared by all clients: the model, the voices and the scheduler."""

    def __init__(self, model: KokoroModel, voices: VoiceCatalog, scheduler: Scheduler,
                 settings: EngineSettings, prepare: Callable[[str, str], str],
                 cache: AudioCache | None = None) -> None:
        self.model = model
        self.cache = cache
        self.streams: set[Utterance] = set()
        """Utterances currently producing audio (they share the model)."""
        self.voices = voices
        self.scheduler = scheduler
        self.settings = settings
        self.prepare = prepare
        """(text, espeak language) -> phonemes: normalise + phonemise."""
        self._phrase_starts: dict[str, frozenset[str]] = {}
        self._phrase_lock = threading.Lock()

    @property
    def active(self) -> int:
        return len(self.streams)

    def phrase_starts(self, language: str) -> frozenset[str]:
        """Phoneme forms of the words that open a phrase in `language`
        (espeak code), phonemised the way this server says them, so the
        segmenter can find phrase boundaries in phonemes. Computed once.

        Function words are reduced in running speech, and the phonemisers
        know it: "to" alone is /tu/ but "the heating to come" has /tə/. So
        each word is also phonemised between two words, before a consonant
        and before a vowel, and every form of it is kept."""
        with self._phrase_lock:
            if language not in self._phrase_starts:
                forms = set()
                for word in phrase_starters(language):
                    forms.add(self.prepare(word, language).strip().strip(",.;:!?"))
                    for carrier in _CARRIERS:
                        said = self.prepare(carrier.format(word), language).split()
                        if len(said) == 3:  # the phonemiser kept the three words apart
                            forms.add(said[1])
                forms = {bare(form) for form in forms}
                self._phrase_starts[language] = frozenset(form for form in forms if form and " " not in form)
            return self._phrase_starts[language]

    def utterance(self, voice: Voice, speed: float) -> Utterance:
        return Utterance(self, voice, speed)

    def infer(self, segment: Segment, voice: Voice, speed: float) -> np.ndarray:
        """One segment's audio; on failure, split it in two and try again.

        A call can fail for memory (an arena cap too small for a long
        segment): two halves cost less at peak, so the request survives.
        """
        try:
            mark = self.scheduler.mark()
            audio = self.model.run(segment.tokens, voice.style(len(segment.tokens)), speed)
            seconds = time.monotonic() - mark[0]
            # A call that shared the cores with another stream's took longer
            # for that reason alone (CostModel.observe).
            self.settings.cost.observe(len(segment.tokens), seconds, self.scheduler.mean_running(mark))
            return audio
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
        aim, most = s.first_sizes()
        self.segmenter = Segmenter(aim, s.growth, s.max_tokens, first_max=most)
        self._text = ""
        self._done = False
        self._changed = asyncio.Event()
        self._prepare_lock = asyncio.Lock()
        self._cut_lock = threading.Lock()
        """The event loop adds text, the worker cuts later segments."""
        self._base: float | None = None
        self._started: float | None = None
        """When the first segment was cut / its audio was ready (see _clock)."""
        self.play_start: float | None = None
        self.audio_seconds = 0.0
        self._audio_done = 0.0
        self._estimated_done = 0.0
        self._tokens_done = 0
        """Heard / estimated audio of the segments synthesised (see _known_audio)."""
        self.model_seconds = 0.0
        self.first_model_seconds = 0.0
        self.segments = 0
        self.first_audio_at: float | None = None
        self.text_chars = 0
        self._hold = 0.0
        """Seconds to hold the first audio back by (see _hold_first)."""
        self._second_cut: asyncio.Event | None = None
        self._later_submitted = False

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
        phrase_follows = False
        if not complete and streamed and self._starving():
            # A clause longer than a first call may be, still without
            # punctuation: release its words up to a phrase boundary so the
            # first call can start there. Never to the last word that came:
            # the next one may belong to its phrase, and on a busy host (a
            # first call's most under 20 tokens) "Turned on the" was said
            # alone. A run of LONG_CLAUSE_CHARS (about a second of an LLM's
            # text) with no phrase boundary is released to its last whole word.
            opens = phrase_starters(self.voice.language.espeak)
            wait = min(self.segmenter.first_max, LONG_CLAUSE_CHARS)
            complete, self._text = split_words(self._text, wait, before=opens, min_words=MIN_PHRASE_WORDS)
            phrase_follows = bool(complete)
            if not complete and len(self._text) >= LONG_CLAUSE_CHARS:
                complete, self._text = split_words(self._text, LONG_CLAUSE_CHARS)
        if complete.strip():
            await self._prepare(complete, phrase_follows)

    def _starving(self) -> bool:
        """Nothing is being synthesised yet: waiting for punctuation would
        delay the first audio of an LLM answer by a whole long clause."""
        return self.segmenter.count == 0 and not self.segmenter

    async def finish(self) -> None:
        """No more text will come: prepare what is left."""
        rest, self._text = self._text, ""
        if rest.strip():
            await self._prepare(rest)
        with self._cut_lock:
            self.segmenter.closed = True
        self._done = True
        self._changed.set()

    async def _prepare(self, text: str, phrase_follows: bool = False) -> None:
        language = self.voice.language.espeak
        async with self._prepare_lock:
            phonemes = await asyncio.to_thread(self.engine.prepare, text, language)
            starts = await asyncio.to_thread(self.engine.phrase_starts, language)
            with self._cut_lock:
                self.segmenter.phrase_starts = starts
                self.segmenter.add(phonemes, phrase_follows)
            self._changed.set()

    async def _wait_for_text(self) -> bool:
        """True once there is text to cut, False once the utterance is over."""
        while True:
            if self.segmenter:
                return True
            if self._done:
                return False
            self._changed.clear()
            await self._changed.wait()

    def _cut_first(self) -> Segment | None:
        """The first segment, cut at once: its size is set by the cost of a
        call now (segment.first_seconds), and a cached reply must not wait
        for the worker."""
        scheduler = self.engine.scheduler
        share = 1
        if scheduler.workers == 1:
            # One call at a time: while nothing runs, a stream that is
            # playing leads and bridges its next call with a longer first
            # segment of ours. If our first call waits behind another
            # stream's, ours stays short so our first audio is not late
            # twice over.
            share = 1 if scheduler.queued else self.engine.active
        with self._cut_lock:
            if self.engine.settings.cost:
                # It runs alongside the calls of the other streams, slower.
                self.segmenter.size_first(*self.engine.settings.first_sizes(self._sharing()))
            return self.segmenter.next(share=share)

    def _cut_later(self, audio_before: float) -> Segment | None:
        """A later segment, cut on the worker just before it runs, when the
        state of every stream is known: as long as growth allows, but short
        enough to finish before this stream's buffered audio runs out and
        before any waiting call of another stream is pushed past the moment
        its own listener would hear a gap (Scheduler.room). A call that will
        run alongside other streams' calls takes longer (CostModel.seconds).

        audio_before: estimated seconds of this stream's audio before this
        segment.
        """
        now = time.monotonic()
        scheduler = self.engine.scheduler
        left, room, sharing = self._deadline(audio_before) - now, scheduler.room(self, now), self._sharing()
        cost = self.engine.settings.cost
        seconds = min(left, room)
        _LOGGER.debug("utterance %x cut: %.2f s of audio left, room %.2f s, sharing %d, cost %s",
                      id(self) & 0xFFFF, left, room, sharing, cost.describe())
        with self._cut_lock:
            if not cost:  # nothing timed yet: cap by the number of streams instead
                return self.segmenter.next(share=self.engine.active)
            fit, reach = affordable_tokens(cost, seconds, sharing), cost.tokens_for(seconds, sharing)
            if fit is not None and fit > 0 and cost.seconds(fit, sharing) >= fit * self._audio_per_token():
                # Slower than real time even at this size: a phrase cut would
                # not save the stream, only add a cut. Throughput it is.
                reach = None
            late = cost.tokens_for(self.engine.settings.first_max_seconds, sharing)
            return self.segmenter.next(fit=fit, reach=reach, late=late)

    def _sharing(self) -> int:
        """Calls a call of ours starting now will share the cores with: the
        scheduler's count, and streams with text waiting to be cut (two
        streams started together: the one that cuts first must not size
        its call as if it had the cores to itself)."""
        cutting = [other for other in list(self.engine.streams) if other is not self and other.segmenter]
        return self.engine.scheduler.sharing(self, about_to=cutting)

    # -- audio out ------------------------------------------------------------
    def _clock(self) -> float:
        """Where this stream's audio timeline starts: its first audio, or
        until that exists, when its first segment was cut."""
        if self._started is not None:
            return self._started
        return self._base if self._base is not None else time.monotonic()

    def _deadline(self, audio_before: float) -> float:
        """When the audio before a segment (estimated: `audio_before`) will
        have been heard: its call must end by then."""
        return self._clock() + self._known_audio(audio_before)

    def _start_clock(self, at: float) -> None:
        """The first audio exists: move the waiting calls' deadlines, which
        assumed it at the first cut, to the real start. Called by the worker
        as soon as the first call ends, before it takes the next job."""
        if self._started is None:
            self._started = at
            self.engine.scheduler.retime(self, at - (self._base or at))

    def _delay_clock(self, seconds: float) -> None:
        """The first audio went out `seconds` later than it was ready."""
        if self._started is not None:
            self._started += seconds
            self.engine.scheduler.retime(self, seconds)

    def _run(self, segment: Segment, queued: float, deadline: float) -> tuple[Segment, np.ndarray, float]:
        started = time.monotonic()
        audio = self.engine.infer(segment, self.voice, self.speed)
        done = time.monotonic()
        self._synthesised(segment, audio)
        if segment.index == 0:
            self._start_clock(done)
        _LOGGER.debug("utterance %x segment %d (%d tokens): queued %.3fs, ran %.3fs, done %.3fs before its deadline",
                      id(self) & 0xFFFF, segment.index, len(segment.tokens), started - queued, done - started,
                      deadline - done)
        return segment, audio, done - started

    def _run_later(self, audio_before: float, queued: float, cut: asyncio.Future,
                   loop: asyncio.AbstractEventLoop) -> tuple[Segment, np.ndarray, float] | None:
        """On the worker: cut the next segment, tell the producer, synthesise."""
        segment = self._cut_later(audio_before)
        loop.call_soon_threadsafe(_resolve, cut, segment)
        if segment is None or segment.index == 1:
            self._hold = self._gap_after_first(segment, audio_before)
            if self._second_cut is not None:
                loop.call_soon_threadsafe(self._second_cut.set)
        if segment is None:
            return None
        return self._cached(segment) or self._run(segment, queued, self._deadline(audio_before))

    def _gap_after_first(self, segment: Segment | None, audio_before: float) -> float:
        """The longest wait the listener would have between pieces of audio,
        by the cost model, if the second segment and then every clause
        pending ran one after another, each alongside the calls sharing
        the cores now (0: none expected)."""
        cost = self.engine.settings.cost
        if segment is None or self._started is None or not cost:
            return 0.0
        sharing, per_token = self._sharing(), self._audio_per_token()
        s = self.engine.settings
        with self._cut_lock:
            calls = [(len(segment.tokens), segment.boundary), *self.segmenter.clauses()]
        costs = [cost.seconds(tokens, sharing) for tokens, _ in calls]
        if sum(costs) >= per_token * sum(tokens for tokens, _ in calls):
            # Slower than real time: no hold saves the reply from gaps, it
            # would only delay them (int8, one busy process per core: first
            # audio 0.5-0.7 s later and as much silence after it). Holding
            # only with HOLD_MARGIN of headroom was tried: two stand-in
            # streams, whose shared cost the model overrates, lost their
            # holds and heard 1.8 s of silence in 16 stream-runs, against
            # 0.2 s with this rule.
            return 0.0
        done, needed, worst = time.monotonic(), self._deadline(audio_before), 0.0
        for (tokens, boundary), seconds in zip(calls, costs):
            done += seconds * HOLD_MARGIN
            worst = max(worst, done - needed)
            needed += tokens * per_token + pause_seconds(boundary, s.sentence_silence, s.clause_silence)
        return worst

    def _estimate(self, segment: Segment) -> float:
        """Audio seconds a segment will give, before it is synthesised."""
        return len(segment.tokens) * SECONDS_PER_TOKEN / self.speed

    def _known_audio(self, estimated: float) -> float:
        """`estimated` seconds of audio (segment estimates), with the
        estimates of segments already synthesised replaced by what the
        listener will hear of them: the deadlines that size later calls are
        then exact for everything but the segment in flight."""
        return estimated - self._estimated_done + self._audio_done

    def _synthesised(self, segment: Segment, raw: np.ndarray) -> None:
        """Account a finished call's audio (trimmed, plus its pause)."""
        s = self.engine.settings
        self._audio_done += (trim(raw).size / SAMPLE_RATE
                             + pause_seconds(segment.boundary, s.sentence_silence, s.clause_silence))
        self._estimated_done += self._estimate(segment)
        self._tokens_done += len(segment.tokens)

    def _audio_per_token(self) -> float:
        """Seconds heard per token in this stream so far (voice, speed and
        text decide it), or the rough estimate before any audio."""
        return self._audio_done / self._tokens_done if self._tokens_done else SECONDS_PER_TOKEN / self.speed

    def _cost(self, tokens: int) -> float:
        return self.engine.settings.cost.seconds(tokens)

    def _submit_first(self, segment: Segment) -> asyncio.Future:
        """The first call is due now; another stream's call may delay it by
        at most its own cost (first audio at most twice as late as alone)."""
        now = time.monotonic()
        cost = self._cost(len(segment.tokens))
        return self.engine.scheduler.submit(
            lambda: self._run(segment, now, now), now, owner=self, latest=now + FIRST_WAIT * cost, floor=cost)

    def _submit_later(self, audio_before: float, cut: asyncio.Future) -> asyncio.Future:
        """A later call, due when the audio before it will have been played;
        it will cost at least a first segment's call."""
        loop = asyncio.get_running_loop()
        self._later_submitted = True
        return self.engine.scheduler.submit(
            lambda q=time.monotonic(): self._run_later(audio_before, q, cut, loop), self._deadline(audio_before),
            owner=self, floor=self._cost(self.segmenter.first_tokens))

    def _cache_key(self, segment: Segment) -> tuple:
        return (segment.phonemes, self.voice.name, self.speed, str(self.engine.model.path))

    def _cached(self, segment: Segment) -> tuple[Segment, np.ndarray, float] | None:
        """The segment's audio from the cache, accounted as synthesised (or None)."""
        cache = self.engine.cache
        if cache is None or not cache.accepts(segment.phonemes):
            return None
        audio = cache.get(self._cache_key(segment))
        if audio is None:
            return None
        self._synthesised(segment, audio)
        return segment, audio, 0.0

    def _remember(self, segment: Segment, raw: np.ndarray) -> None:
        cache = self.engine.cache
        if cache is not None and cache.accepts(segment.phonemes):
            cache.put(self._cache_key(segment), raw)

    async def _hold_first(self) -> None:
        """Hold the first audio back (MAX_HOLD at most) when the cost model
        says the listener would otherwise wait for a later call.

        A gap inside a reply sounds broken, a start later by the same time
        does not: this is a player's jitter buffer, filled only when it
        must be. Measured with two stand-in streams started together: first
        calls of 17 tokens (1.4 s of audio) were followed by 24-token
        clauses that took 1.55 s alongside the other stream's calls, and
        a 32-token clause later still; both listeners heard gaps.
        """
        if not self._later_submitted:
            return  # nothing follows yet: the text is still arriving, or it all fit
        if self.segmenter.count < 2:
            try:
                await asyncio.wait_for(self._second_cut.wait(), HOLD_WAIT)
            except asyncio.TimeoutError:
                return  # the second call waits for a worker: no telling
        hold = min(self._hold, MAX_HOLD)
        if hold > 0:
            _LOGGER.debug("utterance %x: first audio held %.2f s for a later call", id(self) & 0xFFFF, hold)
            await asyncio.sleep(hold)
            self._delay_clock(hold)

    async def audio(self) -> AsyncIterator[np.ndarray]:
        """Finished audio pieces in order, computed one segment ahead."""
        slots = asyncio.Semaphore(2)
        self._second_cut = asyncio.Event()
        queue: asyncio.Queue = asyncio.Queue()
        submitted: list[asyncio.Future] = []  # every call of ours, to cancel if the client goes

        async def produce() -> None:
            estimated = 0.0  # audio seconds of everything cut so far (estimates)
            try:
                while True:
                    await slots.acquire()
                    if not await self._wait_for_text():
                        await queue.put(None)
                        return
                    if self.segmenter.count == 0:
                        segment = self._cut_first()
                        self._base = time.monotonic()
                        cached = self._cached(segment)
                        if cached is not None:
                            future = asyncio.get_running_loop().create_future()
                            future.set_result(cached)
                        else:
                            future = self._submit_first(segment)
                            submitted.append(future)
                    else:
                        cut = asyncio.get_running_loop().create_future()
                        future = self._submit_later(estimated, cut)
                        submitted.append(future)
                        await asyncio.wait({cut, future}, return_when=asyncio.FIRST_COMPLETED)
                        segment = cut.result() if cut.done() else None
                        if segment is None:  # nothing was left, or the call failed or was cancelled
                            await queue.put(None if cut.done() else future)
                            return
                    estimated += self._estimate(segment)
                    await queue.put(future)
            except Exception as error:  # noqa: BLE001 - e.g. G2P failed: hand it to the consumer
                await queue.put(error)

        producer = asyncio.create_task(produce(), name="utterance-producer")
        self.engine.streams.add(self)
        settings = self.engine.settings
        pause = 0.0  # the pause the previous segment ends with: sent once more audio follows
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, Exception):
                    raise item
                if pause > 0:
                    self.audio_seconds += pause
                    yield silence(pause)
                segment, raw, seconds = await item
                slots.release()
                self._remember(segment, raw)
                self.model_seconds += seconds
                if self.segments == 0:
                    self.first_model_seconds = seconds
                self.segments += 1
                piece = trim(raw)
                pause = pause_seconds(segment.boundary, settings.sentence_silence, settings.clause_silence)
                if self.play_start is None:
                    if seconds > 0:  # synthesised, not cached
                        await self._hold_first()
                    self.play_start = self.first_audio_at = time.monotonic()
                    self._start_clock(self.play_start)  # a cached first segment: no worker did
                self.audio_seconds += piece.size / SAMPLE_RATE
                yield piece
        finally:
            self.engine.streams.discard(self)
            producer.cancel()
            for future in submitted:
                future.cancel()


def affordable_tokens(cost: CostModel, seconds: float, sharing: float = 1.0) -> int | None:
    """Tokens a call may have to take at most `seconds` (None: unbounded;
    <= 0: not even a short call fits, the stream is late), with SAFETY to
    spare for the cost model's error."""
    return cost.tokens_for(seconds * SAFETY, sharing)


def _resolve(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)
