"""Cut phonemised text into model calls where Kokoro's prosody allows it.

Each model call is a whole utterance to Kokoro: it gets its own opening and
its own phrase-final intonation and lengthening. So where a cut falls is a
prosody decision, measured with the real model and a speech recogniser
(benchmarks/intelligibility.py): cuts at sentence ends cost nothing, cuts at
clause punctuation next to nothing, cuts inside a clause cost words ("It is
7:45 AM." cut after two words was heard as "L.S. 745. I.M."). Boundaries rank
sentence > clause > phrase (before a conjunction or preposition; only when a
clause is longer than a call may be) > word (only when a phrase is), and a
single "word" longer than a call (no spaces: "....") is sliced, so no call
ever exceeds its limit whatever the text looks like.

Sizes come from the engine: the first call is sized to give first audio
quickly (`first_tokens`, from the measured cost), but it runs on to the
first clause or sentence end as long as that stays under `first_max`;
later calls hold `growth` x the tokens already cut, or what the time left
affords (`fit`), and end below a clause only when its end is out of reach:
past `max_tokens`, or past the time left (`reach`), and then at a phrase
boundary (a phrase cut is heard less than a gap). Nothing is dropped and nothing repeated: the segments joined
with spaces are exactly the input.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cache

from .vocab import CLAUSE_MARKS, SENTENCE_MARKS, tokenize

SENTENCE = "sentence"
CLAUSE = "clause"
PHRASE = "phrase"
WORD = "word"
_RANK = {WORD: 0, PHRASE: 1, CLAUSE: 2, SENTENCE: 3}

_CLOSERS = "\"”)"
_STRESS = str.maketrans("", "", "ˈˌ")


def boundary_of(word: str) -> str:
    """What kind of pause the text after this word calls for (punctuation only)."""
    end = word.rstrip(_CLOSERS)[-1:]
    if end and end in SENTENCE_MARKS:
        return SENTENCE
    if end and end in CLAUSE_MARKS:
        return CLAUSE
    return WORD


def bare(word: str) -> str:
    """A phoneme word without stress marks: how phrase starters are matched."""
    return word.translate(_STRESS)


@dataclass
class Segment:
    phonemes: str
    boundary: str
    """Pause kind after this segment: sentence, clause, phrase or word."""
    index: int = 0
    tokens: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tokens:
            self.tokens = tokenize(self.phonemes)


class Segmenter:
    """Holds phonemes not yet synthesised and cuts the next segment on demand.

    Pulling segments lazily (when the worker is about to be free) rather than
    cutting everything up front lets text that arrived meanwhile (streaming)
    join a bigger, better-sounding segment.
    """

    def __init__(self, first_tokens: int = 24, growth: float = 1.5, max_tokens: int = 200,
                 first_max: int | None = None, phrase_starts: frozenset[str] = frozenset()) -> None:
        self.max_tokens = max(4, max_tokens)
        self.size_first(first_tokens, first_max)
        self.growth = growth
        self.phrase_starts = phrase_starts
        """Phoneme forms (bare()) of words that open a phrase: 'and', 'with'..."""
        self._words: deque[str] = deque()
        self.closed = False
        """No more text will come: the end of what is pending ends a sentence."""
        self.phrase_follows = False
        """The text still arriving after the last pending word opens a phrase
        (streamed words released at a phrase boundary, Utterance.add_text)."""
        self.emitted_tokens = 0
        self.count = 0

    def size_first(self, first_tokens: int, first_max: int | None = None) -> None:
        """Set the first segment's aim and the most it may run on to a clause end."""
        self.first_tokens = max(1, min(first_tokens, self.max_tokens))
        self.first_max = min(self.max_tokens, max(self.first_tokens, first_max or self.max_tokens))

    def add(self, phonemes: str, phrase_follows: bool = False) -> None:
        """Pend more words; `phrase_follows`: see the attribute."""
        self.phrase_follows = phrase_follows
        for word in phonemes.split():
            while len(word) > self.max_tokens:  # one unbroken run longer than any call may be
                self._words.append(word[: self.max_tokens])
                word = word[self.max_tokens:]
            self._words.append(word)

    def __bool__(self) -> bool:
        return bool(self._words)

    def clauses(self) -> list[tuple[int, str]]:
        """(tokens, boundary) of each clause pending: the calls the rest of
        the text would take if every call ended at a clause."""
        sizes, size = [], -1
        for word in self._words:
            size += len(word) + 1
            boundary = boundary_of(word)
            if boundary != WORD:
                sizes.append((size, boundary))
                size = -1
        if size >= 0:
            sizes.append((size, SENTENCE if self.closed else WORD))
        return sizes

    def budget(self, share: int = 1) -> int:
        """Tokens the next segment aims at (it may run on to punctuation).

        share: streams currently competing for the model. A first segment
        is longer under contention so its audio bridges the other stream's
        next call. Later segments grow with what was already cut; without a
        cost model (no warm-up timings, no calls yet) they are capped by the
        number of streams instead.
        """
        if self.count == 0:
            return self.first_tokens if share <= 1 else int(self.first_tokens * CONTENDED_FIRST)
        cap = self.max_tokens if share <= 1 else self.max_tokens // (2 * share)
        return min(max(self.first_tokens, cap), max(self.first_tokens, int(self.growth * self.emitted_tokens)))

    def next(self, share: int = 1, fit: int | None = None, reach: int | None = None,
             late: int | None = None) -> Segment | None:
        """The next segment, or None when nothing is pending.

        fit: tokens a later call can afford, with a margin, before some
        listener would hear a gap (see Utterance); reach: the same without
        the margin. fit lowers the aim. A later segment still ends at the
        clause's end if that is within reach; if it is not, at a phrase
        boundary within the aim (a phrase cut is heard less than a gap);
        with none there, at the first one past the aim (late by a phrase,
        not by the clause: two stand-in streams had 3.5 s gaps waiting for
        a 66-token clause), and only with none at all at the clause's end:
        never inside a phrase.

        fit <= 0 means the stream is late already: its listener is waiting
        now, as for first audio. Then the call aims at `late` tokens (what a
        first call may take; default first_max) and runs on to the end of a
        clause or sentence: longer calls than the time left allows, so the
        stream catches up instead of adding a cut per syllable, but no
        longer than one wait. Taking all the text up to max_tokens instead
        made an int8 stream on a busy host wait 12.6 s for a 175-token call.
        """
        if not self._words:
            return None
        budget = self.budget(share)
        if self.count == 0:
            cut = self._choose_cut(budget, self.first_max, first=True)
        else:
            most, timed = self.max_tokens, fit is not None and 0 < fit < budget
            if fit is not None:
                aim = (late if late is not None else self.first_max) if fit <= 0 else fit
                budget = min(budget, max(aim, 1))
                if fit > 0 and reach is not None:
                    most = max(budget, min(reach, self.max_tokens))
            cut = self._choose_cut(budget, most, first=False, timed=timed)
        return self._take(cut)

    def _take(self, cut: int) -> Segment:
        words = [self._words.popleft() for _ in range(cut)]
        segment = Segment(" ".join(words), boundary_of(words[-1]), index=self.count)
        if not self._words and self.closed:
            segment.boundary = SENTENCE  # the end of the text
        elif segment.boundary == WORD and (self._starts_phrase(self._words[0]) if self._words
                                           else self.phrase_follows):
            segment.boundary = PHRASE
        self.count += 1
        self.emitted_tokens += len(segment.tokens)
        return segment

    def _starts_phrase(self, word: str) -> bool:
        return bare(word) in self.phrase_starts

    def _choose_cut(self, budget: int, most: int, *, first: bool, timed: bool = False) -> int:
        """How many pending words the next segment takes.

        The latest sentence end within the budget (or just past it); else
        the latest clause end within it (a later segment passes over one
        that would leave it under half its budget), or the first one past
        it, up to `most` tokens; only then, inside a clause too long for
        that, a phrase boundary, and inside a phrase too long for a call,
        whole words. Measured (benchmarks/intelligibility.py): sentence and
        clause cuts cost no words and no length; one phrase cut at the start
        costs next to nothing; phrase cuts throughout lengthen the audio by
        6 %, cuts every few words cost words.

        A segment runs on past its aim (to a sentence end, SLACK, or past a
        short clause) only within `most`, and not at all when the time left
        set the aim (`timed`): that aim's margin is for the cost model's
        error, and a clause cut costs nothing while a gap is heard. Measured
        with two streams of the paragraph: a sentence run on to 140 tokens
        at an aim of 108, and one of 71 at an aim of 67, were heard late.
        """
        words = self._words
        hard = self.max_tokens
        piece = min(hard, max(budget, LONGEST_WORD))
        if len(words[0]) > piece:  # a run of symbols no word is ("....", a hash): slice it
            head = words.popleft()
            words.appendleft(head[piece:])
            words.appendleft(head[:piece])
        stretch = budget if timed else budget * SLACK if first else min(budget * SLACK, max(budget, most))
        within: dict[int, tuple[int, int]] = {}  # rank -> (cut, size) of the latest cut within the budget
        beyond: dict[int, tuple[int, int]] = {}  # rank -> (cut, size) of the first cut past it, under hard
        size = 0
        for index, word in enumerate(words):
            size += len(word) + (1 if index else 0)
            if size > hard:
                break
            rank = self._rank_after(index)
            for r in range(rank + 1):  # a sentence end is also a clause end, a phrase and a word boundary
                if size <= budget:
                    within[r] = (index + 1, size)
                else:
                    beyond.setdefault(r, (index + 1, size))
        else:  # everything pending fits in one call
            if size <= stretch:
                return len(words)
        sentence, clause = _RANK[SENTENCE], _RANK[CLAUSE]
        if sentence in within:
            return within[sentence][0]
        if sentence in beyond and beyond[sentence][1] <= stretch:
            return beyond[sentence][0]
        for rank in (clause, _RANK[PHRASE], _RANK[WORD]):
            # A first segment takes the latest clause within its budget
            # however short (first audio sooner); otherwise a cut that would
            # leave the segment under half its budget ('the' alone) is passed
            # over for the next one.
            short = rank in within and within[rank][1] < budget / 2 and not (first and rank == clause)
            later = beyond.get(rank)
            if rank == clause and later and later[1] > most:
                later = None  # a clause too long to wait for: cut inside it
                if _RANK[PHRASE] not in within:
                    # No phrase boundary within the aim: the first one past
                    # it, late by a phrase rather than by the whole clause
                    # (the clause's end if it has none). A first call too:
                    # "Turned on the | kitchen lights." costs words, a first
                    # audio later by the rest of the clause does not.
                    return beyond.get(_RANK[PHRASE], beyond[rank])[0]
            if rank in within and not (short and later and (later[1] <= stretch or not timed)):
                return within[rank][0]
            if later:
                return later[0]
        return 1  # unreachable: the first word fits in a call

    def _rank_after(self, index: int) -> int:
        """Rank of the boundary after pending word `index`."""
        words = self._words
        rank = _RANK[boundary_of(words[index])]
        if index + 1 == len(words):
            if self.closed:
                return _RANK[SENTENCE]
            return _RANK[PHRASE] if rank == 0 and self.phrase_follows else rank
        if rank == 0 and index + 1 >= MIN_PHRASE_WORDS and self._starts_phrase(words[index + 1]):
            return _RANK[PHRASE]
        return rank


