"""The optimised-graph cache: one pre-optimised copy per model file, never trusted blindly.

Why it exists: loading kokoro-v1.0.onnx (310 MB) costs ~830 MB of RSS, 2.7x
the file, because ONNX Runtime's constant folding materialises new copies of
folded weights while the originals are still held. Folding once, in a child
process, and loading the saved result makes later starts take a third of the
time and half the memory.

Why it is careful: it lives on the same SD card as everything else, and it is
written during a first start that a power cut or a stop can interrupt.

* One entry per model file (keyed by the file's path): a new model file,
  mtime or ONNX Runtime version replaces the entry instead of adding another
  ~325 MB file. Entries whose source is gone or changed, or that another
  runtime version built, are removed at start, as are leftover ``*.part``
  files and files of the earlier naming scheme. Disk cost: about the size of
  each model file in use (fp32 ~325 MB, int8 ~90 MB), transiently twice that
  while one is rebuilt. ``optimize: false`` turns the cache off.
* Each entry has a sidecar ``.json`` recording what it was built from (the
  source's path, size, mtime and a fingerprint of its first and last MiB),
  the ONNX Runtime version, and the cache file's own size and SHA-256. An
  entry that does not match - zero bytes, truncated, garbage, another model's
  graph - is deleted and rebuilt; if the rebuilt one still will not load, the
  caller loads the original (see :func:`discard`).
* Files are written to ``.part``, fsynced, then renamed (and the directory
  fsynced), so a power cut leaves either the old state or the new one.
* The optimiser child dies with the server (``PR_SET_PDEATHSIG`` on Linux),
  so a killed server leaves no orphan writing a ``.part``; a lock on the
  cache directory keeps two servers sharing it from building at once (the
  second waits, then uses the first one's result).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import onnxruntime as ort

from . import heartbeat
from .verify import sha256_of

try:
    import fcntl
except ImportError:  # not Linux / macOS: no locking, caches still validated
    fcntl = None  # type: ignore[assignment]

_LOGGER = logging.getLogger(__name__)

SUBDIR = "graphs"
"""Entries live in their own directory, so cleaning it can never touch a
model file even when cache_dir is set to the data directory."""

FORMAT = 1
"""Bumped when the sidecar's meaning changes; older entries are rebuilt."""

_OLD_SCHEME = re.compile(r"^\.?.+\.\d+-\d+\.ort[\w.+-]+\.onnx(\.\d+\.part)?$")
"""Files of the earlier layout (``STEM.SIZE-MTIME.ortVERSION.onnx`` directly in
cache_dir, one per model x mtime x runtime, never removed)."""

_OPTIMIZE = (
    "import sys, onnxruntime as ort\n"
    "so = ort.SessionOptions()\n"
    "so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED\n"
    "so.optimized_model_filepath = sys.argv[2]\n"
    "ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])\n"
)

_PR_SET_PDEATHSIG = 1


def optimized_model(path: Path, cache_dir: Path, timeout: float) -> Path | None:
    """A validated pre-optimised copy of ``path``, built now if needed; None to load the original."""
    path = Path(path).resolve()
    graphs = Path(cache_dir) / SUBDIR
    try:
        graphs.mkdir(parents=True, exist_ok=True)
        with _DirectoryLock(graphs, timeout):
            clean(Path(cache_dir))
            entry = _Entry(graphs, path)
            if entry.valid():
                return entry.graph
            entry.remove()
            return entry.build(timeout)
    except (OSError, subprocess.SubprocessError, TimeoutError) as error:
        _LOGGER.warning("Could not pre-optimise %s (%s); loading it directly (uses more memory)",
                        path.name, error)
        return None


def discard(graph: Path) -> None:
    """Remove an entry that would not load (the caller then rebuilds or loads the original)."""
    for file in (graph, graph.with_suffix(".json")):
        file.unlink(missing_ok=True)


def clean(cache_dir: Path) -> list[Path]:
    """Remove leftovers and stale entries; return what was removed.

    Called with the directory lock held, so no other server is writing here.
    """
    removed = []
    graphs = cache_dir / SUBDIR
    candidates = [p for p in _listdir(cache_dir) if _OLD_SCHEME.match(p.name)]
    candidates += [p for p in _listdir(graphs) if p.name.endswith(".part")]
    sidecars = [p for p in _listdir(graphs) if p.suffix == ".json"]
    for sidecar in sidecars:
        if not sidecar.with_suffix(".onnx").is_file() or _stale(sidecar):
            candidates += [sidecar.with_suffix(".onnx"), sidecar]
    known = {s.with_suffix(".onnx") for s in sidecars}
    candidates += [p for p in _listdir(graphs) if p.suffix == ".onnx" and p not in known]
    for file in candidates:
        try:
            size = file.stat().st_size
            file.unlink()
            removed.append(file)
            _LOGGER.info("Removed %s from the graph cache (%.0f MB)", file.name, size / 1e6)
        except FileNotFoundError:
            continue
    return removed


def _listdir(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file()]
    except OSError:
        return []


