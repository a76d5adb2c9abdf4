"""One Kokoro ONNX session: providers, threads, memory arena, warm-up, run.

The session is created once at start and shared by every client. Input
names and dtypes are read from the graph, because exports disagree: the
published kokoro-v1.0.onnx takes `tokens` and returns `audio`, newer exports
take `input_ids` and also return `duration`.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from . import graph_cache
from .vocab import MAX_TOKENS, PAD_ID

_LOGGER = logging.getLogger(__name__)

_NUMPY = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16,
    "tensor(double)": np.float64, "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}
TOKEN_INPUTS = ("tokens", "input_ids")
AUTO_PROVIDERS = (
    "CUDAExecutionProvider", "ROCMExecutionProvider",
    "DmlExecutionProvider", "OpenVINOExecutionProvider",
)
"""Accelerators tried by `provider: auto` before the CPU. CoreML is left out
of auto on purpose: it has hung at start-up; name it explicitly to try it."""


class ModelError(Exception):
    """The model file is missing, unreadable or not a Kokoro graph."""


@dataclass
class SessionOptions:
    providers: Sequence[str] | str = "auto"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    arena: bool = True
    arena_max_mb: int | None = None
    arena_shrink: bool = True
    provider_timeout: float = 120.0
    optimized_dir: Path | None = None
    """Where to keep the pre-optimised CPU graph (None: optimise at every load)."""
    extra: dict[str, str] = field(default_factory=dict)


_env_allocator_lock = threading.Lock()
_env_allocator_mb: int | None = None


def _register_capped_arena(max_mb: int) -> None:
    """Register a process-wide CPU arena that can never grow past max_mb.

    ONNX Runtime's per-session arena has no size limit reachable from
    Python; a shared (environment) allocator built from OrtArenaCfg does, and
    sessions use it with session.use_env_allocators=1. kSameAsRequested
    extends the arena by what is asked rather than doubling, so the cap is
    not overshot by a power-of-two step.
    """
    global _env_allocator_mb
    with _env_allocator_lock:
        if _env_allocator_mb == max_mb:
            return
        if _env_allocator_mb is not None:
            raise ModelError("the arena cap is process-wide and was already set")
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        # Only these two keys: setting max_dead_bytes_per_chunk=0 or a small
        # initial chunk made ONNX Runtime 1.2x abort ("Could not find Region").
        cfg = ort.OrtArenaCfg({"max_mem": max_mb * 1024 * 1024, "arena_extend_strategy": 1})
        ort.create_and_register_allocator(info, cfg)
        _env_allocator_mb = max_mb


_M_MMAP_THRESHOLD = -3


def release_large_buffers_to_os(threshold: int = 128 * 1024) -> bool:
    """Make glibc serve every allocation over `threshold` with mmap.

    glibc raises its mmap threshold each time a large mmapped block is
    freed, after which ONNX Runtime's multi-megabyte activations come from
    the heap and are never given back: RSS ratchets up with every long text.
    A fixed threshold keeps large buffers in mmap, returned on free.
    Measured on the stand-in (138 s of audio): peak 1029 -> 877 MB, RSS after
    the request 629 -> 460 MB. Linux/glibc only; elsewhere a no-op.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


def resolve_providers(wanted: Sequence[str] | str) -> list[str]:
    """The providers to try, in order; unavailable ones skipped with a warning."""
    available = ort.get_available_providers()
    if wanted == "auto":
        chosen = [p for p in AUTO_PROVIDERS if p in available]
    else:
        chosen = []
        for provider in wanted:
            if provider in available:
                chosen.append(provider)
            else:
                _LOGGER.warning("Execution provider %s is not available here (have: %s); skipped",
                                provider, ", ".join(available))
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


