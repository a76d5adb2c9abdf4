"""The optimised-graph cache: one entry per model file, validated, cleaned, crash-safe."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from models import build_model

from wyoming_kokoro import graph_cache
from wyoming_kokoro.infer import KokoroModel, SessionOptions


@pytest.fixture
def model(tmp_path) -> Path:
    (tmp_path / "models").mkdir()
    return build_model(tmp_path / "models" / "kokoro-v1.0.onnx")


def entries(cache: Path) -> list[str]:
    graphs = cache / graph_cache.SUBDIR
    return sorted(p.name for p in graphs.iterdir() if p.name != ".lock") if graphs.exists() else []


def build(model: Path, cache: Path) -> Path:
    graph = graph_cache.optimized_model(model, cache, timeout=60)
    assert graph is not None
    return graph


def test_one_entry_per_model_reused_across_starts(model, tmp_path):
    cache = tmp_path / "cache"
    graph = build(model, cache)
    assert entries(cache) == sorted([graph.name, graph.with_suffix(".json").name])  # no .part left
    meta = json.loads(graph.with_suffix(".json").read_text())
    assert meta["onnxruntime"] == graph_cache.ort.__version__ and meta["size"] == graph.stat().st_size
    assert meta["source"]["path"] == str(model.resolve())
    built = graph.stat().st_mtime_ns
    assert build(model, cache) == graph and graph.stat().st_mtime_ns == built  # not rebuilt


def test_a_changed_model_replaces_its_entry(model, tmp_path):
    cache = tmp_path / "cache"
    first = build(model, cache)
    build_model(model, token_name="input_ids")  # a new file at the same path
    second = build(model, cache)
    assert second == first and len(entries(cache)) == 2  # still one entry (graph + record)
    assert "input_ids" in {i.name for i in graph_cache.ort.InferenceSession(str(second)).get_inputs()}


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "garbage", "other model", "no record", "bad record"])
def test_damaged_entry_is_rebuilt(model, tmp_path, damage, caplog):
    cache = tmp_path / "cache"
    graph = build(model, cache)
    good = graph.read_bytes()
    other = build_model(tmp_path / "other.onnx", token_name="input_ids")
    if damage == "zero bytes":
        graph.write_bytes(b"")
    elif damage == "truncated":
        graph.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        graph.write_bytes(os.urandom(len(good)))
    elif damage == "other model":
        shutil.copy(build(other, tmp_path / "other-cache"), graph)
    elif damage == "no record":
        graph.with_suffix(".json").unlink()
    else:
        graph.with_suffix(".json").write_text("{not json")
    caplog.set_level(logging.INFO)
    assert build(model, cache) == graph
    assert graph.read_bytes() == good
    # A damaged graph is found by its record; a damaged record is removed at start.
    assert ("unusable" if "record" not in damage else "Removed") in caplog.text


def test_server_loads_despite_a_damaged_cache(model, tmp_path, caplog):
    """Power cut after the rename: the server starts, from a rebuilt graph, and
    never blames the user's model."""
    cache = tmp_path / "cache"
    graph = build(model, cache)
    graph.write_bytes(b"\0" * graph.stat().st_size)
    loaded = KokoroModel(model, SessionOptions(optimized_dir=cache))
    assert loaded.run([50, 51], np.zeros(256, np.float32), 1.0).size > 0
    assert "unusable" in caplog.text and "not a loadable" not in caplog.text


def test_a_cached_graph_that_will_not_load_falls_back(model, tmp_path, monkeypatch, caplog):
    """Valid by its record but unloadable (e.g. a runtime bug): discarded, rebuilt
    once, and if that will not load either, the original model is served."""
    cache = tmp_path / "cache"
    graph = build(model, cache)
    junk = b"not an onnx graph"
    graph.write_bytes(junk)
    record = json.loads(graph.with_suffix(".json").read_text())
    record.update(size=len(junk), sha256=graph_cache.sha256_of(graph))
    graph.with_suffix(".json").write_text(json.dumps(record))
    monkeypatch.setattr(graph_cache, "_OPTIMIZE", "import shutil, sys; open(sys.argv[2], 'wb').write(b'junk')")
    loaded = KokoroModel(model, SessionOptions(optimized_dir=cache))
    assert loaded.run([50], np.zeros(256, np.float32), 1.0).size > 0
    assert "rebuilding it" in caplog.text and "loading the original model" in caplog.text


