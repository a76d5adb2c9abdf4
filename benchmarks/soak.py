"""Soak test: many mixed requests against one server; memory and latency drift.

Runs N streaming requests (mixed texts and voices, `--concurrency` at a time)
against a server subprocess on loopback and reports server RSS over time
(from /proc), errors, TTFA at the start vs the end of the run, and underruns
(chunks that arrived after their play time: count, seconds, requests hit).
Targets: RSS growth < 5 % (after the first 10 % of requests, once caches and
arenas have reached their working size), zero errors, TTFA p95 drift < 10 %.

  python benchmarks/soak.py --model M.onnx --voices V.bin [--requests 500] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import TEXTS, Server, percentile, proc_memory, stream_once  # noqa: E402

VOICES = ["af_heart", "am_adam", "bf_emma", "af_bella"]
EXTRA_TEXTS = ["Okay.", "The front door is locked, and the garage door is closed.",
               "It is 7:45 PM and 18.5 °C outside; humidity is 62%."]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--voices", required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/soak.json")
    args = parser.parse_args()

    server = Server(args.model, args.voices, {"cache": {"enabled": False}})
    texts = [TEXTS["short"], TEXTS["two-sentence"], *EXTRA_TEXTS]  # the paragraph makes 500 runs too long
    jobs = itertools.cycle(itertools.product(texts, VOICES))
    results: list[dict] = []
    errors: list[str] = []
    samples: list[tuple[int, float]] = []
    lock = asyncio.Lock()
    started = time.monotonic()

    async def worker() -> None:
        while True:
            async with lock:
                if len(results) + len(errors) >= args.requests:
                    return
                text, voice = next(jobs)
                index = len(results) + len(errors)
            try:
                result = await stream_once(server.port, text, voice)
                result["index"] = index
                results.append(result)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(error).__name__}: {error}")
            done = len(results) + len(errors)
            if done % 25 == 0:
                rss = proc_memory(server.proc.pid)["VmRSS"]
                samples.append((done, rss))
                print(f"{done:5d} requests  RSS {rss:6.0f} MB  errors {len(errors)}", flush=True)

    try:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        memory = proc_memory(server.proc.pid)
    finally:
        server.stop()
    tenth = max(1, args.requests // 10)
    ordered = sorted(results, key=lambda r: r["index"])
    early = [r["ttfa"] for r in ordered[:tenth]]
    late = [r["ttfa"] for r in ordered[-tenth:]]
    baseline_rss = next((rss for done, rss in samples if done >= tenth), samples[0][1] if samples else 0)
    report = {
        "requests": args.requests, "concurrency": args.concurrency, "errors": len(errors),
        "error_samples": errors[:5], "seconds": time.monotonic() - started,
        "rss_samples": samples, "rss_peak_mb": memory["VmHWM"], "rss_end_mb": memory["VmRSS"],
        "rss_growth_pct": (samples[-1][1] / baseline_rss - 1) * 100 if samples else float("nan"),
        "ttfa_p95_first_tenth": percentile(early, 95), "ttfa_p95_last_tenth": percentile(late, 95),
        "underruns": sum(r["underruns"] for r in results),
        "underrun_s": sum(r["underrun_s"] for r in results),
        "requests_with_underruns": sum(1 for r in results if r["underruns"]),
    }
    report["ttfa_p95_drift_pct"] = (report["ttfa_p95_last_tenth"] / report["ttfa_p95_first_tenth"] - 1) * 100
    print(json.dumps({k: v for k, v in report.items() if k != "rss_samples"}, indent=1))
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