def _stale(sidecar: Path) -> bool:
    """An entry no start can use: unreadable, other runtime, source gone or changed."""
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("onnxruntime") != ort.__version__:
            return True
        return meta["source"] != _source_identity(Path(meta["source"]["path"]))
    except (OSError, ValueError, KeyError, TypeError):
        return True


def _source_identity(path: Path) -> dict[str, Any]:
    """What an entry was built from: cheap to check at every start, and a
    fingerprint of the first and last MiB catches a same-size file copied
    over the model with its mtime preserved."""
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        digest.update(f.read(1 << 20))
        if stat.st_size > 2 << 20:
            f.seek(-(1 << 20), os.SEEK_END)
            digest.update(f.read(1 << 20))
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "fingerprint": digest.hexdigest()}


class _Entry:
    """The cache entry for one model file: ``graphs/STEM-KEY.onnx`` + ``.json``."""

    def __init__(self, graphs: Path, source: Path) -> None:
        key = hashlib.sha256(str(source).encode()).hexdigest()[:12]
        self.source = source
        self.graph = graphs / f"{source.stem}-{key}.onnx"
        self.sidecar = self.graph.with_suffix(".json")

    def valid(self) -> bool:
        """True if the entry was built from this very source by this runtime and is intact."""
        if not self.graph.is_file():
            return False
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
            problem = None
            if meta.get("format") != FORMAT or meta.get("onnxruntime") != ort.__version__:
                problem = "built by another ONNX Runtime"
            elif meta.get("source") != _source_identity(self.source):
                problem = "built from another version of the model file"
            elif self.graph.stat().st_size != meta.get("size"):
                problem = f"{self.graph.stat().st_size} bytes instead of {meta.get('size')}"
            elif sha256_of(self.graph) != meta.get("sha256"):
                problem = "its content does not match its checksum"
        except (OSError, ValueError, TypeError) as error:
            problem = f"no readable record of what it was built from ({type(error).__name__})"
        if problem:
            _LOGGER.warning("Cached graph %s is unusable (%s); rebuilding it", self.graph.name, problem)
            return False
        return True

    def remove(self) -> None:
        discard(self.graph)

    def build(self, timeout: float) -> Path:
        """Optimise in a child process into ``.part``, fsync, record, rename."""
        part = self.graph.with_name(self.graph.name + ".part")
        started = time.monotonic()
        _LOGGER.info("Optimising %s once into the graph cache (a first start takes a while)", self.source.name)
        _run_optimiser(self.source, part, timeout)
        _fsync(part)
        meta = {"format": FORMAT, "onnxruntime": ort.__version__, "source": _source_identity(self.source),
                "size": part.stat().st_size, "sha256": sha256_of(part)}
        sidecar_part = self.sidecar.with_name(self.sidecar.name + ".part")
        sidecar_part.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _fsync(sidecar_part)
        os.replace(part, self.graph)
        os.replace(sidecar_part, self.sidecar)
        _fsync_dir(self.graph.parent)
        _LOGGER.info("Optimised %s into %s (%.1f s, %.0f MB)", self.source.name, self.graph,
                     time.monotonic() - started, meta["size"] / 1e6)
        return self.graph


def _run_optimiser(source: Path, target: Path, timeout: float) -> None:
    """Run ONNX Runtime's optimiser in a child that cannot outlive us; beat while it works."""
    process = subprocess.Popen([sys.executable, "-c", _OPTIMIZE, str(source), str(target)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(process.args, timeout)
            heartbeat.beat(f"optimising {source.name}")
            time.sleep(0.2)
        if process.returncode != 0:
            # Its last line goes to the debug log only: an unloadable model is
            # reported once, by the direct load that follows, not twice.
            stderr = process.stderr.read().decode(errors="replace").strip().splitlines() if process.stderr else []
            _LOGGER.debug("Optimiser for %s: %s", source.name, stderr[-1] if stderr else "no output")
            raise subprocess.SubprocessError(f"the optimiser exited with code {process.returncode}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        if process.returncode != 0:
            target.unlink(missing_ok=True)


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    """Ask the kernel to SIGKILL the optimiser when the server dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot sync a directory
        pass
    finally:
        os.close(fd)


class _DirectoryLock:
    """An exclusive flock on ``graphs/.lock``: one server at a time cleans or builds.

    A second server waits (beating the heartbeat) up to ``timeout`` seconds,
    then finds the first one's entry. The kernel releases the lock when its
    holder dies, so a killed server never blocks the next start.
    """

    def __init__(self, directory: Path, timeout: float) -> None:
        self.path = directory / ".lock"
        self.timeout = timeout
        self.fd: int | None = None

    def __enter__(self) -> _DirectoryLock:
        if fcntl is None:
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        logged = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise TimeoutError("another server kept the graph cache locked") from None
                if not logged:
                    _LOGGER.info("Another server is optimising into %s; waiting for it", self.path.parent)
                    logged = True
                heartbeat.beat("waiting for another server's graph optimisation")
                time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None
