"""Wyoming output at the rate a satellite wants: 24 kHz as made, or resampled.

Kokoro makes 24 kHz audio. Home Assistant's pipelines and many satellites
(ESPHome voice assistants, the Wyoming satellite) play 16 kHz or 22.05 kHz
and convert whatever arrives; `output_rate` makes the server send their rate
directly, so no device spends its small CPU on resampling, and
`audio-start` and every `audio-chunk` state the real rate.

Resampling is soxr's streaming resampler (high quality, and it keeps its
filter state across pieces, so segment joins are seamless); a piece goes
in as soon as the engine yields it and what is ready comes out at once.
"""

from __future__ import annotations

import numpy as np

from . import SAMPLE_RATE
from .chunk import Chunker, to_pcm16

OUTPUT_RATES = (16000, 22050, 24000)


class Resampler:
    """Streaming float32 mono resampler from `source` to `target` Hz."""

    def __init__(self, source: int, target: int) -> None:
        import soxr  # noqa: PLC0415 - only needed when resampling

        self._stream = soxr.ResampleStream(source, target, 1, dtype="float32", quality="HQ")

    def process(self, audio: np.ndarray) -> np.ndarray:
        return self._stream.resample_chunk(np.ascontiguousarray(audio, dtype=np.float32))

    def finish(self) -> np.ndarray:
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)


class OutputChunker(Chunker):
    """Chunks of 16-bit PCM at the output rate, from the engine's float pieces.

    samples_per_chunk is a count at the output rate (the config computes it
    from the chunk profile's duration and the output rate), and timestamps
    are in milliseconds of output audio.
    """

    def __init__(self, samples_per_chunk: int, rate: int = SAMPLE_RATE) -> None:
        super().__init__(samples_per_chunk, 2)
        self.rate = rate
        self._resampler = Resampler(SAMPLE_RATE, rate) if rate != SAMPLE_RATE else None

    def feed_audio(self, audio: np.ndarray) -> list[bytes]:
        """Whole chunks ready after one piece of 24 kHz float audio."""
        if self._resampler is not None:
            audio = self._resampler.process(audio)
        return self.feed(to_pcm16(audio))

    def flush(self) -> list[bytes]:
        """The rest: the resampler's tail and the last, shorter chunk."""
        chunks = []
        if self._resampler is not None:
            chunks = self.feed(to_pcm16(self._resampler.finish()))
            self._resampler = Resampler(SAMPLE_RATE, self.rate)  # a later stream starts fresh
        return chunks + super().flush()

    def timestamp_ms(self) -> int:
        return self.samples_sent * 1000 // self.rate
