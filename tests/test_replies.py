"""Every reply is whole and in order; no connection outlives its progress.

Covers issue 15 items 3 and 6 and the handler items of issue 12: an
audio-start is always closed by an audio-stop (with an error first when the
audio was cut short), text with nothing to say is a short silence, replies
come in request order, a client that stops reading or stops sending loses
its slot, and each request is one log line.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from conftest import make_config, read_until, slow_down, start_server
from models import decode_tokens
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe

from wyoming_kokoro.__main__ import build_service


@pytest.fixture
async def make_server(model_dir):
    """Start servers with config overrides (and settings patched after); stop them all at the end."""
    running = []

    async def make(slow: float = 0.0, settings: dict | None = None, **overrides):
        service = build_service(make_config(model_dir, **overrides))
        for key, value in (settings or {}).items():
            setattr(service.settings, key, value)
        if slow:
            slow_down(service, slow)
        server = await start_server(service)
        running.append((server, service))
        return server, service

    yield make
    for server, service in running:
        await server.server.stop()
        service.engine.scheduler.close()


async def events_until_close(reader: asyncio.StreamReader, timeout: float = 20) -> list[Event]:
    events = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            event = await asyncio.wait_for(async_read_event(reader), deadline - time.monotonic())
        except ConnectionResetError:
            return events
        if event is None:
            return events
        events.append(event)


def assert_balanced(types: list[str]) -> None:
    """Every audio-start has its audio-stop, never nested, never left open."""
    open_stream = False
    for kind in types:
        if kind == "audio-start":
            assert not open_stream, types
            open_stream = True
        elif kind == "audio-stop":
            assert open_stream, types
            open_stream = False
        elif kind == "audio-chunk":
            assert open_stream, types
    assert not open_stream, types


async def test_empty_and_whitespace_text_is_a_short_silence(make_server):
    server, _ = await make_server()
    async with server.client() as client:
        for text in ("", "   \n\t ", "\u200b"):
            await client.write_event(Event("synthesize", {"text": text}))
            reply = await read_until(client, "audio-stop")
            assert reply.types[0] == "audio-start" and reply.types[-1] == "audio-stop"
            assert "audio-chunk" in reply.types, (text, reply.types)
            assert set(reply.pcm) == {0} and 0 < len(reply.pcm) <= 24000 * 2 // 2  # silence, at most 0.5 s
        await client.write_event(Event("synthesize-start", {}))
        await client.write_event(Event("synthesize-stop", {}))
        reply = await read_until(client, "synthesize-stopped")
    assert reply.types[0] == "audio-start" and "audio-chunk" in reply.types
    assert reply.types[-2:] == ["audio-stop", "synthesize-stopped"]


async def test_second_synthesize_start_ends_the_first_stream_whole(make_server):
    server, _ = await make_server()
    async with server.client() as client:
        await client.write_event(Event("synthesize-start", {}))
        await client.write_event(Event("synthesize-chunk", {"text": "First stream."}))
        await client.write_event(Event("synthesize-start", {}))
        await client.write_event(Event("synthesize-chunk", {"text": "Second stream."}))
        await client.write_event(Event("synthesize-stop", {}))
        first = await read_until(client, "error")
        second = await read_until(client, "synthesize-stopped")
    assert first.types[0] == "audio-start" and first.types[-2:] == ["audio-stop", "error"]
    assert decode_tokens(first.pcm) == decode_tokens(await _spoken(server, "First stream."))
    assert second.types[0] == "audio-start" and second.types[-2:] == ["audio-stop", "synthesize-stopped"]
    assert decode_tokens(second.pcm) == decode_tokens(await _spoken(server, "Second stream."))


async def _spoken(server, text: str) -> bytes:
    async with server.client() as client:
        await client.write_event(Event("synthesize", {"text": text}))
        return (await read_until(client, "audio-stop")).pcm


async def test_streamed_text_over_the_limit_closes_the_audio_with_an_error(make_server):
    server, _ = await make_server(slow=0.01, max_text_chars=60)
    async with server.client() as client:
        await client.write_event(Event("synthesize-start", {}))
        await client.write_event(Event("synthesize-chunk", {"text": "This sentence fits. "}))
        await read_until(client, "audio-start")
        too_long = "This one is far too long for the limit of sixty."
        await client.write_event(Event("synthesize-chunk", {"text": too_long}))
        cut = await read_until(client, "error")
        cut.events += (await read_until(client, "audio-stop")).events
        await client.write_event(Event("synthesize-chunk", {"text": "Ignored."}))
        await client.write_event(Event("synthesize", {"text": "Ignored too."}))
        await client.write_event(Event("synthesize-stop", {}))
        stopped = await read_until(client, "synthesize-stopped")
        await client.write_event(Describe().event())
        info = await read_until(client, "info")
    assert cut.types[-2:] == ["error", "audio-stop"], cut.types
    assert cut.of("error")[0].data["code"] == "text-too-long"
    assert stopped.types == ["synthesize-stopped"]
    assert info.types == ["info"]


async def test_half_closed_client_gets_audio_stop_and_an_error(make_server):
    server, service = await make_server(slow=0.02)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    await async_write_event(Event("synthesize", {"text": "A long answer, sentence after sentence. " * 20}), writer)
    assert (await async_read_event(reader)).type == "audio-start"
    writer.write_eof()  # half-close: no more requests, still reading
    events = await events_until_close(reader)
    writer.close()
    types = ["audio-start", *[e.type for e in events]]
    assert_balanced(types)
    assert "error" in types and types[-1] == "audio-stop", types
    assert [e for e in events if e.type == "error"][0].data["code"] == "cancelled"
    await asyncio.sleep(0.5)
    assert service.connections == 0


async def test_shutdown_ends_open_audio_with_an_error_and_audio_stop(make_server):
    server, service = await make_server(slow=0.02)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    await async_write_event(Event("synthesize-start", {}), writer)
    await async_write_event(Event("synthesize-chunk", {"text": "A long story that will be cut. " * 20}), writer)
    assert (await async_read_event(reader)).type == "audio-start"
    started = time.monotonic()
    await server.server.stop()
    events = await events_until_close(reader, timeout=5)
    assert time.monotonic() - started < 5
    writer.close()
    types = ["audio-start", *[e.type for e in events]]
    assert_balanced(types)
    assert [e.data["code"] for e in events if e.type == "error"] == ["shutting-down"]


async def test_client_that_never_reads_loses_its_slot(make_server):
    """Blocked writes count as no progress: the connection is dropped after
    write_timeout, even though its synthesis is still 'busy'."""
    server, service = await make_server(settings={"write_timeout": 1.0}, max_text_chars=100_000,
                                        limits={"idle_timeout": 300})
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((server.host, server.port))
    text = "Never read a word of this. " * 1000
    body = Event("synthesize", {"text": text})
    reader, writer = await asyncio.open_connection(sock=sock)
    await async_write_event(body, writer)
    assert (await async_read_event(reader)).type == "audio-start"  # then never another byte
    assert service.connections == 1
    for _ in range(100):  # 20 s at most
        if not service.connections:
            break
        await asyncio.sleep(0.2)
    assert service.connections == 0, "a client that never reads still holds its slot"
    writer.close()
    async with server.client() as client:  # the server is fine
        await client.write_event(Describe().event())
        assert (await read_until(client, "info")).types == ["info"]


async def test_stream_start_then_silence_is_closed_after_idle_timeout(make_server):
    server, service = await make_server(limits={"idle_timeout": 1})
    reader, writer = await asyncio.open_connection(server.host, server.port)
    await async_write_event(Event("synthesize-start", {}), writer)
    started = time.monotonic()
    events = await events_until_close(reader, timeout=10)
    elapsed = time.monotonic() - started
    writer.close()
    assert 0.9 < elapsed < 6, elapsed
    types = [e.type for e in events]
    assert_balanced(types)
    assert "timeout" in [e.data["code"] for e in events if e.type == "error"]
    await asyncio.sleep(0.2)
    assert service.connections == 0


async def test_a_trickled_header_is_no_progress(make_server):
    server, service = await make_server(limits={"idle_timeout": 1})
    reader, writer = await asyncio.open_connection(server.host, server.port)
    started = time.monotonic()
    closed = None
    for byte in b'{"type": "describe", "data": {"padding": "' + b"x" * 100:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.1)
        if await _closed(reader):
            closed = time.monotonic() - started
            break
    writer.close()
    assert closed is not None and closed < 6, closed


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), 0.01)
    except asyncio.TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b""


async def test_replies_come_in_request_order(make_server):
    """An error for a later request is not written into an earlier one's audio."""
    server, _ = await make_server(slow=0.01)
    async with server.client() as client:
        await client.write_event(Event("synthesize", {"text": "The first request speaks a while. " * 3}))
        await client.write_event(Event("synthesize", {"text": "hi", "voice": {"name": "zz_nobody"}}))
        await client.write_event(Event("synthesize-stop", {}))
        first = await read_until(client, "audio-stop", timeout=30)
        second = await read_until(client, "error")
        third = await read_until(client, "synthesize-stopped")
    assert "error" not in first.types
    assert second.types == ["error"] and second.events[0].data["code"] == "unknown-voice"
    assert third.types == ["synthesize-stopped"]


