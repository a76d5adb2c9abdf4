"""Bad input, disconnects and load: nothing crashes, nothing leaks."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pytest
from conftest import make_config, read_until, slow_down, start_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wyoming.event import Event, async_read_event
from wyoming.info import Describe

from wyoming_kokoro.__main__ import build_service


def frame(header: dict, data: bytes = b"", payload: bytes = b"") -> bytes:
    return json.dumps(header).encode() + b"\n" + data + payload


def event_bytes(kind: str, data: dict | None = None, raw_data: bytes | None = None) -> bytes:
    body = raw_data if raw_data is not None else json.dumps(data or {}).encode()
    return frame({"type": kind, "data_length": len(body)}, body)


DESCRIBE = frame({"type": "describe"})
HUGE = 2 * 1024**3

# (name, bytes to send, whether the server may close the connection afterwards,
#  the error code it must answer with before answering describe; None: no error)
MALFORMED = [
    ("invalid json", b"{not json\n", False, "bad-event"),
    ("json array", b"[1, 2]\n", False, "bad-event"),
    ("json string", b'"describe"\n', False, "bad-event"),
    ("json number", b"42\n", False, "bad-event"),
    ("null", b"null\n", False, "bad-event"),
    ("empty line", b"\n", False, "bad-event"),
    ("no type", frame({"data": {}}), False, "bad-event"),
    ("type is a number", frame({"type": 5}), False, "bad-event"),
    ("type is empty", frame({"type": ""}), False, "bad-event"),
    ("data is a list", frame({"type": "synthesize", "data": [1]}), False, "bad-event"),
    ("data is a string", frame({"type": "synthesize", "data": "hello"}), False, "bad-event"),
    ("data_length data not json", frame({"type": "synthesize", "data_length": 5}, b"nope!"), False, "bad-event"),
    ("data_length data is a list", frame({"type": "synthesize", "data_length": 2}, b"[]"), False, "bad-event"),
    ("invalid utf-8 header", b'{"type": "synth\xff\xfe"}\n', False, "bad-event"),
    ("invalid utf-8 data", frame({"type": "synthesize", "data_length": 12}, b'{"text":"\xff"}'), False, "bad-event"),
    ("text is a number", event_bytes("synthesize", {"text": 12}), False, "bad-request"),
    ("text is a list", event_bytes("synthesize", {"text": ["a"]}), False, "bad-request"),
    ("text is null", event_bytes("synthesize", {"text": None}), False, None),
    ("missing text", event_bytes("synthesize", {"voice": {"name": "af_heart"}}), False, None),
    ("voice is a string", event_bytes("synthesize", {"text": "hi", "voice": "af_heart"}), False, "bad-request"),
    ("voice name is a number", event_bytes("synthesize", {"text": "hi", "voice": {"name": 3}}), False, "bad-request"),
    ("unknown voice", event_bytes("synthesize", {"text": "hi", "voice": {"name": "zz_zz"}}), False, "unknown-voice"),
    ("blend-like garbage voice", event_bytes("synthesize", {"text": "hi", "voice": {"name": "+:+"}}), False,
     "bad-voice"),
    ("blend weights overflowing", event_bytes("synthesize", {"text": "hi", "voice": {
        "name": "af_heart:1e307+am_adam:1e307"}}), False, "bad-voice"),
    ("blend weight 5000 digits", event_bytes("synthesize", {"text": "hi", "voice": {
        "name": "af_heart:" + "9" * 5000 + "+am_adam"}}), False, "bad-voice"),
    ("voice name of 100 KB", event_bytes("synthesize", {"text": "hi", "voice": {"name": "x" * 100_000}}), False,
     "unknown-voice"),
    ("text NaN", b'{"type": "synthesize", "data": {"text": NaN}}\n', False, "bad-request"),
    ("NUL bytes", event_bytes("synthesize", {"text": "he\u0000llo\u0000 world"}), False, None),
    ("control characters", event_bytes("synthesize", {"text": "\u0007\u001b[31mred\u0008"}), False, None),
    ("emoji only", event_bytes("synthesize", {"text": "😀🎉🔥👍"}), False, None),
    ("whitespace only", event_bytes("synthesize", {"text": " \t\n\r "}), False, None),
    ("1 MB text", event_bytes("synthesize", {"text": "word " * 200_000}), False, "text-too-long"),
    ("speed NaN", b'{"type": "synthesize", "data": {"text": "hi", "speed": NaN}}\n', False, None),
    ("speed zero", event_bytes("synthesize", {"text": "hi", "speed": 0}), False, None),
    ("speed negative", event_bytes("synthesize", {"text": "hi", "speed": -3}), False, None),
    ("speed huge", event_bytes("synthesize", {"text": "hi", "speed": 1e308}), False, None),
    ("chunk before start", event_bytes("synthesize-chunk", {"text": "orphan"}), False, None),
    ("stop without start", event_bytes("synthesize-stop"), False, None),
    ("two starts", event_bytes("synthesize-start") + event_bytes("synthesize-start")
     + event_bytes("synthesize-chunk", {"text": "x."}) + event_bytes("synthesize-stop"), False, "bad-request"),
    ("synthesize during a stream", event_bytes("synthesize-start")
     + event_bytes("synthesize", {"text": "not this"}) + event_bytes("synthesize-chunk", {"text": "This."})
     + event_bytes("synthesize-stop"), False, None),
    # Its bad-request error is written in order, after the stream's audio, so after this describe's info.
    ("chunk text is a number", event_bytes("synthesize-start") + event_bytes("synthesize-chunk", {"text": 1})
     + event_bytes("synthesize-stop"), False, None),
    ("thousands of tiny chunks", event_bytes("synthesize-start")
     + b"".join(event_bytes("synthesize-chunk", {"text": c}) for c in "abc de, " * 500)
     + event_bytes("synthesize-stop"), False, None),
    ("deeply nested data", frame({"type": "synthesize", "data_length": 40002}, b"[" * 20001 + b"]" * 20001),
     False, "bad-event"),
    ("unknown event with payload", frame({"type": "mystery", "payload_length": 4}, payload=b"abcd"), False, None),
    ("audio chunk sent to tts", frame({"type": "audio-chunk", "data": {"rate": 1}, "payload_length": 3},
                                       payload=b"abc"), False, None),
    ("negative data_length", frame({"type": "describe", "data_length": -5}), True, "bad-event"),
    ("string data_length", frame({"type": "describe", "data_length": "10"}), True, "bad-event"),
    ("float data_length", frame({"type": "describe", "data_length": 5.0}), True, "bad-event"),
    ("boolean data_length", frame({"type": "describe", "data_length": True}), True, "bad-event"),
    ("data_length 10**100", frame({"type": "describe", "data_length": 10**100}), True, "too-large"),
    ("lying data_length 2 GB", frame({"type": "synthesize", "data_length": HUGE}), True, "too-large"),
    ("lying payload_length 2 GB", frame({"type": "synthesize", "payload_length": HUGE}), True, "too-large"),
    ("header over 64 KB", b'{"type": "' + b"x" * 70_000 + b'"}\n', True, "too-large"),
    ("truncated header then close", b'{"type": "descr', True, "bad-event"),
]


async def send_raw(server, raw: bytes, may_close: bool) -> list[Event]:
    """Send bytes, then describe; read replies until info (or the close)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    events = []
    try:
        writer.write(raw)
        if raw.endswith(b"descr"):  # truncated header: the peer closes its side
            writer.write_eof()
        else:
            writer.write(DESCRIBE)
        await writer.drain()
        while True:
            event = await asyncio.wait_for(async_read_event(reader), 30)
            if event is None:
                assert may_close, f"server closed the connection; got {[e.type for e in events]}"
                break
            events.append(event)
            if event.type == "info":
                break
    except ConnectionResetError:
        assert may_close
    finally:
        writer.close()
    return events


