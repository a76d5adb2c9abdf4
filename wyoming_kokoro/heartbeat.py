"""Tell the container health check that a slow start-up is still making progress.

A first start on a slow link downloads ~340 MB and then optimises the graph;
until the server listens, a health check that only sends Describe fails, and
after the start period Docker marks the container UNHEALTHY and Home
Assistant's watchdog restarts it mid-download. So while a download or the
graph optimisation advances, we touch the file named by
``WYOMING_KOKORO_HEARTBEAT`` (the images set it) and write what we are doing
into it; ``kokoro-healthcheck --starting-ok`` counts a fresh heartbeat as
healthy. Only progress beats: a stalled download stops touching the file and
the check fails as it would for any hung server. Unset (pip installs), this
does nothing.
"""

from __future__ import annotations

import os
import threading
import time

ENV = "WYOMING_KOKORO_HEARTBEAT"

MIN_INTERVAL = 5.0
"""Seconds between writes: the health check allows 120 s, and an SD card
should not see a write per downloaded chunk."""

_lock = threading.Lock()
_last = float("-inf")


def beat(status: str, *, force: bool = False) -> None:
    """Record that start-up advanced (``status`` says how), at most every MIN_INTERVAL s."""
    global _last
    path = os.environ.get(ENV)
    if not path:
        return
    now = time.monotonic()
    with _lock:
        if not force and now - _last < MIN_INTERVAL:
            return
        _last = now
    try:
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(status[:200] + "\n")
        os.replace(temporary, path)
    except OSError:  # a read-only /tmp must not stop the server
        pass