class KokoroModel:
    """A loaded, ready Kokoro session. `run` is thread-safe."""

    def __init__(self, path: Path, options: SessionOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or SessionOptions()
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.session, self.provider = self._open_first_working()
        self._bind_io()
        self._run_options = ort.RunOptions()
        if self.options.arena and self.options.arena_shrink and self.provider == "CPUExecutionProvider":
            # Hand arena memory back after each call instead of keeping the
            # high-water mark of the longest text ever spoken.
            self._run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    # -- creation -----------------------------------------------------------
    def _session_options(self) -> ort.SessionOptions:
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.options.intra_op_threads
        so.inter_op_num_threads = self.options.inter_op_threads
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        so.enable_cpu_mem_arena = self.options.arena
        if self.options.arena and self.options.arena_max_mb:
            _register_capped_arena(self.options.arena_max_mb)
            so.add_session_config_entry("session.use_env_allocators", "1")
        for key, value in self.options.extra.items():
            so.add_session_config_entry(key, value)
        return so

    def _open_first_working(self) -> tuple[ort.InferenceSession, str]:
        providers = resolve_providers(self.options.providers)
        last_error: str = ""
        for provider in providers:
            started = time.monotonic()
            if provider == "CPUExecutionProvider" and self.options.optimized_dir is not None:
                session, error = self._open_optimised(provider, self.options.optimized_dir)
            else:
                session, error = self._open_with_timeout(provider, self.path)
            if session is not None:
                _LOGGER.info("Loaded %s on %s in %.1f s", self.path.name, provider,
                             time.monotonic() - started)
                return session, provider
            last_error = error
            _LOGGER.warning("Execution provider %s failed (%s); trying the next one", provider, error)
        raise ModelError(f"could not load {self.path} on any provider: {last_error}")

    def _open_optimised(self, provider: str, cache_dir: Path) -> tuple[ort.InferenceSession | None, str]:
        """Load from the graph cache (see graph_cache). A cached graph that will
        not load is the cache's fault, not the user's model: it is discarded and
        rebuilt once, and if that fails too the original file is loaded."""
        for attempt in range(2):
            graph = graph_cache.optimized_model(self.path, cache_dir, self.options.provider_timeout)
            if graph is None:
                break
            try:
                return self._open_with_timeout(provider, graph)
            except ModelError as error:
                _LOGGER.warning("Cached graph %s would not load (%s); %s", graph.name, error,
                                "rebuilding it" if attempt == 0 else "loading the original model")
                graph_cache.discard(graph)
        return self._open_with_timeout(provider, self.path)

    def _open_with_timeout(self, provider: str, load_path: Path) -> tuple[ort.InferenceSession | None, str]:
        """Create the session and run one tiny call, within provider_timeout.

        Some providers hang in initialisation or in their first run (graph
        compilation); a daemon thread lets us walk away from one and try
        the next provider instead of hanging the server at start.
        """
        result: dict[str, Any] = {}

        def target() -> None:
            try:
                session = ort.InferenceSession(
                    str(load_path), sess_options=self._session_options(), providers=[provider]
                )
                _check_graph(session, self.path)
                if provider != "CPUExecutionProvider":
                    _probe(session)
                result["session"] = session
            except ModelError as error:
                result["fatal"] = error
            except Exception as error:  # noqa: BLE001 - ORT raises many types
                result["error"] = f"{type(error).__name__}: {error}".splitlines()[0]

        thread = threading.Thread(target=target, name=f"load-{provider}", daemon=True)
        thread.start()
        thread.join(self.options.provider_timeout)
        if thread.is_alive():
            return None, f"no answer within {self.options.provider_timeout:g} s"
        if "fatal" in result:
            raise result["fatal"]
        if "session" in result:
            return result["session"], ""
        error = result.get("error", "unknown error")
        if provider == "CPUExecutionProvider":
            raise ModelError(f"{self.path} is not a loadable ONNX model: {error}")
        return None, error

    def _bind_io(self) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.token_input = next(n for n in TOKEN_INPUTS if n in inputs)
        self.dtypes = {name: _NUMPY.get(i.type, np.float32) for name, i in inputs.items()}
        outputs = [o.name for o in self.session.get_outputs()]
        self.audio_output = "audio" if "audio" in outputs else outputs[0]

    # -- use ----------------------------------------------------------------
    def run(self, token_ids: Sequence[int], style: np.ndarray, speed: float) -> np.ndarray:
        """Audio (float32, 24 kHz, 1-D) for up to MAX_TOKENS token ids."""
        if not 0 < len(token_ids) <= MAX_TOKENS:
            raise ValueError(f"a model call takes 1..{MAX_TOKENS} tokens, got {len(token_ids)}")
        ids = np.array([[PAD_ID, *token_ids, PAD_ID]], dtype=self.dtypes[self.token_input])
        feeds = {
            self.token_input: ids,
            "style": np.asarray(style, dtype=self.dtypes["style"]).reshape(1, -1),
            "speed": np.array([speed], dtype=self.dtypes["speed"]),
        }
        (audio,) = self.session.run([self.audio_output], feeds, self._run_options)
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def warm_up(self, lengths: Sequence[int], style: np.ndarray,
                budget: float = float("inf")) -> list[tuple[int, float]]:
        """Run each token length twice so request 1 costs what request 100 does.

        The first call at a new shape pays for kernel selection and arena
        growth. The second, warm call is timed: (tokens, seconds) pairs that
        tell how fast this machine runs the model right now (the first
        observations of costmodel.CostModel, which then learns from every
        call). Lengths are run in the order given and warm-up stops once
        `budget` seconds are spent: on a loaded host it must not keep the
        server from answering for a minute.
        """
        timings = []
        deadline = time.monotonic() + budget
        for n in lengths:
            if time.monotonic() >= deadline:
                break
            ids = [50] * max(1, min(n, MAX_TOKENS))
            self.run(ids, style, 1.0)
            started = time.monotonic()
            self.run(ids, style, 1.0)
            timings.append((len(ids), time.monotonic() - started))
        return timings


def _check_graph(session: ort.InferenceSession, path: Path) -> None:
    inputs = {i.name for i in session.get_inputs()}
    missing = []
    if not inputs.intersection(TOKEN_INPUTS):
        missing.append("tokens (or input_ids)")
    missing += [name for name in ("style", "speed") if name not in inputs]
    if missing:
        raise ModelError(
            f"{path} is not a Kokoro model: missing input(s) {', '.join(missing)}; "
            f"it has {', '.join(sorted(inputs)) or 'none'}"
        )


def _probe(session: ort.InferenceSession) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    token = next(n for n in TOKEN_INPUTS if n in inputs)
    session.run(None, {
        token: np.array([[0, 50, 0]], dtype=_NUMPY.get(inputs[token].type, np.int64)),
        "style": np.zeros((1, 256), dtype=_NUMPY.get(inputs["style"].type, np.float32)),
        "speed": np.ones((1,), dtype=_NUMPY.get(inputs["speed"].type, np.float32)),
    })
