"""Where text may be cut before normalisation: sentence and clause ends.

Text is normalised and phonemised a sentence (or clause) at a time, both
when it arrives whole and when Home Assistant's LLM path streams it in
fragments. Both paths cut at the same places, chosen from the text itself
and never from where a fragment happened to end, so a streamed request
sounds exactly like the same text sent whole.

A cut is a sentence or clause mark followed by whitespace, except where a
normalisation rule needs the text on both sides:

* inside a markdown code fence (the fence is dropped whole), a table row,
  or an inline code, bold or strikethrough span;
* a period after an initial, a title ("Dr. Smith") or before a lower-case
  word ("e.g. this", "approx. five");
* a mark followed by a digit: "Dec. 5, 2025", "from 5 — 10 minutes",
  "$3.50 — 50% off" are one date, one range, one price;
* at the end of what has arrived so far, for marks whose meaning depends
  on what follows (. , : —): the next character decides.

Deciding from bounded context (the word before, the character after, and
fence/line state that is empty at every cut) keeps the cuts the same
however the text is fragmented, and lets `split_complete` run in time
linear in the streamed text.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"[.!?…,;:—。！？、，；：][\"”’)\]'*_~`»」』]*(\s+|(?<=[。！？、，；：])(?=\S))")
"""A mark, closing quotes/brackets/emphasis, then whitespace (CJK marks need none)."""
_NEEDS_NEXT = frozenset(".,:—")
"""Marks whose role depends on the next character (decimal, date, range, abbreviation)."""
_WORD_BEFORE = re.compile(r"(\w+)[.]?$")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_LINE_WINDOW = 400
"""How far back a line's start and its inline spans are looked for: table
rows and inline spans are short, and a bound keeps each decision O(1)."""


def _titles() -> frozenset[str]:
    """Words whose period is part of the abbreviation ("Dr. Smith", "Sra. García"),
    for every language: the normaliser's tables (data/<family>.json "titles")."""
    from .normalize.languages import FAMILIES, table

    return frozenset(word.lower() for family in FAMILIES for word in table(family).get("titles", ()))


_TITLES = _titles()


def _holds(text: str, mark: int, space: int, end: int, fences_before: int, since: int) -> bool:
    """Whether the candidate cut (mark at `mark`, whitespace from `space` to `end`) must wait.

    since: the previous cut. A line is taken to start no earlier than it:
    streamed text is cut there and the piece after it is all the streamed
    path sees, so whole text must not look further back ('. | . .' sent
    whole and streamed as '. ' + '| . .' must cut alike).
    """
    if fences_before % 2:
        return True  # inside a code fence
    window = max(since, mark - _LINE_WINDOW)
    newline = text.rfind("\n", window, mark)
    line = newline + 1 if newline >= 0 else window
    if newline >= 0 or window == since:
        if _TABLE_ROW.match(text, line):
            return True  # a table row
    if (text.count("`", line, space) % 2 or text.count("**", line, space) % 2
            or text.count("~~", line, space) % 2):
        return True  # inside an inline code, bold or strikethrough span
    char = text[mark]
    if char not in _NEEDS_NEXT:
        return False
    if end >= len(text):
        return True  # what follows has not arrived: it decides
    following = text[end]
    if following.isdigit():
        return True
    if char == ".":
        if following.islower():
            return True
        word = _WORD_BEFORE.search(text, max(0, mark - 12), mark)
        if word and (len(word.group(1)) == 1 and word.group(1).isalpha() or word.group(1).lower() in _TITLES):
            return True
    return False


def _fences(text: str, start: int, end: int) -> int:
    """Code fence marks in text[start:end].

    Counted as substrings, not as lines that start with one: C-speed, so
    counting the text before a streamed fragment stays cheap (an inline
    triple backtick is rare enough to be taken for a fence).
    """
    return text.count("```", start, end) + text.count("~~~", start, end)


