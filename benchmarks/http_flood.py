"""A satellite's first audio while HTTP clients flood the server (admission.py).

Starts the server (--http) once per `limits.http_syntheses` value given,
measures a Wyoming `synthesize` of a short command alone, then again while
--requests HTTP requests for a paragraph each are in flight (started 1 s
before), --runs times each, from an idle server each time (no stream, no
model call: /metrics). Prints time to first audio alone and under the
flood (median, max). The audio cache is off, so every request is synthesised.

Usage: python benchmarks/http_flood.py --model M.onnx --voices V.bin [--voice NAME]
                                       [--shares 1 20] [--requests 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

COMMAND = "Turned on the kitchen lights."
PARAGRAPH = ("The weather today is mostly sunny with a light breeze from the west, and temperatures "
             "will reach twenty two degrees by the afternoon. Tonight it turns cooler, and there is "
             "a small chance of rain after midnight, so you may want to close the windows.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def satellite(port: int, voice: str) -> float:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        started = time.monotonic()
        await client.write_event(Event("synthesize", {"text": COMMAND, "voice": {"name": voice}}))
        first = None
        while True:
            event = await asyncio.wait_for(client.read_event(), 300)
            if event is None or event.type == "error":
                raise RuntimeError(f"satellite request failed: {event}")
            if event.type == "audio-chunk" and first is None:
                first = time.monotonic() - started
            if event.type == "audio-stop":
                return first


async def idle(session: aiohttp.ClientSession, http: int) -> None:
    """Until no stream is active and no model call runs or waits (a cancelled
    flood's running call must not be counted against the next measurement)."""
    while True:
        async with session.get(f"http://127.0.0.1:{http}/metrics") as reply:
            text = await reply.text()
        busy = 0.0
        for family in text_string_to_metric_families(text):
            if family.name in ("kokoro_active_streams", "kokoro_queued_segments", "kokoro_running_calls"):
                busy += sum(sample.value for sample in family.samples)
        if busy == 0:
            return
        await asyncio.sleep(0.2)


async def measure(args: argparse.Namespace, share: int) -> dict:
    wyoming, http = free_port(), free_port()
    config = os.path.join(tempfile.mkdtemp(), "kokoro.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        json.dump({"cache": {"enabled": False}, "limits": {"http_syntheses": share}}, handle)
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_kokoro", "--config", config, "--model", args.model, "--voices", args.voices,
        "--voice", args.voice, "--uri", f"tcp://127.0.0.1:{wyoming}", "--http", f"127.0.0.1:{http}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    alone, flooded = [], []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(f"http://127.0.0.1:{http}/health") as reply:
                        if reply.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            await satellite(wyoming, args.voice)  # warm
            for _ in range(args.runs):
                await idle(session, http)
                alone.append(await satellite(wyoming, args.voice))

                async def one() -> None:
                    async with session.post(f"http://127.0.0.1:{http}/v1/audio/speech",
                                            json={"input": PARAGRAPH, "voice": args.voice,
                                                  "response_format": "pcm"}) as reply:
                        await reply.read()

                flood = [asyncio.create_task(one()) for _ in range(args.requests)]
                await asyncio.sleep(1.0)
                flooded.append(await satellite(wyoming, args.voice))
                for task in flood:
                    task.cancel()
                await asyncio.gather(*flood, return_exceptions=True)
    finally:
        server.terminate()
        await server.wait()
    return {"http_syntheses": share, "alone_median_s": statistics.median(alone),
            "flood_median_s": statistics.median(flooded), "flood_max_s": max(flooded), "alone": alone,
            "flood": flooded}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--voices", required=True)
    parser.add_argument("--voice", default="af_heart")
    parser.add_argument("--shares", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", help="write JSON here")
    args = parser.parse_args()
    rows = []
    for share in args.shares:
        row = await measure(args, share)
        rows.append(row)
        print(f"http_syntheses {share:3}: satellite TTFA alone {row['alone_median_s']:.3f} s, under "
              f"{args.requests} HTTP requests {row['flood_median_s']:.3f} s (max {row['flood_max_s']:.3f})",
              flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"requests": args.requests, "runs": args.runs, "model": os.path.basename(args.model),
                       "results": rows}, handle, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
