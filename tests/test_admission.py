"""One admission for every client (admission.py): the rule, and what it buys
a Wyoming satellite when HTTP clients flood the server."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from conftest import make_config, read_until, slow_down, start_server
from wyoming.event import Event

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.admission import API_HTTP, API_WYOMING, Admission, AdmissionTimeout
from wyoming_kokoro.http_api import start_http

from conftest import free_port  # isort: skip


async def hold(admission: Admission, api: str, release: asyncio.Event, log: list, name: str) -> None:
    async with admission.slot(api):
        log.append(name)
        await release.wait()


async def test_http_never_holds_more_than_its_share():
    admission, release, log = Admission(max_syntheses=4, http_syntheses=2), asyncio.Event(), []
    tasks = [asyncio.create_task(hold(admission, API_HTTP, release, log, f"h{i}")) for i in range(5)]
    await asyncio.sleep(0.01)
    assert log == ["h0", "h1"] and admission.waiting() == {API_WYOMING: 0, API_HTTP: 3}
    tasks.append(asyncio.create_task(hold(admission, API_WYOMING, release, log, "w0")))
    await asyncio.sleep(0.01)
    assert log[-1] == "w0"  # a satellite finds a slot at once, whatever HTTP queued
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(log) == ["h0", "h1", "h2", "h3", "h4", "w0"] and admission.active == {API_WYOMING: 0, API_HTTP: 0}


async def test_waiting_satellites_go_before_waiting_http_requests():
    admission, release, log = Admission(max_syntheses=1, http_syntheses=1), asyncio.Event(), []
    first = asyncio.create_task(hold(admission, API_HTTP, release, log, "h0"))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(hold(admission, API_HTTP, asyncio.Event(), log, "h1"))]
    await asyncio.sleep(0.01)
    later.append(asyncio.create_task(hold(admission, API_WYOMING, asyncio.Event(), log, "w0")))
    await asyncio.sleep(0.01)
    release.set()
    await first
    await asyncio.sleep(0.01)
    assert log == ["h0", "w0"]  # the satellite overtook the HTTP request that came earlier
    for task in later:
        task.cancel()
    await asyncio.gather(*later, return_exceptions=True)
    assert admission.active == {API_WYOMING: 0, API_HTTP: 0}


async def test_an_http_request_waits_at_most_http_wait_and_a_cancelled_wait_frees_nothing():
    admission, release = Admission(max_syntheses=1, http_syntheses=1, http_wait=0.05), asyncio.Event()
    holder = asyncio.create_task(hold(admission, API_HTTP, release, [], "h0"))
    await asyncio.sleep(0.01)
    with pytest.raises(AdmissionTimeout):
        async with admission.slot(API_HTTP):
            pass
    waiter = asyncio.create_task(hold(admission, API_WYOMING, asyncio.Event(), [], "w"))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    release.set()
    await holder
    assert admission.active == {API_WYOMING: 0, API_HTTP: 0} and admission.waiting() == {API_WYOMING: 0,
                                                                                       API_HTTP: 0}


PARAGRAPH = ("The weather today is mostly sunny with a light breeze from the west, and temperatures "
             "will reach twenty two degrees by the afternoon. Tonight it turns cooler, and there is "
             "a small chance of rain after midnight, so you may want to close the windows.")


async def satellite_ttfa(running) -> float:
    async with running.client() as client:
        started = time.monotonic()
        await client.write_event(Event("synthesize", {"text": "Turned on the kitchen lights."}))
        reply = await read_until(client, "audio-stop", timeout=60)
    assert "error" not in reply.types
    return reply.first_chunk_at - started


async def flood_ttfa(model_dir, http_syntheses: int | None, requests: int) -> tuple[float, float]:
    """A satellite's first audio alone, and while `requests` HTTP requests are in flight."""
    service = build_service(make_config(model_dir, limits={"http_syntheses": http_syntheses}))
    assert service.admission.http_syntheses == (http_syntheses or 1)
    slow_down(service, 0.004)  # 4 ms per token: first call ~0.1 s, a paragraph call ~1 s
    running = await start_server(service)
    port = free_port()
    runner = await start_http(service, "127.0.0.1", port)
    try:
        alone = await satellite_ttfa(running)
        async with aiohttp.ClientSession() as session:
            async def one() -> None:
                async with session.post(f"http://127.0.0.1:{port}/v1/audio/speech",
                                        json={"input": PARAGRAPH, "response_format": "pcm"}) as reply:
                    await reply.read()

            flood = [asyncio.create_task(one()) for _ in range(requests)]
            await asyncio.sleep(0.5)  # the flood is synthesising
            busy = await satellite_ttfa(running)
            for task in flood:
                task.cancel()
            await asyncio.gather(*flood, return_exceptions=True)
    finally:
        await runner.cleanup()
        await running.server.stop()
        service.engine.scheduler.close()
    return alone, busy


async def test_an_http_flood_delays_a_satellite_by_its_share_only(model_dir):
    """20 HTTP paragraphs in flight, one admitted (the default share with one
    worker): the satellite's first audio is barely later than alone. With no
    cap (http_syntheses 20) the same flood delays it by ~4.5 s here."""
    alone, busy = await flood_ttfa(model_dir, http_syntheses=None, requests=20)
    print(f"satellite TTFA alone {alone:.3f} s, under a 20-request HTTP flood {busy:.3f} s")
    assert busy < alone + 0.3


async def test_an_http_request_that_finds_no_slot_in_time_gets_503_and_counts_as_busy(model_dir):
    service = build_service(make_config(model_dir, limits={"http_wait": 0.2}))
    slow_down(service, 0.004)
    port = free_port()
    runner = await start_http(service, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}/v1/audio/speech"
    try:
        async with aiohttp.ClientSession() as session:
            first = asyncio.create_task(session.post(url, json={"input": PARAGRAPH, "response_format": "pcm"}))
            await asyncio.sleep(0.1)
            async with session.post(url, json={"input": "Hello.", "response_format": "pcm"}) as second:
                assert second.status == 503 and second.headers["Retry-After"] == "1"
                assert (await second.json())["error"]["code"] == "busy"
            async with await first as reply:
                assert reply.status == 200 and await reply.read()
    finally:
        await runner.cleanup()
        service.engine.scheduler.close()
    requests = service.metrics.requests
    assert requests.labels("http", "busy")._value.get() == 1 and requests.labels("http", "ok")._value.get() == 1
