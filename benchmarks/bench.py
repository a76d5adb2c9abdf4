"""Latency benchmark: wyoming-kokoro driven the way Home Assistant drives it.

Starts the server as a subprocess on loopback, sends the streaming sequence
(synthesize-start, text deltas, the full synthesize, synthesize-stop) and
measures, per text and concurrency:

- TTFA: request sent -> first audio-chunk (p50 / p95 over runs and streams)
- total time, audio seconds, RTF (total / audio)
- underruns: chunks arriving after their play time, if playback starts when
  the first chunk arrives (count and seconds of silence heard)
- server RSS peak (VmHWM) and after the run, read from /proc of the server pid
- describe latency while a paragraph is being synthesised
- from the server's own log: model time of the first call and of all calls,
  to check TTFA / first call and wall / sum of calls
- a cached repeat (cache on) TTFA
- model calls per text (server log) and audio seconds against one model
  call for the whole text (kokoro-onnx's `create`, the same model and voice)
- the same texts through kokoro-onnx (if installed) on the same files, at the
  same concurrency: `create` once per sentence, streamed sentence by
  sentence, as Wyoming peers use it (TTFA = the first sentence), and one
  `create` for the whole text
- `--busy N`: N busy processes (one per core = a loaded Home Assistant
  host) started before the server and the baseline

p95 is reported only over >= 20 samples. Prints a table and writes JSON. Usage:
  python benchmarks/bench.py --model M.onnx --voices V.bin [--voice af_heart] [--runs 5] [--busy 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wyoming.client import AsyncTcpClient
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

TEXTS = {
    "short": "Turned on the kitchen lights.",
    "two-sentence": "The living room is at twenty one degrees. "
                    "I have set the heating to come on at six thirty tomorrow morning.",
    "paragraph": "Tomorrow looks mostly sunny with a high of twenty four degrees and a light breeze "
                 "from the west. Rain is unlikely until the evening, when clouds move in from the coast. "
                 "If you are planning to hang the washing out, the morning is your best window, and "
                 "you might want to close the skylight before you go to bed tonight.",
}
LOG_LINE = re.compile(r"chars=(?P<chars>\d+) segments=(?P<segments>\d+) .*ttfa=(?P<ttfa>[\d.]+)s "
                      r"first_call=(?P<first>[\d.]+)s model=(?P<model>[\d.]+)s wall=(?P<wall>[\d.]+)s")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def busy_loop() -> None:
    while True:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_memory(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile; a p95 needs >= 20 samples to mean anything (nan otherwise)."""
    ordered = sorted(values)
    if not ordered or (q >= 95 and len(ordered) < 20):
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Server:
    """The server under test, its log collected for per-request model times."""

    def __init__(self, model: str, voices: str, config: dict) -> None:
        self.port = free_port()
        self.config_file = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        json.dump(config, self.config_file)
        self.config_file.close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{self.port}",
             "--model", model, "--voices", voices, "--config", self.config_file.name],
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()
        started = time.monotonic()
        if not self.ready.wait(600):
            raise RuntimeError("server did not start")
        self.start_seconds = time.monotonic() - started

    def _read_log(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if "Serving on" in line:
                self.ready.set()

    def request_logs(self, since: int) -> list[dict[str, float]]:
        return [{k: float(v) for k, v in m.groupdict().items()}
                for line in self.lines[since:] if (m := LOG_LINE.search(line))]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        os.unlink(self.config_file.name)


def deltas(text: str) -> list[str]:
    """LLM-like deltas of a few words, as stream_once sends them."""
    words = text.split(" ")
    return [" ".join(words[i:i + 3]) + " " for i in range(0, len(words), 3)]


async def stream_once(port: int, text: str, voice: str | None = None) -> dict:
    """One Home Assistant streaming request; timings from the client's side."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        sent = time.monotonic()
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name=voice) if voice else None).event())
        for delta in deltas(text):
            await client.write_event(SynthesizeChunk(text=delta).event())
        await client.write_event(Synthesize(text=text).event())
        await client.write_event(SynthesizeStop().event())
        first = None
        late, silence, samples = 0, 0.0, 0
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError("server closed the connection")
            now = time.monotonic()
            if event.type == "audio-chunk":
                if first is None:
                    first = now
                play_at = first + samples / 24000 + silence
                if now > play_at + 0.005:
                    late += 1
                    silence += now - play_at
                samples += len(event.payload) // 2
            elif event.type == "synthesize-stopped":
                break
            elif event.type == "error":
                raise RuntimeError(event.data)
        done = time.monotonic()
    audio = samples / 24000
    return {"ttfa": first - sent if first else float("nan"), "total": done - sent, "audio": audio,
            "rtf": (done - sent) / audio if audio else float("nan"), "underruns": late,
            "underrun_s": silence}


async def describe_latency(port: int, stop: asyncio.Event) -> list[float]:
    latencies = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        while not stop.is_set():
            started = time.monotonic()
            await client.write_event(Describe().event())
            while (await client.read_event()).type != "info":
                pass
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
    return latencies


async def run_case(server: Server, text: str, streams: int, runs: int, poll: bool, voice: str | None) -> dict:
    results, polls = [], []
    mem_peak = 0.0
    for _ in range(runs):
        since = len(server.lines)
        stop = asyncio.Event()
        poller = asyncio.create_task(describe_latency(server.port, stop)) if poll else None
        await asyncio.sleep(0.05)
        batch = await asyncio.gather(*(stream_once(server.port, text, voice) for _ in range(streams)))
        stop.set()
        if poller:
            polls += await poller
        for index, item in enumerate(batch):
            item["stream"] = index
        await asyncio.sleep(0.2)
        # This batch's request lines: the last ones for this text (the line of
        # the request before may come in after `since`, and was taken for
        # the first run's before).
        chars = sum(map(len, deltas(text)))
        logs = [log for log in server.request_logs(since) if log["chars"] == chars][-streams:]
        for item, log in zip(batch, logs):
            item["calls"] = int(log["segments"])
        if streams == 1 and logs:
            batch[0].update(first_call=logs[0]["first"], model=logs[0]["model"], server_wall=logs[0]["wall"])
        results += batch
        mem_peak = max(mem_peak, proc_memory(server.proc.pid)["VmHWM"])
    ttfas = [r["ttfa"] for r in results]
    summary = {
        "streams": streams, "runs": runs,
        "ttfa_p50": percentile(ttfas, 50), "ttfa_p95": percentile(ttfas, 95),
        "total_p50": percentile([r["total"] for r in results], 50),
        "audio_s": statistics.mean(r["audio"] for r in results),
        "rtf": statistics.mean(r["rtf"] for r in results),
        "underruns": sum(r["underruns"] for r in results),
        "calls_p50": percentile([r["calls"] for r in results if "calls" in r], 50),
        "underrun_s": sum(r["underrun_s"] for r in results),
        "rss_peak_mb": mem_peak, "rss_after_mb": proc_memory(server.proc.pid)["VmRSS"],
        "results": results,
    }
    if streams > 1:
        # The stream that started first (index 0 got its request in first).
        summary["first_stream_underruns"] = sum(r["underruns"] for r in results if r["stream"] == 0)
        summary["ttfa_p95_per_stream"] = [percentile([r["ttfa"] for r in results if r["stream"] == i], 95)
                                          for i in range(streams)]
    if streams == 1 and "first_call" in results[0]:
        summary["ttfa_over_first_call"] = statistics.median(r["ttfa"] / r["first_call"] for r in results)
        summary["wall_over_model"] = statistics.median(r["server_wall"] / r["model"] for r in results)
    if polls:
        summary["describe_p50_ms"] = percentile(polls, 50) * 1000
        summary["describe_max_ms"] = max(polls) * 1000
    return summary


async def baseline(model: str, voices: str, voice: str, runs: int, concurrency: list[int]) -> dict:
    """kokoro-onnx on the same files: per sentence (what Wyoming peers do:
    `create` each sentence, send it, go on) and one call for the whole text,
    each at the server's concurrency (streams in threads: ONNX Runtime
    releases the GIL)."""
    try:
        from kokoro_onnx import Kokoro
    except ImportError:
        return {}
    kokoro = Kokoro(model, voices)
    kokoro.create("Warm up.", voice=voice)

    def per_sentence(text: str) -> dict:
        started = time.monotonic()
        first, audio = None, 0
        for sentence in SENTENCE_END.split(text):
            samples, rate = kokoro.create(sentence, voice=voice)
            first = first or time.monotonic()
            audio += samples.size
        return {"ttfa": first - started, "total": time.monotonic() - started, "audio": audio / rate,
                "calls": len(SENTENCE_END.split(text))}

    def one_call(text: str) -> dict:
        started = time.monotonic()
        samples, rate = kokoro.create(text, voice=voice)
        return {"ttfa": time.monotonic() - started, "total": time.monotonic() - started, "audio": samples.size / rate}

    out: dict = {}
    for streams in concurrency:
        for name, text in TEXTS.items():
            for label, fn in (("per_sentence", per_sentence), ("one_call", one_call)):
                results = []
                for _ in range(runs):
                    results += await asyncio.gather(*(asyncio.to_thread(fn, text) for _ in range(streams)))
                ttfas = [r["ttfa"] for r in results]
                out.setdefault(f"{name} x{streams}", {})[label] = {
                    "ttfa_p50": percentile(ttfas, 50), "ttfa_p95": percentile(ttfas, 95),
                    "total_p50": percentile([r["total"] for r in results], 50),
                    "audio_s": statistics.mean(r["audio"] for r in results),
                    "rtf": statistics.mean(r["total"] / r["audio"] for r in results)}
    return out


async def cached_repeat(model: str, voices: str, base_config: dict) -> float:
    server = Server(model, voices, {**base_config, "cache": {"enabled": True}})
    try:
        await stream_once(server.port, TEXTS["short"])
        return statistics.median([(await stream_once(server.port, TEXTS["short"]))["ttfa"] for _ in range(5)])
    finally:
        server.stop()


def table(report: dict) -> str:
    """The results as a Markdown table (the README's results section)."""
    rows = ["| text | streams | TTFA p50 s | TTFA p95 s | total p50 s | audio s | audio vs one call | "
            "model calls | RTF | underruns (chunks) | server RSS peak MB | describe max ms | "
            "kokoro-onnx per sentence: TTFA p50 s / p95 s / total p50 s / RTF |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for case in report["cases"]:
        base = report["baseline"].get(f"{case['text']} x{case['streams']}", {})
        sentence, one = base.get("per_sentence"), base.get("one_call")
        describe = case.get("describe_max_ms")
        rows.append(
            f"| {case['text']} | {case['streams']} | {case['ttfa_p50']:.3f} | {_num(case['ttfa_p95'], 3)} | "
            f"{case['total_p50']:.2f} | {case['audio_s']:.1f} | "
            f"{_num(case['audio_s'] / one['audio_s'], 3) if one else '–'} | {_num(case['calls_p50'], 0)} | "
            f"{case['rtf']:.2f} | {case['underruns']} | {case['rss_peak_mb']:.0f} | "
            f"{f'{describe:.1f}' if describe else '–'} | "
            + (f"{sentence['ttfa_p50']:.3f} / {_num(sentence['ttfa_p95'], 3)} / {sentence['total_p50']:.2f} / "
               f"{sentence['rtf']:.2f} |" if sentence else "– |"))
    return "\n".join(rows)


def _num(value: float, digits: int) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--voices", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--streams", default="1,2,4")
    parser.add_argument("--voice", default=None, help="voice for every request (default: the server's)")
    parser.add_argument("--busy", type=int, default=0, help="busy processes started first (one per core: loaded)")
    parser.add_argument("--config", default="{}", help="JSON/YAML mapping merged into the server config")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args()

    config = {"cache": {"enabled": False}, **({"voice": args.voice} if args.voice else {}),
              **json.loads(args.config)}
    hogs = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(args.busy)]
    for hog in hogs:
        hog.start()
    server = Server(args.model, args.voices, config)
    report: dict = {"model": Path(args.model).name, "config": config, "cpu_count": os.cpu_count(), "busy": args.busy,
                    "server_start_s": server.start_seconds,
                    "rss_after_start_mb": proc_memory(server.proc.pid)["VmRSS"], "cases": []}
    try:
        # Request 1 right after start-up vs the same request once warm.
        report["first_request_ttfa"] = (await stream_once(server.port, TEXTS["two-sentence"]))["ttfa"]
        report["steady_request_ttfa"] = statistics.median(
            [(await stream_once(server.port, TEXTS["two-sentence"]))["ttfa"] for _ in range(3)])
        for streams in (int(s) for s in args.streams.split(",")):
            for name, text in TEXTS.items():
                case = await run_case(server, text, streams, args.runs, poll=streams == 1, voice=args.voice)
                case["text"] = name
                report["cases"].append(case)
                print(f"{name:>12} x{streams}: TTFA p50 {case['ttfa_p50']:.3f}s p95 {case['ttfa_p95']:.3f}s "
                      f"underruns {case['underruns']} RSS peak {case['rss_peak_mb']:.0f} MB", flush=True)
        report["rss_end_mb"] = proc_memory(server.proc.pid)["VmRSS"]
    finally:
        server.stop()
    report["cached_repeat_ttfa"] = await cached_repeat(args.model, args.voices, config)
    concurrency = [int(s) for s in args.streams.split(",")]
    report["baseline"] = {} if args.no_baseline else await baseline(
        args.model, args.voices, args.voice or "af_heart", args.runs, concurrency)
    for hog in hogs:
        hog.terminate()
    print()
    print(table(report))
    print(f"\nserver start {report['server_start_s']:.1f} s, RSS after start "
          f"{report['rss_after_start_mb']:.0f} MB, at end {report['rss_end_mb']:.0f} MB; "
          f"request 1 TTFA {report['first_request_ttfa']:.3f} s vs steady {report['steady_request_ttfa']:.3f} s; "
          f"cached repeat TTFA {report['cached_repeat_ttfa'] * 1000:.1f} ms")
    singles = [c for c in report["cases"] if c["streams"] == 1]
    for case in singles:
        print(f"{case['text']}: TTFA / first call {case.get('ttfa_over_first_call', float('nan')):.2f}, "
              f"wall / sum of calls {case.get('wall_over_model', float('nan')):.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
