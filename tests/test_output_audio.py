"""Audio adjusted for the listener: Wyoming output at 16 / 22.05 kHz (soxr),
and speeds beyond the model's range by time-stretching (PyAV's atempo)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_config, read_until, start_server
from wyoming.event import Event

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.config import ConfigError, validate
from wyoming_kokoro.resample import OutputChunker
from wyoming_kokoro.stretch import Stretcher, split_speed

TEXT = "Turned on the kitchen lights. The thermostat is at twenty one degrees."


def tone(seconds: float, hz: float, rate: int = 24000) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def peak_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.argmax(spectrum) * rate / audio.size)


async def synthesize(service, text: str = TEXT):
    running = await start_server(service)
    try:
        async with running.client() as client:
            await client.write_event(Event("synthesize", {"text": text}))
            return await read_until(client, "audio-stop")
    finally:
        await running.server.stop()


@pytest.mark.parametrize("rate", [16000, 22050])
async def test_wyoming_output_rate_is_the_rate_stated_and_sent(model_dir, rate):
    native = build_service(make_config(model_dir))
    resampled = build_service(make_config(model_dir, output_rate=rate))
    try:
        reference = await synthesize(native)
        reply = await synthesize(resampled)
    finally:
        native.engine.scheduler.close()
        resampled.engine.scheduler.close()
    start = reply.of("audio-start")[0].data
    assert start["rate"] == rate and start["width"] == 2 and start["channels"] == 1
    chunks = reply.of("audio-chunk")
    assert all(c.data["rate"] == rate for c in chunks)
    per_chunk = int(round(0.05 * rate)) * 2  # the "stable" profile: 50 ms of audio at the output rate
    assert all(len(c.payload) == per_chunk for c in chunks[:-1])
    seconds = len(reply.pcm) / 2 / rate
    assert seconds == pytest.approx(len(reference.pcm) / 2 / 24000, abs=0.002)
    assert reply.of("audio-stop")[0].data["timestamp"] == pytest.approx(seconds * 1000, abs=2)
    assert chunks[-1].data["timestamp"] == pytest.approx(1000 * (len(reply.pcm) - len(chunks[-1].payload)) / 2
                                                         / rate, abs=1)


def test_resampled_chunks_keep_the_pitch_and_join_seamlessly():
    chunker = OutputChunker(800, 16000)
    audio = tone(1.0, 440)
    out = b"".join(chunk for i in range(0, audio.size, 3000) for chunk in chunker.feed_audio(audio[i:i + 3000]))
    out += b"".join(chunker.flush())
    pcm = np.frombuffer(out, "<i2").astype(np.float32) / 32767
    assert pcm.size == 16000
    assert peak_hz(pcm, 16000) == pytest.approx(440, abs=2)
    steady = pcm[800:-800]  # away from the filter's edges: no clicks where pieces joined
    assert np.max(np.abs(np.diff(steady))) < 2 * np.pi * 440 / 16000 * 0.4 * 1.05


def test_output_rate_must_be_one_satellites_use():
    assert validate({"output_rate": 16000})["output_rate"] == 16000
    assert validate({})["output_rate"] == 24000
    with pytest.raises(ConfigError, match="output_rate"):
        validate({"output_rate": 44100})


@pytest.mark.parametrize("speed,model,tempo", [
    (1.0, 1.0, 1.0), (0.5, 0.5, 1.0), (2.0, 2.0, 1.0), (4.0, 2.0, 2.0), (0.25, 0.5, 0.5), (3.0, 2.0, 1.5),
])
def test_speed_is_split_between_the_model_and_the_stretcher(speed, model, tempo):
    assert split_speed(speed) == pytest.approx((model, tempo))


@pytest.mark.parametrize("tempo", [2.0, 0.5, 1.5])
def test_stretching_changes_the_length_and_keeps_the_pitch(tempo):
    audio = tone(2.0, 220)
    stretcher = Stretcher(tempo, 24000)
    pieces = [stretcher.process(audio[i:i + 7000]) for i in range(0, audio.size, 7000)]
    out = np.concatenate([*pieces, stretcher.finish()])
    assert out.size / audio.size == pytest.approx(1 / tempo, rel=0.02)
    assert peak_hz(out, 24000) == pytest.approx(220, abs=3)  # resampling would give 220 * tempo
    held_back = 7000 - pieces[0].size * tempo  # streamed: most of the first piece comes out at once
    assert held_back < 0.1 * 24000