def test_start_removes_leftovers_and_stale_entries(model, tmp_path):
    cache = tmp_path / "cache"
    gone = build_model(tmp_path / "gone.onnx")
    stale_graph = build(gone, cache)
    gone.unlink()  # its source is gone
    other = build_model(tmp_path / "kept.onnx", token_name="input_ids")
    kept = build(other, cache)
    old_runtime = build(build_model(tmp_path / "old-runtime.onnx"), cache)
    record = json.loads(old_runtime.with_suffix(".json").read_text())
    record["onnxruntime"] = "1.0.0"
    old_runtime.with_suffix(".json").write_text(json.dumps(record))
    leftovers = [cache / "graphs" / "kokoro-v1.0-0123456789ab.onnx.part",  # SIGKILL during optimisation
                 cache / "kokoro-v1.0.325000000-1700000000.ort1.20.1.onnx",  # the earlier naming scheme
                 cache / ".kokoro-v1.0.325000000-1700000000.ort1.20.1.onnx.4242.part",
                 cache / "graphs" / "orphan.onnx",  # a graph without a record
                 cache / "graphs" / "lonely.json"]  # a record without a graph
    for leftover in leftovers:
        leftover.write_bytes(b"x" * 1000)
    unrelated = cache / "kokoro-v1.0.onnx"  # cache_dir set to a data dir: a model, never touched
    unrelated.write_bytes(b"model")
    graph = build(model, cache)
    assert entries(cache) == sorted(p.name for p in (graph, graph.with_suffix(".json"), kept,
                                                     kept.with_suffix(".json")))
    assert not stale_graph.exists() and not old_runtime.exists()
    assert not any(p.exists() for p in leftovers) and unrelated.read_bytes() == b"model"


def test_fsync_before_rename(model, tmp_path, monkeypatch):
    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(graph_cache.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(graph_cache.os, "replace", lambda a, b: (order.append(f"replace {Path(b).suffix}"),
                                                                   real_replace(a, b))[1])
    build(model, tmp_path / "cache")
    assert order[:4] == ["fsync", "fsync", "replace .onnx", "replace .json"]


def test_a_locked_cache_makes_the_second_server_wait_then_fall_back(model, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    cache = tmp_path / "cache"
    (cache / "graphs").mkdir(parents=True)
    with graph_cache._DirectoryLock(cache / "graphs", timeout=1):
        started = time.monotonic()
        assert graph_cache.optimized_model(model, cache, timeout=0.5) is None  # load the original instead
        assert time.monotonic() - started >= 0.5
    assert "Another server is optimising" in caplog.text
    assert build(model, cache).exists()  # free again


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_optimiser_child_dies_with_a_killed_server(model, tmp_path):
    """SIGKILL during the first start's optimisation used to leave the optimiser
    running on as an orphan, writing a 325 MB .part that nothing removed."""
    cache = tmp_path / "cache"
    pid_file = tmp_path / "child.pid"
    slow_optimiser = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    script = (
        "from pathlib import Path\n"
        "from wyoming_kokoro import graph_cache\n"
        f"graph_cache._OPTIMIZE = {slow_optimiser!r}\n"
        f"graph_cache.optimized_model(Path({str(model)!r}), Path({str(cache)!r}), 120)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.05)
        child = int(pid_file.read_text())
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the optimiser outlived the server"
            time.sleep(0.05)
    finally:
        if server.poll() is None:
            server.kill()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has exited


def test_optimisation_beats_the_heartbeat(model, tmp_path, monkeypatch):
    """A first start on a Pi optimises for tens of seconds before it listens:
    the container health check must see progress meanwhile."""
    from wyoming_kokoro import heartbeat

    beat = tmp_path / "heartbeat"
    monkeypatch.setenv(heartbeat.ENV, str(beat))
    monkeypatch.setattr(heartbeat, "_last", float("-inf"))
    build(model, tmp_path / "cache")
    assert beat.read_text().startswith("optimising kokoro-v1.0.onnx")
