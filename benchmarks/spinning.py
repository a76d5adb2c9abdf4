"""ONNX Runtime's intra-op spinning on and off, on a quiet and on a loaded host.

Idle worker threads of ONNX Runtime spin between operators by default,
waiting for work instead of sleeping. On a host that does other work (Home
Assistant's, or one busy process per core here) spinning threads compete
with the threads that compute. Two sessions of the same model, one with
spinning and one without, run the same calls alternately, quiet and then
with `--busy` busy processes; prints the median call time of each and their
ratio, and writes JSON. The server's default (`threads.spinning: false`)
comes from this.

  python benchmarks/spinning.py --model M.onnx --voices V.bin [--busy 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from pathlib import Path

import numpy as np

from wyoming_kokoro.infer import KokoroModel, SessionOptions

LENGTHS = (24, 96)


def busy_loop() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--voices", required=True)
    parser.add_argument("--busy", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results-spinning.json"))
    args = parser.parse_args()
    sessions = {spin: KokoroModel(Path(args.model), SessionOptions(
        providers=["CPUExecutionProvider"], intra_op_threads=multiprocessing.cpu_count(), optimized_dir=None,
        extra={"session.intra_op.allow_spinning": spin})) for spin in ("1", "0")}
    with np.load(args.voices) as packs:
        style = packs[packs.files[0]]
    report = {}
    for load in (0, args.busy):
        hogs = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(load)]
        for hog in hogs:
            hog.start()
        times: dict = {spin: {n: [] for n in LENGTHS} for spin in sessions}
        for _ in range(args.rounds + 1):  # the first round warms up and is dropped
            for n in LENGTHS:
                for spin, model in sessions.items():
                    started = time.perf_counter()
                    model.run([50] * n, style[n - 1], 1.0)
                    times[spin][n].append(time.perf_counter() - started)
        for hog in hogs:
            hog.terminate()
        for n in LENGTHS:
            on, off = (statistics.median(times[spin][n][1:]) for spin in ("1", "0"))
            report[f"busy={load} tokens={n}"] = {"spinning_s": on, "no_spinning_s": off, "ratio": on / off}
            print(f"busy processes {load}, {n} tokens: spinning {on * 1000:.0f} ms, "
                  f"no spinning {off * 1000:.0f} ms, spinning / none {on / off:.2f}", flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
