"""Download one file safely: resumable, retried, verified, locked, visibly progressing.

A Home Assistant user installs the add-on and expects it to fetch the
~340 MB of model files by itself, to show that something is happening, and
to keep working afterwards when the internet is down. Which files are
needed, and whether they are already there, is decided by
:mod:`.model_files`; this module moves the bytes:

* Downloads stream into ``NAME.part`` next to the destination and resume with
  an HTTP ``Range`` header, both after a dropped connection (we retry with
  exponential backoff) and after a restart of the whole process (an existing
  ``.part`` is picked up). A server that ignores the range (``200``) or
  rejects it (``416``) makes us start over rather than splice bad bytes.
* Every read has a timeout, so a server that stalls ends in a retry and
  finally in a :class:`DownloadError`, never in a hang. No network at all (a
  name that does not resolve, no route) fails at once with ``offline`` set:
  retrying with back-off would only delay the message that says what to do.
* Two processes sharing a directory (two servers on one volume) do not write
  into the same ``NAME.part``: a lock file ``.NAME.lock`` is held for the
  whole download; the second process waits, then uses the first one's file.
* Progress also beats the start-up heartbeat (see :mod:`.heartbeat`), so the
  container health check passes while a download moves.
* A finished file is verified before it is accepted, then moved into place
  with an atomic :func:`os.replace`: the final name only ever holds a whole,
  verified file, and a failed download never replaces a good one.

What counts as the right file is :mod:`.verify`'s job (digests from :mod:`.release`).

Command line: ``python -m wyoming_kokoro.download --data-dir DIR`` fetches
what is missing (through the same start-up code as the server) and exits 0,
or prints one readable line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp

from . import heartbeat
from .progress import Progress
from .release import DEFAULT_URL_BASE, VARIANTS
from .verify import VerificationFailed, first_line, verify

try:
    import fcntl
except ImportError:  # not Linux / macOS: downloads work, unlocked
    fcntl = None  # type: ignore[assignment]

_LOGGER = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 16
"""Read size: small enough for smooth progress, large enough to be cheap."""

MAX_BACKOFF = 30.0
"""Cap on the wait between retries, so a long outage still retries often."""


class DownloadError(Exception):
    """One readable message naming the file, the URL, and where to put the file by hand.

    This is what ends up in the add-on log, so it must tell a user who cannot
    debug Python exactly what to do next.
    """

    def __init__(self, name: str, url: str, directory: Path, reason: str, *, offline: bool = False) -> None:
        self.name = name
        self.url = url
        self.directory = Path(directory)
        self.reason = " ".join(str(reason).split()) or "unknown error"
        self.offline = offline
        """True when the network itself is missing (DNS, no route): every
        other missing file will fail the same way, so callers say so at once."""
        super().__init__(
            f"could not download {name} from {url}: {self.reason}; "
            f"download it by hand into {self.directory} (keeping the name {name})"
        )


# --------------------------------------------------------------------------
# Transfer
# --------------------------------------------------------------------------


class _Retryable(Exception):
    """A failure worth trying again (server trouble, cut connection)."""


class _Fatal(Exception):
    """A failure retrying will not fix (404, 403, ...)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CONTENT_RANGE_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _part_size(part: Path) -> int:
    try:
        return part.stat().st_size
    except FileNotFoundError:
        return 0


def _check_status(resp: aiohttp.ClientResponse) -> None:
    """Map an HTTP status to retry or give up.

    4xx means the request itself is wrong (bad URL, no access), so retrying
    only delays the message - except 408 and 429, which are about timing.
    """
    status = resp.status
    if status in (200, 206):
        return
    text = f"HTTP {status} {resp.reason or ''}".strip()
    if status in (408, 429) or status >= 500:
        raise _Retryable(text)
    raise _Fatal(text)


async def _fetch_once(
    session: aiohttp.ClientSession,
    url: str,
    part: Path,
    timeout: aiohttp.ClientTimeout,
    progress: Progress,
) -> bool:
    """One HTTP request appending to ``part``; return True if it resumed.

    Raises on anything short of having the complete body on disk.
    """
    offset = _part_size(part)
    headers = {"Accept-Encoding": "identity"}  # byte ranges must mean file bytes
    if offset:
        headers["Range"] = f"bytes={offset}-"
    async with session.get(url, headers=headers, timeout=timeout) as resp:
        if resp.status == 416 and offset:
            return _handle_unsatisfiable(resp, part, offset)
        _check_status(resp)
        offset, total = _resume_point(resp, part, offset)
        progress.begin(total, offset)
        with open(part, "ab" if offset else "wb") as f:
            async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
                f.write(chunk)
                progress.advance(len(chunk))
    size = _part_size(part)
    if total is not None and size != total:
        raise _Retryable(f"connection ended after {size} of {total} bytes")
    return offset > 0


