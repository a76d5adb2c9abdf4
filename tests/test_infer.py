"""The ONNX session: provider fallback, arena cap, input naming."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from models import build_model

from wyoming_kokoro import infer
from wyoming_kokoro.infer import KokoroModel, ModelError, SessionOptions


@pytest.fixture
def fake_providers(monkeypatch):
    """Pretend two accelerators exist: one that raises, one that hangs."""
    real_session = infer.ort.InferenceSession
    release = threading.Event()

    def session(path, sess_options=None, providers=None):
        if providers == ["BrokenExecutionProvider"]:
            raise RuntimeError("device not found")
        if providers == ["HangingExecutionProvider"]:
            release.wait(30)  # a start-up that never returns
            raise RuntimeError("released")
        return real_session(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(infer.ort, "InferenceSession", session)
    monkeypatch.setattr(infer.ort, "get_available_providers", lambda: [
        "BrokenExecutionProvider", "HangingExecutionProvider", "CPUExecutionProvider"])
    yield
    release.set()


def test_failing_and_hanging_providers_fall_back_to_cpu(fake_providers, tmp_path, caplog):
    path = build_model(tmp_path / "m.onnx")
    started = time.monotonic()
    model = KokoroModel(path, SessionOptions(
        providers=["BrokenExecutionProvider", "HangingExecutionProvider", "MissingExecutionProvider"],
        provider_timeout=1.0))
    assert model.provider == "CPUExecutionProvider"
    assert time.monotonic() - started < 10
    log = caplog.text
    assert "MissingExecutionProvider is not available" in log
    assert "BrokenExecutionProvider failed (RuntimeError: device not found)" in log
    assert "HangingExecutionProvider failed (no answer within 1 s)" in log
    audio = model.run([50, 51], np.zeros((1, 256), np.float32), 1.0)
    assert audio.size == 4 * 240


def test_auto_uses_cpu_when_no_accelerator(tmp_path):
    model = KokoroModel(build_model(tmp_path / "m.onnx"), SessionOptions(providers="auto"))
    assert model.provider == "CPUExecutionProvider"


def test_graph_without_kokoro_inputs_is_rejected(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelError, match="missing input"):
        KokoroModel(path)


PEAK_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[3])
from models import decode_tokens
from wyoming_kokoro.infer import KokoroModel, SessionOptions
from wyoming_kokoro.engine import Engine, EngineSettings
from wyoming_kokoro.scheduler import Scheduler
from wyoming_kokoro.segment import Segment
from wyoming_kokoro.voices import load_voices
cap = json.loads(sys.argv[2])
model = KokoroModel(sys.argv[1], SessionOptions(arena_max_mb=cap, intra_op_threads=1))
voices = load_voices(sys.argv[4])
engine = Engine(model, voices, Scheduler(1), EngineSettings(), prepare=None)
def vm(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))
# Reset the high-water mark to the current RSS: the peak of loading the model
# (which varies from run to run) must not hide the call's own growth.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = vm("VmRSS")
segment = Segment(" ".join(["ab"] * 100), "sentence")  # 299 tokens
audio = engine.infer(segment, voices["af_heart"], 1.0)
peak = vm("VmHWM")
pcm = (audio * 32767).astype("<i2").tobytes()
print(json.dumps({"growth_mb": (peak - before) / 1024, "tokens": decode_tokens(pcm)}))
"""


def test_arena_cap_lowers_peak_memory(tmp_path, model_dir):
    """A 64 MB cap really bounds the arena: the same 299-token call that
    needs ~300 MB uncapped is retried in halves and peaks far lower."""
    path = build_model(tmp_path / "heavy.onnx", work_per_token=250_000)  # 1 MB per token
    tests = str(Path(__file__).parent)
    results = {}
    for cap in (None, 64):
        out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path), json.dumps(cap), tests,
                              str(model_dir / "voices-v1.0.bin")],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        results[cap] = json.loads(out.stdout.strip().splitlines()[-1])
    words = [[t for t in results[cap]["tokens"] if t != 16] for cap in (None, 64)]
    assert words[0] == words[1] and len(words[0]) == 200  # the same words either way
    assert results[None]["growth_mb"] > 250
    assert results[64]["growth_mb"] < results[None]["growth_mb"] - 150, results
