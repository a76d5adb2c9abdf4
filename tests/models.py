"""Tiny Kokoro-shaped ONNX models and voices files, built at test time.

The real weights cannot be downloaded here, and tests must be fast, so these
graphs have Kokoro's inputs and outputs but compute something we can check:
every token becomes SAMPLES_PER_TOKEN samples of a constant level that
encodes its id (pads are silent). Output length depends on input length, and
the PCM a client receives can be decoded back into the token ids that were
spoken: nothing lost, nothing spoken twice is then a plain equality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

SAMPLES_PER_TOKEN = 240  # 10 ms per token at 24 kHz


def level(token_id: int) -> float:
    """Sample value for one token id (0 -> silence)."""
    return 0.0 if token_id == 0 else (token_id + 64) / 512


def build_model(path: Path, *, token_name: str = "tokens", duration_output: bool = False,
                work_per_token: int = 0, fail_above: int | None = None) -> Path:
    """Write a Kokoro-shaped model.

    work_per_token: size of a float intermediate allocated per token (to make
    memory scale with input length, for arena tests).
    """
    c = lambda name, value, dtype=np.float32: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=onnx.numpy_helper.from_array(np.array(value, dtype=dtype), name))
    nodes = [
        c("zero_f", 0.0), c("offset", 64.0), c("scale", 1 / 512), c("zero_i", 0, np.int64),
        c("axes0", [0], np.int64), c("shape_tn", [-1, 1], np.int64),
        c("expand_to", [1, SAMPLES_PER_TOKEN], np.int64), c("flat", [-1], np.int64),
        helper.make_node("Squeeze", ["ids", "axes0"], ["ids1"]),
        helper.make_node("Equal", ["ids1", "zero_i"], ["is_pad"]),
        helper.make_node("Cast", ["ids1"], ["idsf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["idsf", "offset"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "scale"], ["lvl"]),
        helper.make_node("Where", ["is_pad", "zero_f", "lvl"], ["levels"]),
        # Tie style and speed in (x * 0), so they are real inputs of the graph.
        helper.make_node("ReduceSum", ["style"], ["style_sum"], keepdims=0),
        helper.make_node("ReduceSum", ["speed"], ["speed_sum"], keepdims=0),
        helper.make_node("Add", ["style_sum", "speed_sum"], ["side"]),
        helper.make_node("Mul", ["side", "zero_f"], ["side0"]),
        helper.make_node("Add", ["levels", "side0"], ["levels2"]),
        helper.make_node("Reshape", ["levels2", "shape_tn"], ["col"]),
        helper.make_node("Expand", ["col", "expand_to"], ["block"]),
        helper.make_node("Reshape", ["block", "flat"], ["audio0"]),
    ]
    last = "audio0"
    if work_per_token:
        # [T, work] float intermediate, folded back in as + 0 * mean.
        nodes += [
            c("work_shape", [1, work_per_token], np.int64), c("one_f", 1.0),
            helper.make_node("Expand", ["col", "work_shape"], ["work"]),
            helper.make_node("Sin", ["work"], ["work_sin"]),
            helper.make_node("ReduceMean", ["work_sin"], ["work_mean"], keepdims=0),
            helper.make_node("Mul", ["work_mean", "zero_f"], ["work0"]),
            helper.make_node("Add", [last, "work0"], ["audio1"]),
        ]
        last = "audio1"
    if fail_above is not None:
        # Integer division by zero fails the run when T > fail_above (a stand-in
        # for a provider that fails on long inputs).
        nodes += [
            c("limit", fail_above + 2, np.int64), c("one_i", [1], np.int64),
            helper.make_node("Shape", ["ids1"], ["t"]),
            helper.make_node("LessOrEqual", ["t", "limit"], ["ok"]),
            helper.make_node("Cast", ["ok"], ["ok_i"], to=TensorProto.INT64),
            helper.make_node("Div", ["one_i", "ok_i"], ["boom"]),
            helper.make_node("Cast", ["boom"], ["boom_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["boom_f", "zero_f"], ["boom0"]),
            helper.make_node("Add", [last, "boom0"], ["audio2"]),
        ]
        last = "audio2"
    nodes.append(helper.make_node("Identity", [last], ["audio"]))
    nodes[8].input[0] = token_name  # Squeeze reads the token input
    outputs = [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["S"])]
    if duration_output:
        nodes.append(helper.make_node("Identity", ["idsf"], ["duration"]))
        outputs.append(helper.make_tensor_value_info("duration", TensorProto.FLOAT, ["T"]))
    graph = helper.make_graph(
        nodes, "kokoro-test",
        [helper.make_tensor_value_info(token_name, TensorProto.INT64, [1, "T"]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])],
        outputs,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


VOICE_NAMES = ("af_heart", "af_bella", "am_adam", "bf_emma", "ef_dora", "ff_siwis",
               "hf_alpha", "if_sara", "pf_dora", "jf_alpha", "zf_xiaobei")


def build_voices(path: Path, names=VOICE_NAMES) -> Path:
    rng = np.random.default_rng(0)
    with open(path, "wb") as handle:
        np.savez(handle, **{n: (rng.standard_normal((510, 1, 256)) * 0.1).astype(np.float32) for n in names})
    return path


def decode_tokens(pcm: bytes) -> list[int]:
    """Token ids spoken in 16-bit PCM from a test model (silence skipped)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32767.0
    ids = np.rint(samples * 512 - 64).astype(int)
    ids[np.abs(samples) < 1e-4] = 0
    out: list[int] = []
    index = 0
    while index < len(ids):
        if ids[index] == 0:
            index += 1
            continue
        run = index
        while run < len(ids) and ids[run] == ids[index]:
            run += 1
        count = (run - index + SAMPLES_PER_TOKEN // 2) // SAMPLES_PER_TOKEN
        out.extend([int(ids[index])] * count)
        index = run
    return out
