"""Speaking rates beyond the model's range: model speed plus time-stretching.

Kokoro's `speed` input scales its predicted durations; from 0.5 to 2.0 that
sounds natural, beyond it words are garbled or slurred. OpenAI's API accepts
0.25-4.0, so a request outside the model's range is split in two factors:
the model runs at the nearest end of its range, and the rest (at most x2
either way) is done by FFmpeg's `atempo` filter (through PyAV), a
time-domain stretch that keeps the pitch. Resampling, the cheap way to
change speed, was rejected because it also shifts the pitch: x2 would put
the voice an octave up.

The filter is streamed: pieces go in as they are synthesised and what is
ready comes out, in small frames so that little of the first piece is held
back (about 30 ms at x2).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

MODEL_MIN_SPEED, MODEL_MAX_SPEED = 0.5, 2.0
"""The range in which Kokoro's own duration scaling sounds natural."""

MIN_SPEED, MAX_SPEED = 0.25, 4.0
"""What the HTTP API accepts (OpenAI's range)."""

_FRAME = 1024
"""Samples per frame pushed into the filter: atempo emits output once it has
a window's worth, so a large first piece pushed at once would come out only
when the next piece arrives."""


def split_speed(speed: float) -> tuple[float, float]:
    """(model speed, tempo factor left for the stretcher); their product is speed."""
    model = min(max(speed, MODEL_MIN_SPEED), MODEL_MAX_SPEED)
    return model, speed / model


class Stretcher:
    """Streaming pitch-preserving tempo change of float32 mono audio."""

    def __init__(self, tempo: float, rate: int) -> None:
        import av  # noqa: PLC0415 - only needed beyond the model's speed range

        self._av = av
        self._rate = rate
        self._time_base = Fraction(1, rate)
        self._graph = av.filter.Graph()
        self._source = self._graph.add_abuffer(format="flt", sample_rate=rate, layout="mono",
                                               time_base=f"1/{rate}")
        tempo_filter = self._graph.add("atempo", f"{tempo:.6f}")
        self._sink = self._graph.add("abuffersink")
        self._source.link_to(tempo_filter)
        tempo_filter.link_to(self._sink)
        self._graph.configure()
        self._pts = 0

    def process(self, audio: np.ndarray) -> np.ndarray:
        """Stretched audio that is ready now (possibly empty)."""
        out: list[np.ndarray] = []
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        for start in range(0, audio.size, _FRAME):
            piece = audio[start:start + _FRAME]
            frame = self._av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.time_base = self._time_base
            frame.pts = self._pts
            self._pts += piece.size
            self._source.push(frame)
            out += self._pull()
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def finish(self) -> np.ndarray:
        """The tail the filter still holds."""
        self._source.push(None)
        out = self._pull()
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def _pull(self) -> list[np.ndarray]:
        out = []
        while True:
            try:
                frame = self._sink.pull()
            except (self._av.BlockingIOError, self._av.EOFError):
                return out
            out.append(frame.to_ndarray().reshape(-1).astype(np.float32, copy=False))