async def test_one_log_line_per_request_and_never_nan(make_server, caplog):
    server, _ = await make_server(slow=0.02)
    caplog.set_level(logging.INFO, logger="wyoming_kokoro")
    async with server.client() as client:
        await client.write_event(Event("synthesize", {"text": " "}))
        await read_until(client, "audio-stop")
    async with server.client() as client:
        await client.write_event(Event("synthesize", {"text": "Going, going, gone. " * 10}))
        await read_until(client, "audio-start")
    await asyncio.sleep(1.0)  # the client left mid-synthesis
    lines = [r.getMessage() for r in caplog.records
             if r.name == "wyoming_kokoro.handler" and "voice=" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "outcome=done" in lines[0]
    assert "outcome=cancelled" in lines[1]
    assert not any("nan" in r.getMessage().lower() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_english_voice_names_hide_the_g2p(service):
    from wyoming_kokoro.service import build_info

    voices = {v.name: v.description for v in build_info(service.engine.voices, True).tts[0].voices}
    assert voices["af_heart"] == "Heart — American English, female"
    assert not any("G2P" in d or "espeak" in d for d in voices.values()), voices


async def test_pipelined_requests_are_queued_with_a_bound_and_all_answered(make_server):
    """60 requests sent at once: at most MAX_QUEUED_REPLIES wait as tasks
    (the rest wait in the socket), and every one is answered in order."""
    from wyoming_kokoro.handler import MAX_QUEUED_REPLIES

    server, _ = await make_server(slow=0.002)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    for i in range(60):
        await async_write_event(Event("synthesize", {"text": f"Number {i}."}), writer)
    await asyncio.sleep(0.5)
    speaking = [t for t in asyncio.all_tasks() if t.get_name() == "kokoro-speak"]
    assert len(speaking) <= MAX_QUEUED_REPLIES, len(speaking)
    stops = 0
    while stops < 60:
        event = await asyncio.wait_for(async_read_event(reader), 30)
        assert event is not None and event.type != "error", event
        stops += event.type == "audio-stop"
    writer.close()


async def test_stalled_connections_give_their_slots_to_new_clients(make_server, monkeypatch):
    """All slots held by clients that do nothing: Home Assistant still gets in."""
    import wyoming_kokoro.handler as handler

    monkeypatch.setattr(handler, "EVICT_AFTER", 0.5)
    server, service = await make_server(limits={"max_connections": 2})
    stalled = [await asyncio.open_connection(server.host, server.port) for _ in range(2)]
    async with server.client() as busy:  # at once: both are still fresh
        await busy.write_event(Describe().event())
        refused = await read_until(busy, "info")
    assert refused.types == ["error"] and refused.events[0].data["code"] == "busy"
    await asyncio.sleep(0.7)
    async with server.client() as client:
        await client.write_event(Describe().event())
        assert (await read_until(client, "info")).types == ["info"]
    await asyncio.sleep(0.2)
    closed = [await _closed(reader) for reader, _ in stalled]
    assert closed.count(True) == 1, closed  # the stalest one, not both
    for _, writer in stalled:
        writer.close()


async def test_floods_of_bad_events_and_refusals_do_not_flood_the_log(make_server, caplog, monkeypatch):
    import wyoming_kokoro.handler as handler

    monkeypatch.setattr(handler, "_REFUSALS", handler._RefusalLog())
    server, _ = await make_server(limits={"max_connections": 1})
    caplog.set_level(logging.INFO, logger="wyoming_kokoro")
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"{not json\n" * 200 + b'{"type": "describe"}\n')
    events = []
    while not events or events[-1].type != "info":
        events.append(await asyncio.wait_for(async_read_event(reader), 10))
    assert [e.type for e in events].count("error") == 200  # every one is still answered
    for _ in range(20):  # the one slot is taken: refused
        r, w = await asyncio.open_connection(server.host, server.port)
        assert (await asyncio.wait_for(async_read_event(r), 10)).data["code"] == "busy"
        w.close()
    writer.close()
    await asyncio.sleep(0.3)
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("Bad event" in m for m in messages) == handler.LOGGED_REJECTIONS
    assert any("195 more bad or rejected events" in m for m in messages), messages[-3:]
    assert sum(m.startswith("Refused") for m in messages) == 1


async def test_an_abort_does_not_wait_for_a_synthesis_slot(make_server):
    """A stream still waiting for a slot (all taken) that goes over the limit
    is answered at once, not when the other synthesis ends."""
    server, _ = await make_server(slow=0.02, max_text_chars=60, limits={"max_syntheses": 1})
    async with server.client() as speaker, server.client() as waiter:
        await speaker.write_event(Event("synthesize", {"text": "Ten words to keep the only slot busy. " * 1}))
        await read_until(speaker, "audio-start")
        await waiter.write_event(Event("synthesize-start", {}))
        await waiter.write_event(Event("synthesize-chunk", {"text": "Waiting for a slot. "}))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        too_long = "And now far too much text for the limit of sixty."
        await waiter.write_event(Event("synthesize-chunk", {"text": too_long}))
        reply = await read_until(waiter, "error", timeout=10)
        waited = time.monotonic() - started
        rest = await read_until(speaker, "audio-stop", timeout=30)
    assert reply.types == ["error"] and reply.events[0].data["code"] == "text-too-long"
    assert waited < 0.5 and "audio-stop" in rest.types, waited
