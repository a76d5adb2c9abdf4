"""The HTTP side door: health, voices, validation, errors, metrics, start-up.

Speech itself (formats, speed, voice names) is in test_http_speech.py; the
listener's limits in test_http_limits.py.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import numpy as np
import openai
import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import free_port, make_config, read_until, start_server
from http_helpers import TEXT, expected_tokens, samples, serve_api, speak, spoken
from wyoming.event import Event
from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_kokoro.__main__ import UsageError, build_service, parse_args, serve
from wyoming_kokoro.http_api import HttpApi, parse_address


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


