"""OpenAI-compatible speech through the official `openai` client against the
real listener: every format decoded back and its duration checked, speeds
beyond the model's range, OpenAI voice names, both blend syntaxes,
Kokoro-FastAPI's extensions, /v1/models.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time

import aiohttp
import numpy as np
import openai
import pytest
import soxr
from conftest import make_config
from http_helpers import TEXT, decode, expected_tokens, serve_api, similar, speak, spoken

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.encode import WAV_UNKNOWN_SIZE, wav_header
from wyoming_kokoro.http_api import HttpSettings


# -- speech through the official OpenAI client --------------------------------
async def test_openai_client_pcm_speaks_the_text(openai_client):
    pcm, headers = await speak(openai_client, voice="af_bella", input=TEXT, response_format="pcm")
    assert headers["content-type"] == "audio/pcm"
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert headers["x-sample-rate"] == "24000"
    assert len(pcm) % 2 == 0
    assert spoken(pcm) == expected_tokens(TEXT)


async def test_streamed_wav_says_its_length_is_unknown_the_way_sox_reads_it(openai_client):
    wav, headers = await speak(openai_client, voice="bf_emma", input="Good morning.", response_format="wav")
    pcm, _ = await speak(openai_client, voice="bf_emma", input="Good morning.", response_format="pcm")
    assert headers["content-type"] == "audio/wav"
    assert wav[:44] == wav_header(24000)
    assert struct.unpack("<I", wav[4:8])[0] == struct.unpack("<I", wav[40:44])[0] == WAV_UNKNOWN_SIZE == 0x7FFFF000
    channels, rate, _byte_rate, _align, bits = struct.unpack("<HIIHH", wav[22:36])
    assert (channels, rate, bits) == (1, 24000, 16)
    assert wav[44:] == pcm and spoken(pcm) == expected_tokens("Good morning.", "en-gb")
    audio, rate = decode(wav, "wav")  # FFmpeg reads it to its real end
    assert rate == 24000 and audio.size == len(pcm) // 2


async def test_not_streamed_wav_has_its_real_sizes_and_a_content_length(openai_client):
    response = await openai_client.audio.speech.create(model="tts-1", voice="af_heart", input=TEXT,
                                                       response_format="wav", extra_body={"stream": False})
    wav = response.content
    assert response.response.headers["content-length"] == str(len(wav))
    assert struct.unpack("<I", wav[40:44])[0] == len(wav) - 44
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8
    assert spoken(wav[44:]) == expected_tokens(TEXT)


async def test_default_format_is_mp3_as_openai(openai_client):
    data, headers = await speak(openai_client, voice="af_heart", input="Hello there.")
    assert headers["content-type"] == "audio/mpeg"
    pcm, _ = await speak(openai_client, voice="af_heart", input="Hello there.", response_format="pcm")
    audio, rate = decode(data, "mp3")
    assert rate == 24000
    assert abs(audio.size - len(pcm) // 2) < 0.08 * rate  # encoder padding at most a few frames


@pytest.mark.parametrize("fmt,content_type", [
    ("mp3", "audio/mpeg"), ("opus", "audio/ogg; codecs=opus"), ("aac", "audio/aac"), ("flac", "audio/flac"),
    ("wav", "audio/wav"), ("pcm", "audio/pcm"),
])
async def test_every_format_decodes_back_to_the_same_duration(openai_client, fmt, content_type):
    reference, _ = await speak(openai_client, voice="af_heart", input=TEXT, response_format="pcm")
    seconds = len(reference) / 2 / 24000
    data, headers = await speak(openai_client, voice="af_heart", input=TEXT, response_format=fmt)
    assert headers["content-type"] == content_type
    assert headers["transfer-encoding"] == "chunked"
    audio, rate = decode(data, fmt)
    assert abs(audio.size / rate - seconds) < 0.08, (fmt, audio.size / rate, seconds)
    if fmt in ("flac", "wav", "pcm"):  # lossless: the very same samples
        assert spoken((np.round(audio * 32767)).astype("<i2").tobytes()) == expected_tokens(TEXT)
    else:  # lossy: the same signal, give or take the codec's delay and noise
        ref = np.frombuffer(reference, "<i2").astype(np.float32) / 32767
        audio = soxr.resample(audio, rate, 24000) if rate != 24000 else audio  # Opus decodes at 48 kHz
        # Opus high-passes (its DC rejection) the test model's flat per-token levels
        assert similar(audio, ref) > (0.6 if fmt == "opus" else 0.9)


async def test_compressed_audio_is_streamed_before_the_synthesis_ends(service, monkeypatch):
    """The first mp3 bytes arrive while later segments are still being synthesised."""
    runner, base = await serve_api(service)
    real_infer, calls = service.engine.infer, []

    def slow(segment, voice, speed):
        calls.append(time.monotonic())
        time.sleep(0.05)
        return real_infer(segment, voice, speed)

    monkeypatch.setattr(service.engine, "infer", slow)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/v1/audio/speech", json={"input": "A sentence that goes on. " * 40,
                                                                     "response_format": "mp3"}) as reply:
                first = await reply.content.readany()
                first_at = time.monotonic()
                await reply.read()
    finally:
        await runner.cleanup()
    assert len(first) > 0 and len(calls) >= 2
    assert first_at < calls[-1]  # before the last model call started


async def test_speeds_beyond_the_models_range_are_stretched(openai_client):
    """The test model ignores its speed input, so what changes the length
    here is only the time-stretch beyond Kokoro's 0.5-2.0."""
    base, _ = await speak(openai_client, voice="af_heart", input=TEXT, response_format="pcm", speed=1.0)
    inside, _ = await speak(openai_client, voice="af_heart", input=TEXT, response_format="pcm", speed=2.0)
    fast, _ = await speak(openai_client, voice="af_heart", input=TEXT, response_format="pcm", speed=4.0)
    slow, _ = await speak(openai_client, voice="af_heart", input=TEXT, response_format="pcm", speed=0.25)
    assert len(inside) == len(base)  # within the model's range: no stretching at all
    assert len(fast) / len(base) == pytest.approx(0.5, rel=0.03)
    assert len(slow) / len(base) == pytest.approx(2.0, rel=0.03)


