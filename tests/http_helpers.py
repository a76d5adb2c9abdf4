"""Helpers of the HTTP tests (their fixtures are in conftest.py): the real listener on a free port,
the official OpenAI client pointed at it, decoding any response format back
to samples (PyAV), and reading /metrics with prometheus_client's parser.

The tiny test model encodes each token as a level, so "the audio says
exactly this text" is a plain equality for the lossless formats.
"""

from __future__ import annotations

import io

import av
import numpy as np
import openai
from conftest import free_port
from models import decode_tokens
from prometheus_client.parser import text_string_to_metric_families

from wyoming_kokoro.http_api import HttpSettings, start_http
from wyoming_kokoro.text import TextPipeline
from wyoming_kokoro.vocab import tokenize

SPACE = 16
TEXT = "Turned on the kitchen lights. The thermostat is at twenty one degrees."


def expected_tokens(text: str, language: str = "en-us") -> list[int]:
    return [t for t in tokenize(TextPipeline().phonemes(text, language)) if t != SPACE]


def spoken(pcm: bytes) -> list[int]:
    return [t for t in decode_tokens(pcm) if t != SPACE]


async def serve_api(service, settings: HttpSettings | None = None):
    """start_http on a free loopback port: (runner, base URL)."""
    port = free_port()
    runner = await start_http(service, "127.0.0.1", port, settings)
    return runner, f"http://127.0.0.1:{port}"


async def speak(client: openai.AsyncOpenAI, **params) -> tuple[bytes, dict[str, str]]:
    """A streamed request, read chunk by chunk as a streaming client does."""
    async with client.audio.speech.with_streaming_response.create(model="kokoro", **params) as response:
        body = b"".join([chunk async for chunk in response.iter_bytes()])
        return body, {k.lower(): v for k, v in response.headers.items()}


def samples(metrics: str, name: str) -> dict[str, float]:
    """{labels: value} of one sample name, parsed by prometheus_client."""
    found = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name:
                key = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                found[key] = sample.value
    return found


def similar(audio: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of a decoded lossy signal with the original, after finding
    the codec's delay (up to 100 ms either way)."""
    best = -1.0
    n = min(audio.size, reference.size) - 4800
    for lag in range(-2400, 2401, 4):
        a = audio[max(lag, 0): max(lag, 0) + n]
        r = reference[max(-lag, 0): max(-lag, 0) + n]
        best = max(best, float(np.corrcoef(a, r)[0, 1]))
    return best


def decode(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    """Mono float samples and their rate, decoded by FFmpeg (PyAV) whatever the format."""
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32767, 24000
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        frames = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
        if stream.codec_context.format.name.startswith("s16"):
            frames = [f.astype(np.float32) / 32767 for f in frames]
        return np.concatenate(frames).astype(np.float32), stream.codec_context.sample_rate

