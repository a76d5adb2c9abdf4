"""Stopping on SIGTERM / SIGINT at any moment, within Docker's 10 s.

Two phases need different means:

- Start-up (model download, graph optimisation, warm-up): there is no
  event loop yet. Python's default is to die on SIGTERM, except as PID 1
  in a container, where an unhandled SIGTERM is ignored and Docker waits
  its 10 s before SIGKILL. `startup_signals` turns the signal into a
  `Stopped` exception in the main thread (start-up code cleans up as it
  unwinds: partial files, an optimiser child), and because Python runs
  signal handlers only between bytecodes, a watchdog thread woken by the
  signal itself (through the wakeup fd, written in C at once) ends the
  process if the main thread is still inside a long native call after a
  grace period.
- Serving: the event loop handles the signal (see __main__.serve); once a
  stop has begun, `exit_deadline` guarantees the process is gone within
  a bound even if some cleanup hangs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator

_LOGGER = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

STARTUP_GRACE = 3.0
"""Seconds start-up code has to unwind after a stop signal before the
process is ended from the watchdog thread."""

STOP_DEADLINE = 8.0
"""Seconds a stop may take once serving has begun (Docker kills at 10)."""


_PENDING: list[int] = []
_PREVIOUS: dict[int, object] = {}


def restore_signals() -> None:
    """Put back the handlers that were there before `startup_signals`."""
    while _PREVIOUS:
        signum, handler = _PREVIOUS.popitem()
        with contextlib.suppress(ValueError, TypeError):  # not the main thread
            signal.signal(signum, handler)
    _PENDING.clear()


def pending_stop() -> bool:
    """Whether a stop signal came after start-up, before serving began."""
    return bool(_PENDING)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived during start-up. Not an Exception: start-up
    code that falls back on `except Exception` (a failed optimisation, a
    download retry) must not swallow it. A KeyboardInterrupt in particular:
    asyncio re-raises those from a callback the signal lands in, where any
    other BaseException is only logged (seen: a download's loop went on and
    the watchdog had to end the process)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_now(message: str) -> None:
    """End the process at once: no interpreter teardown, which could wait
    for (or crash under) a native call still running in another thread."""
    _LOGGER.warning("%s", message)
    with contextlib.suppress(Exception):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


@contextlib.contextmanager
def startup_signals(grace: float = STARTUP_GRACE) -> Iterator[None]:
    """Within the block, a stop signal raises `Stopped` in the main thread;
    if the block has not ended `grace` seconds later, the process exits."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    finished = threading.Event()
    stopping: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if finished.is_set():
            _PENDING.append(signum)  # between start-up and the event loop's own handlers
        elif not stopping:
            stopping.append(signum)
            raise Stopped(signum)
        # A second signal while start-up unwinds must not interrupt its
        # cleanup (killing the optimiser, removing partial files); the
        # watchdog bounds the wait either way.

    def watchdog() -> None:
        with contextlib.suppress(OSError):
            while os.read(read_fd, 1):  # b"" once the block has ended
                if finished.wait(grace):
                    return
                exit_now(f"Start-up did not stop within {grace:.0f} s of the stop signal; exiting now")

    for signum in STOP_SIGNALS:
        _PREVIOUS.setdefault(signum, signal.signal(signum, handler))
    old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    thread = threading.Thread(target=watchdog, name="kokoro-stop-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        signal.set_wakeup_fd(old_wakeup)
        # The handler stays (recording the signal, see pending_stop) until
        # the event loop installs its own: a stop in between is not lost.
        os.close(write_fd)
        thread.join(1.0)
        with contextlib.suppress(OSError):
            os.close(read_fd)


def exit_deadline(seconds: float = STOP_DEADLINE) -> None:
    """A stop has begun: make sure the process ends within `seconds`."""
    def expire() -> None:
        exit_now(f"Stopping took over {seconds:.0f} s; exiting now")

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