async def test_openai_voice_names_are_mapped(model_dir, caplog):
    service = build_service(make_config(model_dir))
    runner, base = await serve_api(service, HttpSettings(openai_voices={"Onyx": "bf_emma", "echo": "xx_gone"}))
    assert "'echo' maps to 'xx_gone', which is not installed" in caplog.text  # said at start
    client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="-", max_retries=0, timeout=20)
    try:
        mapped, _ = await speak(client, voice="onyx", input="Good morning.", response_format="pcm")
        assert spoken(mapped) == expected_tokens("Good morning.", "en-gb")  # bf_emma: British English
        fallback, _ = await speak(client, voice="alloy", input="Good morning.", response_format="pcm")
        assert spoken(fallback) == expected_tokens("Good morning.")  # af_alloy not installed: the default
        async with aiohttp.ClientSession() as session:
            listed = await (await session.get(f"{base}/v1/audio/voices")).json()
        assert listed["openai_voices"]["onyx"] == "bf_emma" and listed["openai_voices"]["nova"] == "af_nova"
    finally:
        await client.close()
        await runner.cleanup()
        service.engine.scheduler.close()


async def test_both_blend_syntaxes_and_a_hint_when_a_blend_is_wrong(openai_client):
    colon, _ = await speak(openai_client, voice="bf_emma:2+af_bella:1", input="Hello.", response_format="pcm")
    paren, _ = await speak(openai_client, voice="bf_emma(2)+af_bella(1)", input="Hello.", response_format="pcm")
    assert colon == paren and spoken(paren) == expected_tokens("Hello.", "en-gb")  # first voice's language
    with pytest.raises(openai.BadRequestError) as error:
        await speak(openai_client, voice="af_bella(2)+xx_nobody(1)", input="Hello.")
    message = str(error.value)
    assert "xx_nobody" in message and "af_bella:2+af_sky:1" in message and "af_bella(2)+af_sky(1)" in message


async def test_volume_multiplier_scales_the_samples(openai_client):
    full, _ = await speak(openai_client, voice="af_heart", input="Hello.", response_format="pcm")
    half, _ = await speak(openai_client, voice="af_heart", input="Hello.", response_format="pcm",
                          extra_body={"volume_multiplier": 0.5})
    full_samples = np.frombuffer(full, "<i2").astype(float)
    half_samples = np.frombuffer(half, "<i2").astype(float)
    assert np.allclose(half_samples, full_samples / 2, atol=1)


async def test_not_streamed_mp3_is_one_body_with_a_content_length(openai_client):
    response = await openai_client.audio.speech.create(model="kokoro", voice="af_heart", input=TEXT,
                                                       extra_body={"stream": False})
    headers = response.response.headers
    assert headers["content-type"] == "audio/mpeg" and headers["content-length"] == str(len(response.content))
    audio, rate = decode(response.content, "mp3")
    assert rate == 24000 and audio.size > 0.5 * rate


async def test_lang_code_changes_the_pronunciation_language(openai_client):
    british, _ = await speak(openai_client, voice="af_heart", input="Good morning.", response_format="pcm",
                             extra_body={"lang_code": "b"})
    assert spoken(british) == expected_tokens("Good morning.", "en-gb")
    same, _ = await speak(openai_client, voice="af_heart", input="Good morning.", response_format="pcm",
                          extra_body={"lang_code": "en-gb"})
    assert same == british
    with pytest.raises(openai.BadRequestError, match="lang_code"):
        await speak(openai_client, voice="af_heart", input="Hi.", extra_body={"lang_code": "xx"})


async def test_a_huge_voice_name_is_not_echoed_back(http):
    reply = await http.post("/v1/audio/speech", json={"input": "Hi.", "voice": "af_heart+" * 100_000 + "x"})
    assert reply.status == 400 and len(await reply.read()) < 2000


async def test_models_are_listed_for_the_openai_client(openai_client):
    models = await openai_client.models.list()
    assert {"kokoro", "tts-1", "tts-1-hd"} <= {model.id for model in models.data}
    assert (await openai_client.models.retrieve("tts-1")).id == "tts-1"
    with pytest.raises(openai.NotFoundError):
        await openai_client.models.retrieve("whisper-1")


async def test_openai_client_sees_bad_requests_as_errors(openai_client):
    with pytest.raises(openai.BadRequestError) as unknown:
        await speak(openai_client, voice="xx_nobody", input="Hello.")
    assert "xx_nobody" in str(unknown.value)
    with pytest.raises(openai.BadRequestError) as ogg:
        await speak(openai_client, voice="af_heart", input="Hello.", response_format="ogg")
    assert "mp3" in str(ogg.value)



@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_sox_reports_a_streamed_wavs_length_as_unknown_not_a_day(tmp_path):
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(wav_header(24000) + bytes(4 * 24000 * 2))  # 4 s of silence
    info = subprocess.run(["sox", "--i", str(streamed)], capture_output=True, text=True, check=True).stdout
    assert "Sample Rate    : 24000" in info and "Duration" not in info  # was 24:51:18 with 0xFFFFFFFF
    stat = subprocess.run(["sox", str(streamed), "-n", "stat"], capture_output=True, text=True).stderr
    assert "Length (seconds):      4.000000" in stat