def _handle_unsatisfiable(
    resp: aiohttp.ClientResponse, part: Path, offset: int
) -> bool:
    """416 to our Range: either the .part is already whole, or it is junk.

    A previous process may have died between the last byte and the rename;
    then the server reports exactly our size and we go on to verification.
    Otherwise the .part is longer than the file and must go.
    """
    match = _CONTENT_RANGE_UNSATISFIED.search(resp.headers.get("Content-Range", ""))
    if match and int(match.group(1)) == offset:
        return True
    _LOGGER.warning("Server rejected resume at byte %d; starting over", offset)
    part.unlink(missing_ok=True)
    raise _Retryable("server rejected the resume range (HTTP 416)")


def _resume_point(
    resp: aiohttp.ClientResponse, part: Path, offset: int
) -> tuple[int, int | None]:
    """Decide where the body starts: (bytes to keep, expected final size).

    Only a 206 whose Content-Range starts exactly at our offset lets us
    append; a 200 is the whole file again, so the .part is overwritten.
    """
    if resp.status == 206:
        match = _CONTENT_RANGE.search(resp.headers.get("Content-Range", ""))
        if not offset or not match or int(match.group(1)) != offset:
            part.unlink(missing_ok=True)
            raise _Retryable("server sent an unexpected byte range")
        total_text = match.group(3)
        return offset, None if total_text == "*" else int(total_text)
    if offset:
        _LOGGER.info("Server ignored the resume request; downloading %s again", part.name)
    return 0, resp.content_length


def _backoff_delay(attempt: int, backoff: float) -> float:
    return min(backoff * (2**attempt), MAX_BACKOFF)


async def download_file(
    url: str,
    dest: Path,
    sha256: str | None,
    *,
    session: aiohttp.ClientSession | None = None,
    retries: int = 4,
    timeout: float = 30.0,
    progress: Progress | None = None,
    validate: Callable[[Path], None] | None = None,
    backoff: float = 1.0,
) -> Path:
    """Download ``url`` to ``dest``, verified, resuming and retrying; return ``dest``.

    ``retries`` is the number of extra attempts after the first; the waits
    between them double from ``backoff`` seconds. ``timeout`` bounds the
    connect and every single read, not the whole transfer, so a slow but
    steady link is fine while a stalled one is not. ``sha256`` and/or
    ``validate`` decide whether the bytes are accepted; with neither, the
    file is accepted as received (and a warning is logged).

    This always downloads: checking for an existing file is the caller's
    job (see :func:`ensure_file`). An existing ``dest`` is only ever
    replaced by a verified file.
    """
    dest = Path(dest)
    if sha256 is None and validate is None:
        _LOGGER.warning("No hash or validator for %s; it will not be verified", dest.name)
    if progress is None:
        progress = Progress(dest.name)
    client_timeout = aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=timeout, sock_read=timeout
    )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        async with DownloadLock(dest) as lock:
            if lock.waited and dest.is_file() and dest.stat().st_size > 0:
                _LOGGER.info("Using %s, downloaded by the other process", dest)
                return dest
            if session is not None:
                return await _download_with_retries(
                    session, url, dest, sha256, validate,
                    retries, backoff, client_timeout, progress,
                )
            async with aiohttp.ClientSession() as own_session:
                return await _download_with_retries(
                    own_session, url, dest, sha256, validate,
                    retries, backoff, client_timeout, progress,
                )
    except DownloadError:
        raise
    except OSError as exc:  # disk full, permission denied: retrying won't help
        raise DownloadError(dest.name, url, dest.parent, first_line(exc)) from exc
    finally:
        progress.abandon()


