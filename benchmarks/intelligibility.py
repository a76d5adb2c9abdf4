"""Heard by a recogniser: does the server's speed cost words?

The real Kokoro v1.0 int8 model and real voices (tests/realweights.py
assembles them from the test extra), the 30 Home Assistant-style replies of
benchmarks/sentences.py, and Whisper base (faster-whisper) as the listener.
Each sentence is spoken, interleaved so every path sees the same machine:

- one-call:   one model call per sentence on the server's own phonemes (the
              ideal the server's cuts are measured against);
- kokoro-onnx: `Kokoro.create` once per sentence, as Wyoming peers use it
              (its own phonemes, its own trim);
- plain:      this server over Wyoming, `synthesize`;
- streamed:   this server over Wyoming, word by word as Home Assistant's LLM
              path sends it (synthesize-start, chunks, synthesize, stop).

Reported per path: word error rate (numbers spelled out on both sides),
audio seconds against one-call, model calls per sentence (server log), time
to first audio p50 / p95 (p95 only over >= 20 samples). `--busy N` starts N
busy processes (one per core = a loaded Home Assistant host) before the
server. Prints a table and writes JSON.

  python benchmarks/intelligibility.py [--busy 2] [--out benchmarks/results-intelligibility.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench import Server, percentile  # noqa: E402
from realweights import ENGLISH_VOICE, WORD_GAP, Ears, kokoro_int8, send_word_by_word, voices_file, word_errors  # noqa: E402
from sentences import SENTENCES  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.tts import Synthesize, SynthesizeVoice  # noqa: E402

from wyoming_kokoro.chunk import trim  # noqa: E402
from wyoming_kokoro.infer import KokoroModel, SessionOptions  # noqa: E402
from wyoming_kokoro.text import TextPipeline  # noqa: E402
from wyoming_kokoro.vocab import tokenize  # noqa: E402

SEGMENTS = re.compile(r"segments=(\d+)")


def busy_loop() -> None:
    while True:
        pass


async def over_wyoming(port: int, text: str, streamed: bool, gap: float = WORD_GAP) -> tuple[np.ndarray, float]:
    """(audio, seconds to the first audio chunk) for one request; streamed
    a word every `gap` seconds."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        sent = time.monotonic()
        if streamed:
            await send_word_by_word(client, text, gap=gap)
        else:
            await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=ENGLISH_VOICE)).event())
        end = "synthesize-stopped" if streamed else "audio-stop"
        pcm, first = bytearray(), None
        while (event := await client.read_event()) is not None and event.type != end:
            if event.type == "error":
                raise RuntimeError(event.data)
            if event.type == "audio-chunk":
                first = first or time.monotonic()
                pcm += event.payload
    return np.frombuffer(bytes(pcm), dtype="<i2").astype(np.float32) / 32767.0, (first or sent) - sent


