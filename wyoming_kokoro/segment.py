"""Cut phonemised text into model calls: short first, then growing.

Time to first audio is the time of the first model call, so the first
segment is the shortest unit that still sounds natural: the first clause or
sentence if it fits `first_tokens`, else as many whole words as fit. Each
later segment may hold `growth` x the tokens already cut (capped at
`max_tokens`), which keeps every call shorter than the audio already queued
ahead of it as long as the model runs faster than real time / (1 + growth).
Cuts prefer sentence > clause > word boundaries and never split a word
(unless a single "word" exceeds the model's 510-token context, which is then
sliced rather than dropped). Nothing is dropped and nothing repeated: the
segments joined with spaces are exactly the input.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from .vocab import CLAUSE_MARKS, MAX_TOKENS, SENTENCE_MARKS, tokenize

SENTENCE = "sentence"
CLAUSE = "clause"
WORD = "word"

_CLOSERS = "\"”)"


def boundary_of(word: str) -> str:
    """What kind of pause the text after this word calls for."""
    end = word.rstrip(_CLOSERS)[-1:]
    if end and end in SENTENCE_MARKS:
        return SENTENCE
    if end and end in CLAUSE_MARKS:
        return CLAUSE
    return WORD


@dataclass
class Segment:
    phonemes: str
    boundary: str
    """Pause kind after this segment: sentence, clause or word."""
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

    def __init__(self, first_tokens: int = 24, growth: float = 1.5, max_tokens: int = 200) -> None:
        self.first_tokens = min(first_tokens, MAX_TOKENS)
        self.growth = growth
        self.max_tokens = min(max(max_tokens, self.first_tokens), MAX_TOKENS)
        self._words: deque[str] = deque()
        self.emitted_tokens = 0
        self.count = 0

    def add(self, phonemes: str) -> None:
        for word in phonemes.split():
            while len(word) > MAX_TOKENS:  # one unbroken run longer than the context
                self._words.append(word[:MAX_TOKENS])
                word = word[MAX_TOKENS:]
            self._words.append(word)

    def __bool__(self) -> bool:
        return bool(self._words)

    def budget(self, share: int = 1) -> int:
        """Tokens the next segment may hold.

        share: streams currently competing for the model. For a first
        segment it makes room to bridge a newcomer's first call. For later
        ones it is only used without a cost model (no warm-up timings): a
        call cannot be pre-empted, so the cap is divided by twice the
        streams. With a cost model the engine passes `fit` instead, the size
        that the time left to every stream affords.
        """
        if self.count == 0:
            # Another stream is playing or starting: its next call will run
            # between this one and our second, so our first audio must be
            # longer to bridge it (its first audio comes ~1.25x later, still well under 1 s).
            return self.first_tokens if share <= 1 else int(self.first_tokens * CONTENDED_FIRST)
        cap = self.max_tokens if share <= 1 else self.max_tokens // (2 * share)
        cap = max(self.first_tokens, cap)
        return min(cap, max(self.first_tokens, int(self.growth * self.emitted_tokens)))

    def next(self, share: int = 1, fit: int | None = None) -> Segment | None:
        """The next segment, or None when nothing is pending.

        fit: tokens the caller can afford before its buffered audio runs
        out (see Utterance); it shrinks a later segment, never below
        first_tokens, when other streams share the model.
        """
        if not self._words:
            return None
        budget = self.budget(share)
        strict = False
        if fit is not None and self.count and fit < budget:
            # Time, not growth, limits this call: running past the budget
            # to reach punctuation would make some stream late.
            budget, strict = max(self.first_tokens, fit), True
        cut = self._choose_cut(budget, strict)
        words = [self._words.popleft() for _ in range(cut)]
        phonemes = " ".join(words)
        segment = Segment(phonemes, boundary_of(words[-1]), index=self.count)
        self.count += 1
        self.emitted_tokens += len(segment.tokens)
        return segment

    def _choose_cut(self, budget: int, strict: bool = False) -> int:
        """How many pending words the next segment takes.

        A sentence or clause end may overshoot the budget by SLACK (cutting
        'the lights are now | on,' sounds worse than a slightly longer call);
        a boundary that would leave the segment under half the budget is
        passed over for a later, lower-ranked one, so segments keep growing.
        strict: the budget is what the time left affords: no overshoot.
        """
        hard = min(self.max_tokens, max(budget + WORD_SLACK, int(budget * SLACK)))  # max_tokens is a hard cap
        if strict:
            hard = budget
        size = 0
        cuts: dict[str, int] = {}
        sizes: dict[str, int] = {}
        over = 0  # the first word cut past the budget
        for index, word in enumerate(self._words):
            size += len(word) + (1 if index else 0)
            if index and size > hard:
                break
            kind = boundary_of(word)
            if size <= budget or index == 0:
                cuts[WORD], sizes[WORD] = index + 1, size
            elif not over:
                over = index + 1
            if kind != WORD:
                cuts[CLAUSE], sizes[CLAUSE] = index + 1, size
                if self.count == 0:
                    return index + 1  # first segment: the first natural unit
            if kind == SENTENCE:
                cuts[SENTENCE], sizes[SENTENCE] = index + 1, size
        else:  # everything pending fits
            return len(self._words)
        for kind in (SENTENCE, CLAUSE):
            if kind in cuts and sizes[kind] >= budget / 2:
                return cuts[kind]
        if over and sizes[WORD] < budget / 2:  # 'the' alone: take one more word
            return over
        return cuts[WORD]


SLACK = 1.3
"""How far past the budget a segment may run to end on punctuation."""

CONTENDED_FIRST = 1.25
"""First-segment size factor when the model is shared with other streams."""

WORD_SLACK = 6
"""...or, for small budgets, by about one word: with a budget of 8 tokens,
'ðə' (2) is a poor first segment when 'ðə lˈɪvɪŋ' (9) is at hand."""


_COMPLETE = re.compile(rf"[{re.escape(SENTENCE_MARKS + CLAUSE_MARKS)}][\"”)\]']*\s+")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:[A-Za-z]|Dr|Mr|Mrs|Ms|St|Prof|Jr|Sr|vs|etc|approx|e\.g|i\.e|No|Nr|Sra?)\.\s+$"
)


def split_complete(text: str, start: int = 0) -> tuple[str, str]:
    """Split streamed text into (complete clauses, remainder still arriving).

    A clause is complete once its punctuation is followed by whitespace: a
    period inside '3.5' is not. A period after an abbreviation ('Dr. ',
    'e.g. ') does not end anything, so the normaliser later sees 'Dr. Smith'
    whole. start: where to begin looking (text before it is known to hold no
    boundary), so thousands of tiny streamed chunks cost linear time.
    """
    end = 0
    for match in _COMPLETE.finditer(text, max(0, start)):
        if not _ABBREVIATION.search(text[: match.end()]):
            end = match.end()
    return text[:end], text[end:]
