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

Usage: python benchmarks/encode_formats.py [--seconds 20] [--runs 5] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

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


def median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", help="write JSON here")
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
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"seconds": args.seconds, "runs": args.runs, "formats": results}, handle, indent=1)


if __name__ == "__main__":
    main()