def score(rows: list[dict], way: str, reference: str = "one-call") -> dict:
    errors = words = 0
    for row in rows:
        e, n = word_errors(row["text"], row[way]["heard"])
        errors, words = errors + e, words + n
    audio = sum(row[way]["seconds"] for row in rows)
    ttfas = [row[way]["ttfa"] for row in rows if row[way].get("ttfa") is not None]
    calls = [row[way]["calls"] for row in rows if row[way].get("calls") is not None]
    return {"wer": errors / words, "words": words, "audio_s": audio,
            "audio_vs_one_call": audio / sum(row[reference]["seconds"] for row in rows),
            "calls_per_sentence": statistics.mean(calls) if calls else None,
            "calls_max": max(calls) if calls else None,
            "ttfa_p50": percentile(ttfas, 50) if ttfas else None,
            "ttfa_p95": percentile(ttfas, 95) if len(ttfas) >= 20 else None,
            "total_s": sum(row[way]["total"] for row in rows)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=0, help="busy processes started before the server")
    parser.add_argument("--config", default="{}", help="JSON merged into the server config")
    parser.add_argument("--limit", type=int, default=len(SENTENCES))
    parser.add_argument("--word-gap", type=float, default=WORD_GAP,
                        help="seconds between streamed words (default: a fast LLM; 0.15: a local one on a mini-PC)")
    parser.add_argument("--out", default=str(HERE / "results-intelligibility.json"))
    args = parser.parse_args()

    english = Path("/tmp") / "wyoming-kokoro-voices-en.npz"
    with np.load(voices_file()) as packs:
        np.savez(english, **{ENGLISH_VOICE: packs[ENGLISH_VOICE]})
    model_path = str(kokoro_int8())
    hogs = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(args.busy)]
    for hog in hogs:
        hog.start()
    config = {"cache": {"enabled": False}, "voice": ENGLISH_VOICE, **json.loads(args.config)}
    server = Server(model_path, str(english), config)
    from kokoro_onnx import Kokoro

    peer = Kokoro(model_path, str(english))
    ours = KokoroModel(Path(model_path), SessionOptions(providers=["CPUExecutionProvider"], optimized_dir=None))
    style = np.load(english)[ENGLISH_VOICE]
    pipeline = TextPipeline()
    rows = []
    try:
        for text in SENTENCES[: args.limit]:
            row: dict = {"text": text}
            started = time.monotonic()
            tokens = tokenize(pipeline.phonemes(text, "en-us"))
            row["one-call"] = {"audio": trim(ours.run(tokens, style[len(tokens) - 1], 1.0))}
            row["one-call"]["total"] = time.monotonic() - started
            started = time.monotonic()
            samples, _ = peer.create(text, voice=ENGLISH_VOICE, speed=1.0, lang="en-us")
            row["kokoro-onnx"] = {"audio": samples, "total": time.monotonic() - started,
                                  "ttfa": time.monotonic() - started, "calls": 1}
            for way, streamed in (("plain", False), ("streamed", True)):
                since = len(server.lines)
                started = time.monotonic()
                audio, ttfa = await over_wyoming(server.port, text, streamed, args.word_gap)
                total = time.monotonic() - started
                await asyncio.sleep(0.05)
                calls = [int(m[1]) for line in server.lines[since:] if (m := SEGMENTS.search(line))]
                row[way] = {"audio": audio, "ttfa": ttfa, "total": total, "calls": calls[-1] if calls else None}
            rows.append(row)
            print(f"{row['plain']['calls']} / {row['streamed']['calls']} calls, "
                  f"TTFA {row['plain']['ttfa']:.2f} / {row['streamed']['ttfa']:.2f} s: {text[:60]}", flush=True)
    finally:
        server.stop()
        for hog in hogs:
            hog.terminate()
    ears = Ears()
    ways = ("one-call", "kokoro-onnx", "plain", "streamed")
    for row in rows:
        for way in ways:
            audio = row[way].pop("audio")
            row[way]["seconds"] = audio.size / 24000
            row[way]["heard"] = ears.transcribe(audio)
    report = {"model": Path(model_path).name, "voice": ENGLISH_VOICE, "busy": args.busy, "config": config,
              "word_gap": args.word_gap,
              "sentences": len(rows), "paths": {way: score(rows, way) for way in ways}, "rows": rows}
    print("\n| path | WER | audio vs one call | calls per sentence (max) | TTFA p50 s | TTFA p95 s | total s |")
    print("|---|---|---|---|---|---|---|")
    for way, s in report["paths"].items():
        calls = f"{s['calls_per_sentence']:.2f} ({s['calls_max']})" if s["calls_per_sentence"] else "1"
        p50 = f"{s['ttfa_p50']:.3f}" if s["ttfa_p50"] is not None else "–"
        p95 = f"{s['ttfa_p95']:.3f}" if s["ttfa_p95"] is not None else "–"
        print(f"| {way} | {s['wer']:.1%} | {s['audio_vs_one_call']:.3f} | {calls} | {p50} | {p95} | "
              f"{s['total_s']:.1f} |")
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out} ({args.busy} busy processes)")


if __name__ == "__main__":
    asyncio.run(main())
