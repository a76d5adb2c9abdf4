"""Machinery every rule shares: the rule context, sealing, sanitising.

A disabled rule does not simply skip: the spans it would have rewritten
are sealed (swapped for one private-use character) so later, more general
rules cannot half-convert them ("$5" stays "$5" with money off rather than
becoming "$five"). Kokoro's inline phonemes `[word](/phonemes/)` are
sealed the same way before anything runs.

A rule that raises must not silence the others: a failing match is left
as written and the failure logged once per rule (see `report`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from .languages import Lang

_LOGGER = logging.getLogger(__package__)

_SEAL_BASE = 0xF0000  # Supplementary Private Use Area-A; stripped from input
_SEAL_MAX = 0xFFFD
_SEAL_RE = re.compile("[\U000F0000-\U000FFFFD]")
SPACES_RE = re.compile(r"\s+")

_reported: set[tuple[str, str]] = set()


def report(rule: str, error: BaseException) -> None:
    """Log a rule's failure once per rule and error type (text may repeat it endlessly)."""
    key = (rule, type(error).__name__)
    if key not in _reported:
        _reported.add(key)
        _LOGGER.warning("normalisation rule %r failed (%s: %s); its text is left as written, other rules run",
                        rule, type(error).__name__, error, exc_info=_LOGGER.isEnabledFor(logging.DEBUG))


@dataclass
class Ctx:
    L: Lang | None
    disabled: frozenset[str]
    date_order: str
    rule: str = ""
    """The rule running now (for `report`)."""
    vault: list[str] = field(default_factory=list)
    sealing: bool = False

    def seal(self, original: str) -> str:
        """Swap `original` for one private-use character later rules ignore."""
        if len(self.vault) >= _SEAL_MAX:
            return original
        self.vault.append(original)
        return chr(_SEAL_BASE + len(self.vault) - 1)

    def sub(self, pattern: re.Pattern[str], fn: Callable[[re.Match[str]], str | None],
            text: str) -> str:
        """`pattern.sub` where `fn` may decline (None); a match it fails on stays as written."""

        def guarded(m: re.Match[str]) -> str:
            try:
                out = fn(m)
            except Exception as error:  # noqa: BLE001 - one odd token must not stop speech
                report(self.rule, error)
                out = None
            if out is None or out == m.group(0):
                return m.group(0)
            return self.seal_core(m.group(0)) if self.sealing else out

        return pattern.sub(guarded, text)

    def seal_core(self, original: str) -> str:
        """Seal a disabled rule's span, leaving its outer whitespace outside so
        the final strip/collapse still applies; inner whitespace becomes single
        spaces, as everywhere else in the output."""
        core = original.strip()
        if not core:
            return original
        head = original[: len(original) - len(original.lstrip())]
        tail = original[len(original.rstrip()):]
        return head + self.seal(SPACES_RE.sub(" ", core)) + tail

    def unseal(self, text: str) -> str:
        for _ in range(8):  # sealed spans may contain seals; nesting is shallow
            if not _SEAL_RE.search(text):
                break
            text = _SEAL_RE.sub(lambda m: self.vault[ord(m.group()) - _SEAL_BASE], text)
        return text


_NEWLINES_RE = re.compile(r"\r\n?|[\u2028\u2029\u0085\v\f]")
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_PHONEME_RE = re.compile(r"\[[^\[\]\n]+\]\(/[^()\n]*/\)")


def sanitize(text: str) -> str:
    """NFC-compose, unify newlines, and drop characters nobody can say:
    controls, invisible formatting, surrogates and private-use characters
    (the latter also keeps our seal characters unambiguous)."""
    text = unicodedata.normalize("NFC", text)
    text = _NEWLINES_RE.sub("\n", text).replace("\t", " ")
    text = _INVISIBLE_RE.sub("", text)
    return "".join(
        ch for ch in text
        if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )


def protect_phonemes(text: str, c: Ctx) -> str:
    """Seal Kokoro's ``[word](/phonemes/)`` so nothing downstream alters it."""
    return _PHONEME_RE.sub(lambda m: c.seal(m.group(0)), text)


_DOUBLE_PUNCT_RE = re.compile(r"(?<=[.!?,;:])(?: [.,;:])+(?=\s|$)")
_SPACED_DASH_RE = re.compile(r"(?<=\S) [-–] (?=\S)")
"""A dash between words is a pause (the model's "—"), not a word the G2P must guess."""
_SPACE_BEFORE_PUNCT_RE = re.compile(r" ([,.;:!?])(?=\s|$)")


def tidy_spacing(text: str) -> str:
    """Single spaces, no space before punctuation, no ". ." left by deletions."""
    text = SPACES_RE.sub(" ", text).strip()
    text = _SPACED_DASH_RE.sub(" — ", text)
    text = _DOUBLE_PUNCT_RE.sub("", text)
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