@pytest.fixture
async def limited_server(model_dir):
    service = build_service(make_config(model_dir, max_text_chars=100_000))
    running = await start_server(service)
    yield running
    await running.server.stop()
    service.engine.scheduler.close()


@pytest.mark.parametrize("name,raw,may_close,code", MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_input_leaves_the_server_serving(limited_server, name, raw, may_close, code):
    events = await send_raw(limited_server, raw, may_close)
    if not may_close:
        assert events and events[-1].type == "info", [e.type for e in events]
    errors = [e.data.get("code") for e in events if e.type == "error"]
    assert errors == ([code] if code else []), [(e.type, e.data) for e in events]
    assert all(len(e.data.get("text", "")) < 300 for e in events if e.type == "error")  # no echo of 100 KB
    # Whatever happened, a new client is served normally.
    async with limited_server.client() as client:
        await client.write_event(Describe().event())
        assert (await read_until(client, "info")).types == ["info"]


async def test_two_gigabyte_lie_allocates_nothing(limited_server):
    """Python allocations while the lie is read and refused: no buffer of the claimed size.
    (ru_maxrss could not fail: an earlier test's peak hides any new allocation.)"""
    import tracemalloc

    tracemalloc.start()
    try:
        events = await send_raw(limited_server, frame({"type": "synthesize", "data_length": HUGE}), True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events[0].type == "error" and events[0].data["code"] == "too-large"
    assert peak < 8 * 1024 * 1024, peak


async def test_nul_text_loses_nothing_after_the_nul(limited_server):
    from models import decode_tokens

    async with limited_server.client() as client:
        await client.write_event(Event("synthesize", {"text": "hello\u0000 world"}))
        with_nul = await read_until(client, "audio-stop")
        await client.write_event(Event("synthesize", {"text": "hello world"}))
        plain = await read_until(client, "audio-stop")
    assert decode_tokens(with_nul.pcm) == decode_tokens(plain.pcm)


async def test_connection_limit_and_allowed_clients(model_dir):
    service = build_service(make_config(model_dir, limits={"max_connections": 2},
                                        allowed_clients=["127.0.0.0/8"]))
    running = await start_server(service)
    try:
        async with running.client() as one, running.client() as two:
            for client in (one, two):
                await client.write_event(Describe().event())
                await read_until(client, "info")
            async with running.client() as three:
                refused = await read_until(three, "info")
                assert refused.types == ["error"] and refused.events[0].data["code"] == "busy"
        await asyncio.sleep(0.1)
        async with running.client() as four:  # slots free again
            await four.write_event(Describe().event())
            assert (await read_until(four, "info")).types == ["info"]
    finally:
        await running.server.stop()
        service.engine.scheduler.close()

    service = build_service(make_config(model_dir, allowed_clients=["10.0.0.0/8", "::1/128"]))
    running = await start_server(service)
    try:
        async with running.client() as client:
            refused = await read_until(client, "info")
        assert refused.types == ["error"] and refused.events[0].data["code"] == "forbidden"
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


async def test_idle_connection_is_closed(model_dir):
    service = build_service(make_config(model_dir, limits={"idle_timeout": 1}))
    running = await start_server(service)
    try:
        reader, writer = await asyncio.open_connection(running.host, running.port)
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        assert 0.9 < time.monotonic() - started < 5
        writer.close()
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


async def test_model_failure_is_an_error_event_and_others_are_served(model_dir, tmp_path):
    from models import build_model

    path = build_model(tmp_path / "fragile.onnx", fail_above=5)  # fails on calls over 5 tokens
    service = build_service(make_config(model_dir, model=str(path)))
    running = await start_server(service)
    try:
        async with running.client() as client:
            await client.write_event(Event("synthesize", {"text": "a"}))
            assert (await read_until(client, "audio-stop")).pcm
            await client.write_event(Event("synthesize", {"text": "x" * 40}))  # one word: cannot split
            failed = await read_until(client, "audio-stop")
            assert "error" in failed.types
            error = failed.of("error")[0]
            assert error.data["code"] == "synthesis-failed"
            assert (await read_until(client, "audio-stop")).types == ["audio-stop"]  # the stream still ends
            await client.write_event(Describe().event())
            assert (await read_until(client, "info")).types == ["info"]
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


def live_threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


async def test_hundred_clients_disconnecting_mid_stream(model_dir):
    service = build_service(make_config(model_dir, limits={"max_connections": 200}))
    slow_down(service, 0.005)
    running = await start_server(service)
    threads_before = live_threads()
    tasks_before = len(asyncio.all_tasks())
    scheduler = service.engine.scheduler
    try:
        async def drop_mid_stream(i: int) -> None:
            async with running.client() as client:
                await client.write_event(Event("synthesize-start", {}))
                await client.write_event(Event("synthesize-chunk", {"text": f"Client {i} says a lot. " * 20}))
                await asyncio.sleep(0.01 * (i % 10))

        await asyncio.gather(*(drop_mid_stream(i) for i in range(100)))
        await asyncio.sleep(1.5)
        assert scheduler.pending == 0 and scheduler.busy == 0  # idle within about a second
        completed = scheduler.completed
        await asyncio.sleep(0.5)
        assert scheduler.completed == completed
        assert completed < 100 * 3  # most queued work was dropped, not run
        assert service.connections == 0
        assert len(asyncio.all_tasks()) <= tasks_before
        # No thread per client: only the workers and asyncio's bounded
        # default executor (used for G2P, at most cpu_count + 4 threads).
        extra = live_threads() - threads_before
        assert all(name.startswith("asyncio_") for name in extra), extra
        assert len(extra) <= min(32, (os.cpu_count() or 1) + 4)
    finally:
        await running.server.stop()
        scheduler.close()


async def test_eight_concurrent_clients_all_complete(server):
    from conftest import Reply

    async def one(i: int) -> Reply:
        async with server.client() as client:
            await client.write_event(Event("synthesize-start", {}))
            await client.write_event(Event("synthesize-chunk", {"text": f"Satellite {i} reporting. All is well."}))
            await client.write_event(Event("synthesize-stop", {}))
            return await read_until(client, "synthesize-stopped", timeout=60)

    replies = await asyncio.gather(*(one(i) for i in range(8)))
    assert all(r.types[0] == "audio-start" and r.types[-1] == "synthesize-stopped" for r in replies)
    assert all(len(r.pcm) > 0 for r in replies)


EVENT_TYPES = st.sampled_from(["synthesize", "synthesize-start", "synthesize-chunk", "synthesize-stop",
                               "describe", "audio-chunk", "ping", "x"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8)
EVENT_DATA = st.dictionaries(st.sampled_from(["text", "voice", "speed", "name", "x"]), JSON_VALUES, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(EVENT_TYPES, EVENT_DATA), min_size=1, max_size=8))
def test_fuzz_event_sequences(service, sequence):
    """Any sequence of events with any data: the handler answers describe after."""

    async def scenario() -> None:
        running = await start_server(service)
        try:
            async with running.client() as client:
                for kind, data in sequence:
                    await client.write_event(Event(kind, data))
                await client.write_event(Describe().event())
                reply = await read_until(client, "info", timeout=30)
                while reply.events[-1].type == "error":
                    reply = await read_until(client, "info", timeout=30)
                assert reply.events[-1].type == "info"
        finally:
            await running.server.stop()

    asyncio.run(scenario())
