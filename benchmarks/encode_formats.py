"""Encoding cost and added time to first byte of the HTTP response formats.

Feeds the encoders of wyoming_kokoro.encode (PyAV) the way a response does:
a short first piece (the first segment, 0.4 s) then longer ones (1.5 s),
24 kHz float32 mono, and measures per format:

- CPU seconds per second of audio (process time over the whole stream,
  median of --runs)
- added time to first byte: from the first piece being ready to the first
  bytes carrying audio (encoder start-up + encoding the first piece;
  container headers alone do not count), median of --runs
- how much of the first piece the encoder holds back (look-ahead), in ms

The same is measured for soundfile (libsndfile) where it has the format,
writing into memory, with a check of whether it rewrites bytes it has
already produced (then the output cannot be streamed).

The signal is speech-like (a voiced harmonic series with a moving pitch,
syllable-rate envelope and noise bursts), since a codec's cost depends on
its input; it is generated, because real model output needs the real model.

With --model and --voices it also measures end to end (--cached: with the
audio cache on, so replies are replayed and the synthesis time, which
varies by far more than an encoder costs on a loaded machine, drops out): the server is
started with --http, each format is requested --runs times (one at a time,
a two-sentence text) and the time to the first body byte is compared with
pcm's, so the figure includes the encoder's thread hop and the container
headers: what a client really waits for on top of synthesis.

Usage: python benchmarks/encode_formats.py [--seconds 20] [--runs 5] [--out FILE.json]
                                           [--model M.onnx --voices V.bin]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

from wyoming_kokoro.encode import FORMATS

RATE = 24000
FIRST, LATER = 0.4, 1.5
SF_FORMATS = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "flac": ("FLAC", "PCM_16"),
              "wav": ("WAV", "PCM_16")}


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    noise = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 1.3 * t) > 0.8)
    return (0.15 * voiced * envelope + 0.05 * noise).astype(np.float32)


def pieces(audio: np.ndarray) -> list[np.ndarray]:
    first = int(FIRST * RATE)
    out = [audio[:first]]
    step = int(LATER * RATE)
    out += [audio[i:i + step] for i in range(first, audio.size, step)]
    return out


def header_bytes(name: str) -> int:
    """Bytes an encoder returns for no audio at all: container headers."""
    encoder = FORMATS[name].make(RATE)
    return len(encoder.encode(np.zeros(0, np.float32)))


def run_pyav(name: str, audio: np.ndarray) -> dict:
    parts = pieces(audio)
    header = header_bytes(name)
    started_cpu = time.process_time()
    started = time.perf_counter()
    encoder = FORMATS[name].make(RATE)
    first = encoder.encode(parts[0])
    first_wall = time.perf_counter() - started
    audio_in_first = len(first) > header
    total = len(first)
    for piece in parts[1:]:
        total += len(encoder.encode(piece))
    total += len(encoder.finish())
    cpu = time.process_time() - started_cpu
    return {"cpu_per_audio_s": cpu / (audio.size / RATE), "ttfb_added_s": first_wall if audio_in_first else None,
            "bytes": total, "kbit_s": total * 8 / 1000 / (audio.size / RATE)}


def run_soundfile(name: str, audio: np.ndarray) -> dict:
    import soundfile  # noqa: PLC0415 - optional, for the comparison only

    kind, subtype = SF_FORMATS[name]
    parts = pieces(audio)
    buffer = io.BytesIO()
    started_cpu = time.process_time()
    started = time.perf_counter()
    sent = b""
    first_wall = None
    with soundfile.SoundFile(buffer, "w", RATE, 1, subtype, format=kind) as out:
        for piece in parts:
            out.write(piece)
            out.flush()
            now = buffer.getvalue()
            if first_wall is None and len(now) > 64:
                first_wall = time.perf_counter() - started
            sent = now
    cpu = time.process_time() - started_cpu
    final = buffer.getvalue()
    return {"cpu_per_audio_s": cpu / (audio.size / RATE), "ttfb_added_s": first_wall, "bytes": len(final),
            "rewrites_sent_bytes": final[:len(sent)] != sent}


E2E_TEXT = ("Turned on the kitchen lights and set the thermostat to twenty one degrees. "
            "The front door is locked, and the garage door is closed.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _first_byte(url: str, fmt: str, voice: str) -> tuple[float, float, int]:
    """(seconds to the first body byte, to the last, body bytes) of one request."""
    body = json.dumps({"model": "kokoro", "input": E2E_TEXT, "voice": voice, "response_format": fmt})
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        first = response.read(1)
        first_at = time.perf_counter() - started
        rest = response.read()
    return first_at, time.perf_counter() - started, len(first) + len(rest)


def end_to_end(model: str, voices: str, voice: str, runs: int, cached: bool = False) -> dict:
    port, http = _free_port(), _free_port()
    env = {**os.environ, "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or tempfile.mkdtemp()}
    config = os.path.join(tempfile.mkdtemp(), "kokoro.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        # uncached: every request synthesised; cached: replies replayed from the
        # audio cache, so what is left of the time to first byte is the encoder's
        handle.write(f"cache: {{enabled: {'true' if cached else 'false'}}}\n")
    server = subprocess.Popen([sys.executable, "-m", "wyoming_kokoro", "--config", config, "--model", model,
                               "--voices", voices,
                               "--voice", voice, "--uri", f"tcp://127.0.0.1:{port}", "--http", f"127.0.0.1:{http}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{http}/v1/audio/speech"
    try:
        for _ in range(600):
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        _first_byte(url, "pcm", voice)  # warm
        results: dict[str, list] = {name: [] for name in FORMATS}
        for _ in range(runs):
            for name in FORMATS:  # interleaved, so a load change hits every format alike
                results[name].append(_first_byte(url, name, voice))
    finally:
        server.terminate()
        server.wait(30)
    pcm = statistics.median(r[0] for r in results["pcm"])
    return {name: {"ttfb_s": statistics.median(r[0] for r in rows),
                   "ttfb_added_ms": (statistics.median(r[0] for r in rows) - pcm) * 1000,
                   "total_s": statistics.median(r[1] for r in rows), "bytes": rows[0][2]}
            for name, rows in results.items()}


def median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", help="write JSON here")
    parser.add_argument("--model", help="also measure end to end with this model file")
    parser.add_argument("--voices", help="voices file for --model")
    parser.add_argument("--voice", default="af_heart", help="voice for --model (default: af_heart)")
    parser.add_argument("--cached", action="store_true", help="end to end with the audio cache on")
    args = parser.parse_args()
    audio = speechlike(args.seconds)
    results = {}
    for name in FORMATS:
        runs = [run_pyav(name, audio) for _ in range(args.runs)]
        row = {"pyav_cpu_ms_per_audio_s": median(runs, "cpu_per_audio_s") * 1000,
               "pyav_ttfb_added_ms": (median(runs, "ttfb_added_s") or float("nan")) * 1000,
               "kbit_s": runs[0]["kbit_s"]}
        if name in SF_FORMATS:
            sf_runs = [run_soundfile(name, audio) for _ in range(args.runs)]
            row["soundfile_cpu_ms_per_audio_s"] = median(sf_runs, "cpu_per_audio_s") * 1000
            row["soundfile_ttfb_added_ms"] = (median(sf_runs, "ttfb_added_s") or float("nan")) * 1000
            row["soundfile_rewrites_sent_bytes"] = sf_runs[0]["rewrites_sent_bytes"]
        results[name] = row
    print(f"{'format':7} {'PyAV CPU ms/s':>14} {'PyAV +TTFB ms':>14} {'kbit/s':>7} "
          f"{'sndfile CPU ms/s':>17} {'sndfile +TTFB ms':>17} rewrites")
    for name, row in results.items():
        sf_cpu = row.get("soundfile_cpu_ms_per_audio_s")
        sf_ttfb = row.get("soundfile_ttfb_added_ms")
        print(f"{name:7} {row['pyav_cpu_ms_per_audio_s']:14.2f} {row['pyav_ttfb_added_ms']:14.2f} "
              f"{row['kbit_s']:7.1f} {sf_cpu if sf_cpu is not None else float('nan'):17.2f} "
              f"{sf_ttfb if sf_ttfb is not None else float('nan'):17.2f} "
              f"{row.get('soundfile_rewrites_sent_bytes', '-')}")
    e2e = end_to_end(args.model, args.voices, args.voice, args.runs, args.cached) if args.model else None
    if e2e:
        print(f"\nend to end ({os.path.basename(args.model)}): {'format':7} {'TTFB s':>7} {'+TTFB ms':>9} "
              f"{'total s':>8} {'bytes':>8}")
        for name, row in e2e.items():
            print(f"{'':>{15 + len(os.path.basename(args.model))}} {name:7} {row['ttfb_s']:7.3f} "
                  f"{row['ttfb_added_ms']:9.1f} {row['total_s']:8.2f} {row['bytes']:8d}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"seconds": args.seconds, "runs": args.runs, "formats": results, "end_to_end": e2e,
                       "cached": args.cached,
                       "model": os.path.basename(args.model) if args.model else None}, handle, indent=1)


if __name__ == "__main__":
    main()