SLACK = 1.3
"""How far past its aim a segment may run to end on a sentence (cutting
'the lights are now | on.' sounds worse than a slightly longer call)."""

LONGEST_WORD = 32
"""Phoneme symbols of the longest real word (a run longer than this and
than the call's budget is sliced, so no text can make a call long)."""

MIN_PHRASE_WORDS = 3
"""A phrase cut leaves at least this many words before it ('It is | at')."""

CONTENDED_FIRST = 1.25
"""First-segment size factor when the model is shared with other streams."""

PHRASE_STARTERS: dict[str, tuple[str, ...]] = {
    "en": ("and", "but", "or", "so", "because", "although", "while", "when", "where", "which", "who",
           "that", "with", "without", "for", "from", "in", "on", "at", "to", "into", "after", "before",
           "until", "during", "about", "if", "than", "then"),
    "es": ("y", "pero", "o", "porque", "cuando", "donde", "que", "con", "sin", "para", "por", "en",
           "desde", "hasta", "después", "antes", "si"),
    "fr": ("et", "mais", "ou", "parce", "quand", "où", "qui", "que", "avec", "sans", "pour", "dans",
           "depuis", "jusqu'à", "après", "avant", "si"),
    "it": ("e", "ma", "o", "perché", "quando", "dove", "che", "con", "senza", "per", "in", "dopo",
           "prima", "fino", "se"),
    "pt": ("e", "mas", "ou", "porque", "quando", "onde", "que", "com", "sem", "para", "em", "depois",
           "antes", "até", "se"),
}
"""Words that open a phrase, by language family: a long clause is cut before
one of them (a conjunction or preposition), never between an article and
its noun. Languages without a list are cut at word boundaries when a clause
is longer than a call may be."""


@cache
def phrase_starters(language: str) -> frozenset[str]:
    """The words that open a phrase in `language` (an espeak code: "en-us")."""
    return frozenset(PHRASE_STARTERS.get(language.split("-")[0], ()))