async def _download_with_retries(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    sha256: str | None,
    validate: Callable[[Path], None] | None,
    retries: int,
    backoff: float,
    timeout: aiohttp.ClientTimeout,
    progress: Progress,
) -> Path:
    """The retry loop around :func:`_fetch_once` + verification + rename."""
    part = _part_path(dest)
    attempt = 0
    while True:
        resumed = False
        try:
            if _part_size(part):
                _LOGGER.info("Resuming %s from byte %d", dest.name, _part_size(part))
            elif attempt == 0:
                _LOGGER.info("Downloading %s from %s", dest.name, url)
            resumed = await _fetch_once(session, url, part, timeout, progress)
            progress.finish()
            return await _accept(part, dest, sha256, validate)
        except _Fatal as exc:
            raise DownloadError(dest.name, url, dest.parent, str(exc)) from exc
        except VerificationFailed as exc:
            part.unlink(missing_ok=True)
            # A resumed file may have inherited bad bytes from an old .part:
            # one clean download settles it. A clean one failing is final.
            if not resumed or attempt >= retries:
                raise DownloadError(dest.name, url, dest.parent, str(exc)) from exc
            _LOGGER.warning("%s: %s; downloading it again from scratch", dest.name, exc)
        except (aiohttp.ClientError, TimeoutError, _Retryable) as exc:
            reason = _describe(exc)
            if _is_offline(exc):
                raise DownloadError(dest.name, url, dest.parent, reason, offline=True) from exc
            if attempt >= retries:
                raise DownloadError(
                    dest.name, url, dest.parent, f"{reason} (after {attempt + 1} attempts)"
                ) from exc
            delay = _backoff_delay(attempt, backoff)
            progress.abandon()  # end the terminal progress line before logging
            _LOGGER.warning(
                "Download of %s failed (%s); retrying in %.3g s", dest.name, reason, delay
            )
            await asyncio.sleep(delay)
        attempt += 1


async def _accept(
    part: Path, dest: Path, sha256: str | None, validate: Callable[[Path], None] | None
) -> Path:
    """Verify the complete .part and atomically move it to ``dest``."""
    _LOGGER.debug("Verifying %s", dest.name)
    await verify(part, sha256, validate)
    os.replace(part, dest)
    _LOGGER.info("Saved %s", dest)
    return dest


_OFFLINE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


def _is_offline(exc: BaseException) -> bool:
    """No network at all, as opposed to a server having a bad moment."""
    if not isinstance(exc, aiohttp.ClientConnectorError):
        return False
    os_error = exc.os_error
    return isinstance(os_error, socket.gaierror) or getattr(os_error, "errno", None) in _OFFLINE_ERRNOS


def _describe(exc: BaseException) -> str:
    """A short reason for the log; aiohttp's timeout errors have empty text."""
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        return f"cannot resolve {exc.host} (no internet connection or DNS?)"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({first_line(exc.os_error)})"
    return first_line(exc)


class DownloadLock:
    """Exclusive ``flock`` on ``.NAME.lock`` beside the destination, for one download.

    The kernel releases it when its holder dies, so a killed process never
    blocks the next start. A waiter polls (instead of blocking a thread) and
    beats the heartbeat while the holder's ``.part`` grows. The lock file is
    removed by its holder; a waiter that then locks the removed file notices
    (different inode) and tries again.
    """

    def __init__(self, dest: Path, poll: float = 0.5) -> None:
        self.dest = Path(dest)
        self.path = self.dest.with_name(f".{self.dest.name}.lock")
        self.poll = poll
        self.fd: int | None = None
        self.waited = False

    async def __aenter__(self) -> DownloadLock:
        if fcntl is None:
            return self
        part, last_size = _part_path(self.dest), -1
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not self.waited:
                    _LOGGER.info("Another process is downloading %s into %s; waiting for it",
                                 self.dest.name, self.dest.parent)
                    self.waited = True
                size = _part_size(part)
                if size != last_size:
                    heartbeat.beat(f"another process is downloading {self.dest.name}")
                    last_size = size
                await asyncio.sleep(self.poll)
                continue
            try:
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    self.fd = fd
                    return self
            except FileNotFoundError:
                pass
            os.close(fd)  # the previous holder removed it: lock the new one

    async def __aexit__(self, *exc: object) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_kokoro.download",
        description="Fetch the Kokoro model files that are missing from the data directories.",
    )
    parser.add_argument(
        "--data-dir", action="append", required=True, type=Path,
        help="directory to look for model files in (repeatable)",
    )
    parser.add_argument(
        "--download-dir", type=Path, help="where to save downloads (default: first --data-dir)"
    )
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="fp32")
    parser.add_argument("--download-url-base", default=DEFAULT_URL_BASE)
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch what is missing; print the two paths and return 0, or one line and 2.

    Pre-fetching only: the same search and download as the server's start-up
    (:func:`wyoming_kokoro.model_files.locate_model_files`), without serving.
    Failures are a single sentence, not a traceback.
    """
    from .config import ConfigError, validate  # noqa: PLC0415 - model_files imports this module
    from .model_files import locate_model_files  # noqa: PLC0415

    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(levelname)s:%(name)s:%(message)s",
    )
    config = validate({
        "data_dirs": [str(d) for d in args.data_dir],
        "model": {"variant": args.variant},
        "download": {"url_base": args.download_url_base,
                     "dir": str(args.download_dir) if args.download_dir else None},
    }, "command line")
    try:
        model, voices = locate_model_files(config)
    except (ConfigError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; a partial download will resume next time", file=sys.stderr)
        return 130
    print(model)
    print(voices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
