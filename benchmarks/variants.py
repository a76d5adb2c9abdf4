"""fp32 against int8 (or any model files): cost per call and memory, interleaved.

Each model runs in its own process (so RSS is its own), loaded the way the
server loads it (pre-optimised graph, spinning off, all cores); calls of
24 and 96 tokens alternate between the models, so load on the machine
falls on both alike. Prints a table and writes JSON.

  python benchmarks/variants.py fp32=/path/kokoro-v1.0.onnx int8=/path/kokoro-v1.0.int8.onnx \\
      --voices voices-v1.0.bin [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LENGTHS = (24, 96)


def rss_mb(key: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(path: str, voices: str, cache: str, requests, replies) -> None:
    from wyoming_kokoro.infer import KokoroModel, SessionOptions, release_large_buffers_to_os

    release_large_buffers_to_os()
    started = time.monotonic()
    model = KokoroModel(Path(path), SessionOptions(
        providers=["CPUExecutionProvider"], intra_op_threads=multiprocessing.cpu_count(), optimized_dir=Path(cache),
        extra={"session.intra_op.allow_spinning": "0"}))
    with np.load(voices) as packs:
        style = packs[packs.files[0]]
    replies.put({"load_s": time.monotonic() - started, "rss_after_load_mb": rss_mb()})
    while (n := requests.get()) is not None:
        ids = [50] * n
        started = time.monotonic()
        audio = model.run(ids, style[n - 1], 1.0)
        replies.put({"seconds": time.monotonic() - started, "audio_s": audio.size / 24000})
    replies.put({"rss_peak_mb": rss_mb("VmHWM"), "rss_end_mb": rss_mb()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="NAME=PATH")
    parser.add_argument("--voices", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results-variants.json"))
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="variants-graph-")
    procs = {}
    report: dict = {}
    for spec in args.models:
        name, _, path = spec.partition("=")
        requests, replies = multiprocessing.Queue(), multiprocessing.Queue()
        proc = multiprocessing.Process(target=worker, args=(path, args.voices, cache, requests, replies))
        proc.start()
        procs[name] = (proc, requests, replies)
        report[name] = {"file_mb": Path(path).stat().st_size / 2**20, **replies.get(timeout=900)}
        for n in LENGTHS:  # warm: first calls at a shape pay for kernel selection
            requests.put(n)
            replies.get()
    times: dict = {name: {n: [] for n in LENGTHS} for name in procs}
    for _ in range(args.rounds):
        for n in LENGTHS:
            for name, (_, requests, replies) in procs.items():
                requests.put(n)
                times[name][n].append(replies.get()["seconds"])
    for name, (proc, requests, replies) in procs.items():
        requests.put(None)
        report[name].update(replies.get())
        proc.join()
        for n in LENGTHS:
            report[name][f"call_{n}_s"] = statistics.median(times[name][n])
    print("| model | file MB | load s | RSS after load MB | RSS peak MB | " +
          " | ".join(f"{n}-token call s" for n in LENGTHS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(LENGTHS))
    for name, r in report.items():
        print(f"| {name} | {r['file_mb']:.0f} | {r['load_s']:.1f} | {r['rss_after_load_mb']:.0f} | "
              f"{r['rss_peak_mb']:.0f} | " + " | ".join(f"{r[f'call_{n}_s']:.3f}" for n in LENGTHS) + " |")
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