def _cuts(text: str, start: int = 0):
    """Positions where the text may be cut, from `start` on (after the whitespace)."""
    fences = _fences(text, 0, start)
    position, previous = start, 0  # text before `start` holds no cut
    for match in _CANDIDATE.finditer(text, start):
        fences += _fences(text, position, match.start())
        position = match.start()
        if not _holds(text, match.start(), match.start(1), match.end(), fences, previous):
            previous = match.end()
            yield previous


def sentences(text: str) -> list[str]:
    """`text` cut at every place it may be cut (pieces join back to `text`)."""
    pieces, previous = [], 0
    for cut in _cuts(text):
        pieces.append(text[previous:cut])
        previous = cut
    if previous < len(text):
        pieces.append(text[previous:])
    return pieces


def split_complete(text: str, start: int = 0) -> tuple[str, str]:
    """Split streamed text into (complete sentences or clauses, the rest still arriving).

    start: where to begin looking; text before it is known to hold no cut
    (it was scanned before, less a few characters for a boundary that
    straddles two fragments), so thousands of tiny fragments cost linear
    time: only the new text is searched, and the state before it is counted
    by C-level string scans.
    """
    start = max(0, start)
    if not _CANDIDATE.search(text, start):
        return "", text
    last = 0
    for cut in _cuts(text, start):
        last = cut
    return text[:last], text[last:]


def split_words(text: str, min_chars: int, before: frozenset[str] | None = None,
                min_words: int = 1) -> tuple[str, str]:
    """Whole words of streamed text that has no cut yet, for a first segment.

    Like a cut at the last space at or after `min_chars` (the last word may
    still be arriving), but never inside a code fence, a table row or an
    inline span, nor next to a digit ("Dec 5" + ", 2025", "$3" + ".50"):
    those wait for a real cut. Looks at the last few spaces only, so a
    text that never allows one costs O(1) per call, not a rescan.

    before: words that open a phrase (lower case). Then the text is cut
    once it is `min_chars` long, anywhere, but only before one of them with
    `min_words` words ahead of it: the words after the cut are still
    arriving, and a call that ends between two words of a phrase is heard
    as a stumble ("Turned on the | kitchen lights.").
    """
    if before is not None:
        if len(text) < min_chars:
            return "", text
        floor = 0  # the space before word `min_words`: no cut earlier
        for _ in range(min_words):
            word = _WORD_AND_SPACE.match(text, floor)
            if not word:
                return "", text
            floor = word.end() - 1
    else:
        floor = min_chars
    end = len(text)
    for _ in range(_WORD_TRIES):
        cut = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
        if cut < floor:
            break
        end = cut
        if cut + 1 >= len(text) or text[cut + 1].isspace():
            continue
        if any(ch.isdigit() for ch in text[max(0, cut - 6):cut + 2]):
            continue
        if before is not None and not _opens(text, cut + 1, before):
            continue
        window = max(0, cut - _LINE_WINDOW)
        line = text.rfind("\n", window, cut) + 1 or window
        if _TABLE_ROW.match(text, line) or text.count("`", line, cut) % 2 or text.count("**", line, cut) % 2:
            continue
        if _fences(text, 0, cut) % 2:  # counted last: only for the one cut about to be made
            break
        return text[:cut + 1], text[cut + 1:]
    return "", text


def _opens(text: str, start: int, words: frozenset[str]) -> bool:
    """Whether the word at `start` is one of `words` (and wholly arrived)."""
    match = _WORD_AT.match(text, start)
    return bool(match) and match.end() < len(text) and match.group(1).lower() in words


_WORD_AT = re.compile(r"[\"“‘(]*([^\s\"”’)]+)")
_WORD_AND_SPACE = re.compile(r"\s*\S+\s")
"""A word and the whitespace after it: counted from the start, so finding
where the first few words end costs their length, not the text's."""


_WORD_TRIES = 16
"""Spaces looked at, from the end: a phrase boundary is a few words back."""
