"""Show how a download is going, where its reader can see it.

A Home Assistant user watching the add-on log during a first start of a few
minutes must see that something is happening; a terminal user expects one
redrawn line. Progress also beats the start-up heartbeat, so the container
health check passes while bytes arrive.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import IO

from . import heartbeat

_LOGGER = logging.getLogger(__name__)


class Progress:
    """Show how a download is going, in the form the reader can see.

    On a terminal a single line is redrawn with ``\\r`` (percent, MB done /
    total, MB/s, ETA). In the add-on log (not a TTY) redrawing would produce
    thousands of lines, so we log at most every ``log_interval`` seconds and
    once at the end.
    """

    def __init__(
        self,
        name: str = "",
        *,
        stream: IO[str] | None = None,
        is_tty: bool | None = None,
        log_interval: float = 5.0,
        redraw_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = _isatty(self.stream) if is_tty is None else is_tty
        self.log_interval = log_interval
        self.redraw_interval = redraw_interval
        self.clock = clock
        self.total: int | None = None
        self.done = 0
        self._session_start_bytes = 0
        self._started = 0.0
        self._last_report = float("-inf")
        self._line_open = False
        self._begun = False

    def begin(self, total: int | None, already: int = 0) -> None:
        """Start (or restart, after a retry) with ``already`` bytes on disk.

        Speed counts only bytes moved since this call, so a resumed download
        does not claim an absurd rate.
        """
        self.total = total
        self.done = already
        self._session_start_bytes = already
        self._started = self.clock()
        self._begun = True

    def advance(self, nbytes: int) -> None:
        """Record ``nbytes`` more bytes and report if it is time to."""
        self.done += nbytes
        heartbeat.beat(f"downloading {self.name}")
        now = self.clock()
        interval = self.redraw_interval if self.is_tty else self.log_interval
        if now - self._last_report >= interval:
            self._last_report = now
            self._report(final=False)

    def finish(self) -> None:
        """Report the final state once (and end the terminal line)."""
        if self._begun:
            self._report(final=True)
            self._begun = False
        self._end_line()

    def abandon(self) -> None:
        """Stop without a final report, leaving the terminal tidy for the error."""
        self._end_line()

    def status(self) -> str:
        """Human-readable state: '42.0%  130.2/310.0 MB  5.1 MB/s  ETA 0:35'."""
        parts = []
        mb_done = self.done / 1e6
        if self.total:
            parts.append(f"{100.0 * self.done / self.total:5.1f}%")
            parts.append(f"{mb_done:.1f}/{self.total / 1e6:.1f} MB")
        else:
            parts.append(f"{mb_done:.1f} MB")
        rate = self._rate()
        parts.append(f"{rate / 1e6:.1f} MB/s")
        if self.total and rate > 0:
            parts.append(f"ETA {_format_eta(max(self.total - self.done, 0) / rate)}")
        return "  ".join(parts)

    def _rate(self) -> float:
        elapsed = self.clock() - self._started
        moved = self.done - self._session_start_bytes
        return moved / elapsed if elapsed > 0 else 0.0

    def _report(self, final: bool) -> None:
        text = f"{self.name}  {self.status()}" if self.name else self.status()
        if self.is_tty:
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()
            self._line_open = True
        else:
            _LOGGER.info("%s %s", "Downloaded" if final else "Downloading", text)

    def _end_line(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _format_eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
