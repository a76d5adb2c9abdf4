"""Streaming audio encoders for the HTTP API: mp3, opus, aac, flac, wav, pcm.

Audio leaves the engine as float32 pieces (one per synthesised segment), and
an HTTP client should hear the first piece while later ones are still being
synthesised, so every encoder here takes pieces and returns the bytes that
are ready *now*; `finish()` returns the tail. Nothing is ever rewritten, so
the bytes can be sent as soon as they exist (chunked transfer).

The compressed formats use PyAV, whose wheels bundle FFmpeg with LAME, Opus,
FFmpeg's AAC encoder and FLAC: one well-kept dependency for all four, with
no system libraries to install on a Pi or in the add-on image. soundfile
(libsndfile) was measured as well and rejected: it has no AAC, its Opus costs
3x as much CPU, and its mp3, FLAC and WAV writers rewrite bytes they have
already produced when the file is closed, which a stream cannot take back
(benchmarks/encode_formats.py; README, "HTTP side door").

Containers were chosen for streaming: mp3 as a plain MPEG audio stream,
opus in Ogg with 100 ms pages (FFmpeg's default of 1 s would hold the first
audio back by up to a second), aac as ADTS (self-framed, what OpenAI sends),
flac as a native FLAC stream (its STREAMINFO then carries no total length,
which FLAC allows), wav with sox's "unspecified length" sizes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .chunk import to_pcm16

WAV_UNKNOWN_SIZE = 0x7FFFF000
"""The RIFF and data size of a WAV whose length is not known up front:
SoX writes and recognises this value ("unspecified length", used in pipes)
and then reports the duration as unknown; FFmpeg, libsndfile and Python's
wave module read such a file up to its real end. 0xFFFFFFFF, the other
common choice, makes SoX report 24:51:18 for a few seconds of 24 kHz audio."""


class Encoder:
    """One response's encoder: `encode(piece)` and `finish()` return bytes to send."""

    def encode(self, audio: np.ndarray) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


class PcmEncoder(Encoder):
    """Raw 16-bit little-endian mono, as OpenAI's `pcm`."""

    def encode(self, audio: np.ndarray) -> bytes:
        return to_pcm16(audio)


def wav_header(rate: int, data_bytes: int | None = None) -> bytes:
    """A 44-byte 16-bit mono PCM WAV header; data_bytes None: length unknown."""
    data = WAV_UNKNOWN_SIZE if data_bytes is None else data_bytes
    riff = WAV_UNKNOWN_SIZE if data_bytes is None else 36 + data_bytes
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data))


class WavEncoder(PcmEncoder):
    """The header (unknown length) with the first bytes, then plain PCM."""

    def __init__(self, rate: int) -> None:
        self._header: bytes | None = wav_header(rate)

    def encode(self, audio: np.ndarray) -> bytes:
        header, self._header = self._header or b"", None
        return header + super().encode(audio)

    def finish(self) -> bytes:
        header, self._header = self._header or b"", None
        return header  # empty audio is still a valid (empty) WAV


class _Sink(io.RawIOBase):
    """Where FFmpeg's muxer writes: collected until taken, never seekable,
    so muxers that would go back to patch a header (FLAC, Ogg) do not try."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class AvEncoder(Encoder):
    """An FFmpeg codec in a streamable container, through PyAV."""

    def __init__(self, spec: AvSpec, rate: int) -> None:
        import av  # noqa: PLC0415 - only the compressed formats need FFmpeg

        self._sink = _Sink()
        self._container = av.open(self._sink, mode="w", format=spec.container,
                                  options=dict(spec.container_options))
        self._stream = self._container.add_stream(spec.codec, rate=rate, layout="mono")
        if spec.bit_rate:
            self._stream.bit_rate = spec.bit_rate
        self._rate = rate
        self._samples = 0
        self._frame = av.AudioFrame.from_ndarray

    def encode(self, audio: np.ndarray) -> bytes:
        if audio.size:
            frame = self._frame(np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1),
                                format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = self._samples
            self._samples += audio.size
            self._mux(frame)
        return self._sink.take()

    def finish(self) -> bytes:
        self._mux(None)  # drain the encoder's look-ahead
        self._container.close()
        return self._sink.take()

    def _mux(self, frame) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)


@dataclass(frozen=True)
class AvSpec:
    codec: str
    container: str
    bit_rate: int
    container_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    make: Callable[[int], Encoder]


AV_SPECS = {
    "mp3": AvSpec("libmp3lame", "mp3", 64_000),
    "opus": AvSpec("libopus", "ogg", 32_000, (("page_duration", "100000"),)),
    "aac": AvSpec("aac", "adts", 64_000),
    "flac": AvSpec("flac", "flac", 0),
}
"""Mono speech at 24 kHz: 64 kbit/s mp3 and aac and 32 kbit/s opus are
transparent for a voice (the bit rates OpenAI's own files use are similar)."""

FORMATS = {
    "mp3": Format("mp3", "audio/mpeg", lambda rate: AvEncoder(AV_SPECS["mp3"], rate)),
    "opus": Format("opus", "audio/ogg; codecs=opus", lambda rate: AvEncoder(AV_SPECS["opus"], rate)),
    "aac": Format("aac", "audio/aac", lambda rate: AvEncoder(AV_SPECS["aac"], rate)),
    "flac": Format("flac", "audio/flac", lambda rate: AvEncoder(AV_SPECS["flac"], rate)),
    "wav": Format("wav", "audio/wav", WavEncoder),
    "pcm": Format("pcm", "audio/pcm", lambda rate: PcmEncoder()),
}
"""OpenAI's response formats; the default, as OpenAI's, is mp3."""

DEFAULT_FORMAT = "mp3"
