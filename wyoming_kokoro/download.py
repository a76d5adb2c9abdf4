"""Fetch the Kokoro model files once, safely, with visible progress.

A Home Assistant user installs the add-on and expects it to fetch the
~340 MB of model files by itself, to show that something is happening, and
to keep working afterwards when the internet is down. So:

* Files already present in any data directory are used as they are; the
  network is only touched for what is missing. An offline restart of a
  working install therefore never fails here.
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

Verification: the fp32 model and the voices have known SHA-256 digests (from
the kokoro-onnx ``model-files-v1.0`` release) and are hashed. The hashes of
the fp16 and int8 models are *not* known here, so instead those files must
load in onnxruntime (CPU) as the expected graph - a token-id input named
``tokens`` or ``input_ids`` of type int64, plus ``style`` and ``speed``
inputs, and at least one output - before they are accepted. That catches
truncation, HTML error pages and the wrong model, though not a deliberately
tampered file; use the fp32 model where that matters.

Command line: ``python -m wyoming_kokoro.download --data-dir DIR`` fetches
what is missing (through the same start-up code as the server) and exits 0,
or prints one readable line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import hashlib
import logging
import os
import re
import socket
import sys
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

from . import heartbeat

try:
    import fcntl
except ImportError:  # not Linux / macOS: downloads work, unlocked
    fcntl = None  # type: ignore[assignment]

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL_BASE = (
    "https://github.com/thewh1teagle/kokoro-onnx/releases/download/model-files-v1.0"
)

VOICES_FILE = "voices-v1.0.bin"

CHUNK_SIZE = 1 << 16
"""Read size: small enough for smooth progress, large enough to be cheap."""

MAX_BACKOFF = 30.0
"""Cap on the wait between retries, so a long outage still retries often."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of the release: its name, digest (None = unknown) and rough size."""

    name: str
    sha256: str | None
    size_hint: int
    """Approximate size in bytes; only for messages, never trusted."""


FILES: dict[str, RemoteFile] = {
    f.name: f
    for f in (
        RemoteFile(
            "kokoro-v1.0.onnx",
            "7d5df8ecf7d4b1878015a32686053fd0eebe2bc377234608764cc0ef3636a6c5",
            310_000_000,
        ),
        RemoteFile("kokoro-v1.0.fp16.onnx", None, 170_000_000),
        RemoteFile("kokoro-v1.0.int8.onnx", None, 88_000_000),
        RemoteFile(
            VOICES_FILE,
            "bca610b8308e8d99f32e6fe4197e7ec01679264efed0cac9140fe9c29f1fbf7d",
            27_000_000,
        ),
    )
}

VARIANTS: dict[str, str] = {
    "fp32": "kokoro-v1.0.onnx",
    "fp16": "kokoro-v1.0.fp16.onnx",
    "int8": "kokoro-v1.0.int8.onnx",
}


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
# Progress
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


class _VerificationFailed(Exception):
    """The bytes arrived but are not the file we wanted."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so a 310 MB model fits in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def validate_kokoro_onnx(path: Path) -> None:
    """Raise ValueError unless ``path`` loads as a Kokoro-shaped ONNX graph.

    Used when no digest is known: actually loading the model is the only
    check that catches a truncated file, an HTML error page and a different
    model alike. Import is lazy because onnxruntime is heavy and only needed
    right after a download.
    """
    import onnxruntime  # noqa: PLC0415 - deliberately lazy

    try:
        session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # noqa: BLE001 - ORT raises many private types
        raise ValueError(f"not a loadable ONNX model ({_first_line(exc)})") from exc
    inputs = {i.name: i.type for i in session.get_inputs()}
    token_inputs = [n for n in ("tokens", "input_ids") if n in inputs]
    if not token_inputs:
        raise ValueError(f"ONNX model has no 'tokens'/'input_ids' input (has {sorted(inputs)})")
    if inputs[token_inputs[0]] != "tensor(int64)":
        raise ValueError(
            f"ONNX input {token_inputs[0]!r} is {inputs[token_inputs[0]]}, expected tensor(int64)"
        )
    missing = [n for n in ("style", "speed") if n not in inputs]
    if missing:
        raise ValueError(f"ONNX model lacks input(s) {missing} (has {sorted(inputs)})")
    if not session.get_outputs():
        raise ValueError("ONNX model has no outputs")


def validate_voices(path: Path) -> None:
    """Raise ValueError unless ``path`` looks like a voices .npz archive.

    Only used when the voices digest is unknown (a custom URL base without
    hashes): every member must be a float array whose last axis is the
    256-wide style vector.
    """
    import numpy as np  # noqa: PLC0415 - only needed for this rare path

    if not zipfile.is_zipfile(path):
        raise ValueError("not a NumPy .npz archive")
    try:
        with np.load(path) as archive:
            names = list(archive.files)
            if not names:
                raise ValueError("voices archive is empty")
            for name in names:
                array = archive[name]
                if array.ndim < 2 or array.shape[-1] != 256:
                    raise ValueError(f"voice {name!r} has shape {array.shape}")
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt zips raise many types
        raise ValueError(f"unreadable voices archive ({_first_line(exc)})") from exc


def default_validator(name: str) -> Callable[[Path], None] | None:
    """The structural check to use for ``name`` when its digest is unknown."""
    if name.endswith(".onnx"):
        return validate_kokoro_onnx
    if name == VOICES_FILE:
        return validate_voices
    return None


async def _verify(
    path: Path, sha256: str | None, validate: Callable[[Path], None] | None
) -> None:
    """Check a finished ``.part``; runs in a thread to keep the loop responsive."""
    if sha256 is not None:
        actual = await asyncio.to_thread(sha256_of, path)
        if actual.lower() != sha256.lower():
            raise _VerificationFailed(
                f"SHA-256 mismatch (expected {sha256.lower()}, got {actual})"
            )
    if validate is not None:
        try:
            await asyncio.to_thread(validate, path)
        except Exception as exc:  # noqa: BLE001 - any validator failure rejects
            raise _VerificationFailed(
                f"file failed validation: {_first_line(exc)}"
            ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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
            if lock.waited and find_file(dest.name, [dest.parent]) is not None:
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
        raise DownloadError(dest.name, url, dest.parent, _first_line(exc)) from exc
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
        except _VerificationFailed as exc:
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
    await _verify(part, sha256, validate)
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
        return f"cannot connect to {exc.host}:{exc.port} ({_first_line(exc.os_error)})"
    return _first_line(exc)


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
# Model files
# --------------------------------------------------------------------------


def find_file(name: str, data_dirs: Sequence[Path]) -> Path | None:
    """First non-empty ``name`` in ``data_dirs``; a zero-byte file is a leftover, not a model."""
    for directory in data_dirs:
        candidate = Path(directory) / name
        try:
            if candidate.is_file() and candidate.stat().st_size > 0:
                return candidate
        except OSError:
            continue
    return None


async def ensure_file(
    name: str,
    data_dirs: Sequence[Path],
    target: Path,
    url_base: str = DEFAULT_URL_BASE,
    hashes: Mapping[str, str | None] | None = None,
    **kw,
) -> Path:
    """One release file: found in a data dir (or target), else downloaded into target."""
    found = find_file(name, [*data_dirs, target])
    if found is not None:
        _LOGGER.debug("Using %s", found)
        return found
    table = hashes if hashes is not None else {n: f.sha256 for n, f in FILES.items()}
    url = f"{url_base.rstrip('/')}/{name}"
    sha256 = table.get(name)
    validate = None if sha256 else default_validator(name)
    return await download_file(url, target / name, sha256, validate=validate, **kw)


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
