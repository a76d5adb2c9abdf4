"""The HTTP side door: health, metrics, voices, models and OpenAI-compatible speech.

Speech is checked with the official `openai` client against the real
listener (start_http), each format decoded back with PyAV; the rest with
aiohttp's test client. The tiny test model encodes each token as a level,
so "the audio says exactly this text" is a plain equality for the lossless
formats; lossy ones are checked by duration. /metrics is read with
prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import subprocess
import time

import aiohttp
import av
import numpy as np
import openai
import pytest
import soxr
from aiohttp.test_utils import TestClient, TestServer
from conftest import free_port, make_config, read_until, start_server
from models import decode_tokens
from prometheus_client.parser import text_string_to_metric_families
from wyoming.event import Event
from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.__main__ import UsageError, build_service, parse_args, serve
from wyoming_kokoro.encode import WAV_UNKNOWN_SIZE, wav_header
from wyoming_kokoro.http_api import HttpApi, HttpSettings, parse_address, start_http
from wyoming_kokoro.text import TextPipeline
from wyoming_kokoro.vocab import tokenize

SPACE = 16
TEXT = "Turned on the kitchen lights. The thermostat is at twenty one degrees."


def expected_tokens(text: str, language: str = "en-us") -> list[int]:
    return [t for t in tokenize(TextPipeline().phonemes(text, language)) if t != SPACE]


def spoken(pcm: bytes) -> list[int]:
    return [t for t in decode_tokens(pcm) if t != SPACE]


@pytest.fixture
async def fresh_service(model_dir):
    """A service of its own, so metric counts are exact and the scheduler may be closed."""
    service = build_service(make_config(model_dir))
    yield service
    service.engine.scheduler.close()


@pytest.fixture
async def http(service):
    async with TestClient(TestServer(HttpApi(service).app)) as client:
        yield client


async def serve_api(service, settings: HttpSettings | None = None):
    """start_http on a free loopback port: (runner, base URL)."""
    port = free_port()
    runner = await start_http(service, "127.0.0.1", port, settings)
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def openai_client(service):
    """The official client, pointed at the real listener."""
    runner, base = await serve_api(service)
    client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="not-needed", max_retries=0, timeout=20)
    yield client
    await client.close()
    await runner.cleanup()


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


# -- health -------------------------------------------------------------------
async def test_health_is_503_until_the_service_is_ready(service):
    api = HttpApi()  # served before build_service has returned
    async with TestClient(TestServer(api.app)) as client:
        starting = await client.get("/health")
        assert starting.status == 503 and (await starting.json())["status"] == "starting"
        assert (await client.get("/metrics")).status == 503
        refused = await client.post("/v1/audio/speech", json={"input": "Hello."})
        assert refused.status == 503 and (await refused.json())["error"]["code"] == "not-ready"
        api.set_service(service)
        ready = await client.get("/health")
        assert ready.status == 200 and (await ready.json())["status"] == "ok"
        api.set_service(None)  # shutting down
        assert (await client.get("/health")).status == 503


async def test_voices_lists_every_voice_with_language(http, service):
    reply = await http.get("/v1/audio/voices")
    assert reply.status == 200
    body = await reply.json()
    assert body["default"] == "af_heart"
    voices = {v["id"]: v for v in body["voices"]}
    assert set(voices) == set(service.engine.voices)
    assert voices["bf_emma"]["language"] == "en_GB"
    assert voices["am_adam"]["description"] == "Adam — American English, male"


async def test_voices_include_a_custom_voice_dropped_in_while_running(model_dir, tmp_path):
    service = build_service(make_config(model_dir, data_dirs=[str(tmp_path)]))
    try:
        async with TestClient(TestServer(HttpApi(service).app)) as client:
            before = {v["id"] for v in (await (await client.get("/v1/audio/voices")).json())["voices"]}
            np.save(tmp_path / "af_dropped.npy", np.full((510, 1, 256), 0.01, np.float32))
            after = {v["id"] for v in (await (await client.get("/v1/audio/voices")).json())["voices"]}
        assert after - before == {"af_dropped"}
    finally:
        service.engine.scheduler.close()


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


# -- validation -----------------------------------------------------------------
@pytest.mark.parametrize("body,param", [
    ({}, "input"),
    ({"input": ""}, "input"),
    ({"input": "   "}, "input"),
    ({"input": 42}, "input"),
    ({"input": "Hi.", "voice": "xx_nobody"}, "voice"),
    ({"input": "Hi.", "voice": 3}, "voice"),
    ({"input": "Hi.", "speed": "fast"}, "speed"),
    ({"input": "Hi.", "speed": 4.5}, "speed"),
    ({"input": "Hi.", "speed": 0.2}, "speed"),
    ({"input": "Hi.", "speed": True}, "speed"),
    ({"input": "Hi.", "response_format": "ogg"}, "response_format"),
    ({"input": "Hi.", "stream_format": "sse"}, "stream_format"),
    ({"input": "Hi.", "model": ["tts-1"]}, "model"),
    ({"input": "Hi.", "instructions": 3}, "instructions"),
    ({"input": "Hi.", "stream": "yes"}, "stream"),
    ({"input": "Hi.", "volume_multiplier": -1}, "volume_multiplier"),
    ({"input": "Hi.", "lang_code": 7}, "lang_code"),
])
async def test_bad_bodies_are_400_with_a_json_error(http, body, param):
    reply = await http.post("/v1/audio/speech", json=body)
    assert reply.status == 400
    error = (await reply.json())["error"]
    assert error["param"] == param and error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.parametrize("data", [
    b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b"{" * 100_000,
    b'{"input": "Hi.", "speed": ' + b"9" * 5000 + b"}", b'{"input": "Hi.", "speed": ' + b"1" * 400 + b"}",
    b'{"input": "Hi.", "speed": 1' + b"0" * 400 + b'.5}', b'{"input": "Hi.", "speed": NaN}',
    b'{"input": "Hi.", "speed": 1e999}', b'{"input": "Hi.", "speed": -' + b"9" * 5000 + b"}",
])
async def test_hostile_bodies_are_clean_400_json_errors(http, data):
    reply = await http.post("/v1/audio/speech", data=data, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    assert (await reply.json())["error"]["message"]


async def test_aiohttp_errors_are_json_too(http, service, monkeypatch):
    missing = await http.get("/v1/nothing")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "404"
    wrong_method = await http.get("/v1/audio/speech")
    assert wrong_method.status == 405 and (await wrong_method.json())["error"]["message"]
    monkeypatch.setattr(service.settings, "max_text_chars", 10)
    async with TestClient(TestServer(HttpApi(service).app)) as small:  # body limit from max_text_chars
        huge = await small.post("/v1/audio/speech", data=b"x" * (2 * 1024 * 1024))
        assert huge.status == 413 and (await huge.json())["error"]["message"]


async def test_input_over_the_limit_is_413(http, service, monkeypatch):
    monkeypatch.setattr(service.settings, "max_text_chars", 50)
    reply = await http.post("/v1/audio/speech", json={"input": "word " * 20})
    assert reply.status == 413
    assert (await reply.json())["error"]["code"] == "text-too-long"
    ok = await http.post("/v1/audio/speech", json={"input": "Short.", "response_format": "pcm"})
    assert ok.status == 200 and spoken(await ok.read()) == expected_tokens("Short.")


async def test_synthesis_failure_before_audio_is_500(fresh_service, monkeypatch):
    def broken(text, language):
        raise RuntimeError("espeak exploded")

    monkeypatch.setattr(fresh_service.engine, "prepare", broken)
    async with TestClient(TestServer(HttpApi(fresh_service).app)) as client:
        reply = await client.post("/v1/audio/speech", json={"input": "Hello."})
        assert reply.status == 500
        assert "espeak exploded" in (await reply.json())["error"]["message"]
        metrics = await (await client.get("/metrics")).text()
    assert samples(metrics, "kokoro_requests_total")['api="http",outcome="failed"'] == 1
    assert sum(v for k, v in samples(metrics, "kokoro_requests_total").items() if 'api="http"' in k) == 1


async def test_failure_after_audio_breaks_the_stream_instead_of_ending_it(fresh_service, monkeypatch):
    real_infer, calls = fresh_service.engine.infer, []

    def fail_second(segment, voice, speed):
        calls.append(segment)
        if len(calls) > 1:
            raise RuntimeError("out of memory")
        return real_infer(segment, voice, speed)

    monkeypatch.setattr(fresh_service.engine, "infer", fail_second)
    text = "One short sentence first. " + "Then a much longer sentence follows it, " * 6 + "to the end."
    runner, base = await serve_api(fresh_service)  # the real listener, with its own error handling
    try:
        async with aiohttp.ClientSession() as session:
            reply = await session.post(f"{base}/v1/audio/speech", json={"input": text, "response_format": "mp3"})
            assert reply.status == 200  # headers went out with the first audio
            with pytest.raises(aiohttp.ClientPayloadError):
                await reply.read()
    finally:
        await runner.cleanup()
    assert len(calls) >= 2
    assert fresh_service.metrics.requests.labels("http", "failed")._value.get() == 1


async def test_client_going_away_stops_the_synthesis(fresh_service, monkeypatch):
    real_infer = fresh_service.engine.infer

    def slow(segment, voice, speed):
        time.sleep(0.02)  # slower than the client reads, so most of the text is still to come
        return real_infer(segment, voice, speed)

    monkeypatch.setattr(fresh_service.engine, "infer", slow)
    scheduler, metrics = fresh_service.engine.scheduler, fresh_service.metrics
    runner, base = await serve_api(fresh_service)
    try:
        async with aiohttp.ClientSession() as session:
            reply = await session.post(f"{base}/v1/audio/speech",
                                       json={"input": "A sentence that goes on a while. " * 60})
            await reply.content.read(100)
            assert metrics.http_streams == 1
            reply.close()  # hang up mid-stream
            for _ in range(200):  # the call already running finishes; queued ones are dropped
                if metrics.http_streams == 0 and scheduler.busy == 0:
                    break
                await asyncio.sleep(0.01)
            settled = scheduler.completed
            await asyncio.sleep(0.2)
            text = await (await session.get(f"{base}/metrics")).text()
    finally:
        await runner.cleanup()
    assert metrics.http_streams == 0 and scheduler.pending == 0
    assert scheduler.completed == settled  # no model work for a gone client
    assert settled < 10  # far fewer than the text's segments
    assert samples(text, "kokoro_requests_total")['api="http",outcome="cancelled"'] == 1


# -- metrics --------------------------------------------------------------------
async def test_every_request_is_counted_once_by_outcome(fresh_service):
    running = await start_server(fresh_service)
    try:
        async with TestClient(TestServer(HttpApi(fresh_service).app)) as client:
            empty = await (await client.get("/metrics")).text()
            for _ in range(2):
                reply = await client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm"})
                assert reply.status == 200 and await reply.read()
            assert (await client.post("/v1/audio/speech", json={"input": ""})).status == 400
            assert (await client.post("/v1/audio/speech", data=b"[" * 100_000)).status == 400
            async with running.client() as wyoming:
                await wyoming.write_event(Event("synthesize", {"text": "Hello."}))
                await read_until(wyoming, "audio-stop")
                await wyoming.write_event(Event("synthesize", {"text": "Hi.", "voice": {"name": "xx"}}))
                assert (await read_until(wyoming, "error")).types == ["error"]
            response = await client.get("/metrics")
            metrics = await response.text()
    finally:
        await running.server.stop()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    requests = samples(metrics, "kokoro_requests_total")
    assert set(samples(empty, "kokoro_requests_total").values()) == {0}
    assert len(requests) == 2 * 5  # every api x outcome, zeros included
    assert requests['api="http",outcome="ok"'] == 2 and requests['api="http",outcome="rejected"'] == 2
    assert requests['api="wyoming",outcome="ok"'] == 1 and requests['api="wyoming",outcome="rejected"'] == 1
    assert sum(requests.values()) == 6  # each request once, whatever became of it
    assert "kokoro_errors_total" not in metrics  # one counter, so an error rate cannot exceed 100 %
    assert samples(metrics, "kokoro_ttfa_seconds_count") == {'api="wyoming"': 1, 'api="http"': 2}
    assert samples(metrics, "kokoro_rtf_count") == {'api="wyoming"': 1, 'api="http"': 2}
    assert samples(metrics, "kokoro_ttfa_seconds_bucket")['api="http",le="+Inf"'] == 2
    assert samples(metrics, "kokoro_audio_seconds_total")['api="http"'] > 0
    assert samples(metrics, "kokoro_active_streams") == {'api="wyoming"': 0, 'api="http"': 0}
    assert samples(metrics, "kokoro_queued_segments") == {"": 0}
    assert samples(metrics, "kokoro_running_calls") == {"": 0}
    assert samples(metrics, "process_resident_memory_bytes")[""] > 10_000_000
    assert samples(metrics, "process_open_fds")[""] > 0


async def test_a_wyoming_client_gone_mid_stream_is_counted_cancelled(fresh_service):
    running = await start_server(fresh_service)
    try:
        async with TestClient(TestServer(HttpApi(fresh_service).app)) as client:
            async with running.client() as wyoming:
                await wyoming.write_event(SynthesizeStart().event())
                await wyoming.write_event(SynthesizeChunk(text="The first sentence is complete. And").event())
                await read_until(wyoming, "audio-chunk")
                during = await (await client.get("/metrics")).text()
            for _ in range(100):
                after = await (await client.get("/metrics")).text()
                if samples(after, "kokoro_active_streams")['api="wyoming"'] == 0:
                    break
                await asyncio.sleep(0.02)
    finally:
        await running.server.stop()
    assert samples(during, "kokoro_active_streams")['api="wyoming"'] == 1
    assert samples(during, "kokoro_wyoming_connections") == {"": 1}
    requests = samples(after, "kokoro_requests_total")
    assert requests['api="wyoming",outcome="cancelled"'] == 1 and sum(requests.values()) == 1


async def test_active_streams_counts_an_open_wyoming_stream(fresh_service):
    running = await start_server(fresh_service)
    try:
        async with TestClient(TestServer(HttpApi(fresh_service).app)) as client:
            async with running.client() as wyoming:
                await wyoming.write_event(SynthesizeStart().event())
                await wyoming.write_event(SynthesizeChunk(text="The first sentence is complete. And").event())
                await read_until(wyoming, "audio-chunk")
                during = await (await client.get("/metrics")).text()
                await wyoming.write_event(SynthesizeStop().event())
                await read_until(wyoming, "synthesize-stopped")
            after = await (await client.get("/metrics")).text()
    finally:
        await running.server.stop()
    assert samples(during, "kokoro_active_streams")['api="wyoming"'] == 1
    assert samples(after, "kokoro_active_streams")['api="wyoming"'] == 0
    assert samples(after, "kokoro_requests_total")['api="wyoming",outcome="ok"'] == 1


# -- command line and startup ---------------------------------------------------
@pytest.mark.parametrize("value,expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    (":8080", ("0.0.0.0", 8080)),
    ("[::1]:9000", ("::1", 9000)),
])
def test_http_flag_parses_host_and_port(value, expected):
    assert parse_args(["--http", value]).http == expected
    assert parse_address(value) == expected


@pytest.mark.parametrize("value", ["8080", "host:", "host:http", "host:0", "host:70000"])
def test_bad_http_flag_is_a_usage_error(value):
    with pytest.raises(UsageError, match="--http"):
        parse_args(["--http", value])


async def test_serve_starts_the_http_api_beside_wyoming(fresh_service):
    wyoming_port, http_port = free_port(), free_port()
    task = asyncio.create_task(serve(f"tcp://127.0.0.1:{wyoming_port}", fresh_service,
                                     http=("127.0.0.1", http_port)))
    try:
        client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{http_port}/v1", api_key="-", max_retries=0)
        for _ in range(100):
            try:
                pcm, _ = await speak(client, voice="af_heart", input="Served.", response_format="pcm")
                break
            except openai.APIConnectionError:
                await asyncio.sleep(0.05)
        await client.close()
        assert spoken(pcm) == expected_tokens("Served.")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    with pytest.raises(RuntimeError):  # serve() closed the scheduler on the way out
        fresh_service.engine.scheduler.submit(lambda: None)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_sox_reports_a_streamed_wavs_length_as_unknown_not_a_day(tmp_path):
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(wav_header(24000) + bytes(4 * 24000 * 2))  # 4 s of silence
    info = subprocess.run(["sox", "--i", str(streamed)], capture_output=True, text=True, check=True).stdout
    assert "Sample Rate    : 24000" in info and "Duration" not in info  # was 24:51:18 with 0xFFFFFFFF
    stat = subprocess.run(["sox", str(streamed), "-n", "stat"], capture_output=True, text=True).stderr
    assert "Length (seconds):      4.000000" in stat
