"""The Wyoming protocol as Home Assistant speaks it, over real TCP sockets."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import make_config, read_until, slow_down, start_server
from models import SAMPLES_PER_TOKEN, build_model, decode_tokens
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.text import TextPipeline
from wyoming_kokoro.vocab import tokenize

SPACE = 16


def expected_tokens(text: str, language: str = "en-us") -> list[int]:
    """Tokens of the whole text, without spaces (cuts between segments drop one)."""
    return [t for t in tokenize(TextPipeline().phonemes(text, language)) if t != SPACE]


def spoken(reply) -> list[int]:
    return [t for t in decode_tokens(reply.pcm) if t != SPACE]


async def synthesize(client, text: str, voice: dict | None = None):
    data = {"text": text}
    if voice is not None:
        data["voice"] = voice
    await client.write_event(Event("synthesize", data))
    return await read_until(client, "audio-stop")


async def test_describe_lists_every_voice_with_language(server):
    async with server.client() as client:
        await client.write_event(Describe().event())
        info = await read_until(client, "info")
    (program,) = info.events[-1].data["tts"]
    assert program["installed"] and program["supports_synthesize_streaming"]
    assert program["attribution"]["name"] == "hexgrad"
    voices = {v["name"]: v for v in program["voices"]}
    # ja/zh voices are listed only where their G2P (the [ja]/[zh] extras) is installed.
    from wyoming_kokoro.phonemize import misaki_available

    optional = {"jf_alpha": "ja", "zf_xiaobei": "zh"}
    assert set(voices) == {"af_heart", "af_bella", "am_adam", "bf_emma", "ef_dora", "ff_siwis",
                           "hf_alpha", "if_sara", "pf_dora"} | {v for v, lang in optional.items()
                                                                if misaki_available(lang)}
    assert voices["af_heart"]["languages"] == ["en_US"]
    assert voices["bf_emma"]["languages"] == ["en_GB"]
    assert voices["ef_dora"]["languages"] == ["es_ES"]
    assert voices["ff_siwis"]["languages"] == ["fr_FR"]
    assert voices["hf_alpha"]["languages"] == ["hi_IN"]
    assert voices["if_sara"]["languages"] == ["it_IT"]
    assert voices["pf_dora"]["languages"] == ["pt_BR"]
    assert voices["af_heart"]["description"] == "Heart — American English, female"
    assert voices["am_adam"]["description"] == "Adam — American English, male"
    assert voices["ff_siwis"]["description"] == "Siwis — French, female"
    assert all(v["installed"] for v in voices.values())


async def test_plain_synthesize_event_order_and_format(server, service):
    text = "Turned on the kitchen lights. The thermostat is at twenty one degrees."
    async with server.client() as client:
        reply = await synthesize(client, text)
    types = reply.types
    assert types[0] == "audio-start" and types[-1] == "audio-stop"
    assert types.count("audio-start") == 1 and types.count("audio-stop") == 1
    chunks = reply.of("audio-chunk")
    assert len(chunks) > 3 and set(types[1:-1]) == {"audio-chunk"}
    per_chunk = service.settings.samples_per_chunk * 2
    assert per_chunk == 1200 * 2  # "stable" profile: 50 ms at 24 kHz
    for chunk in chunks:
        assert (chunk.data["rate"], chunk.data["width"], chunk.data["channels"]) == (24000, 2, 1)
    assert all(len(c.payload) == per_chunk for c in chunks[:-1])
    assert 0 < len(chunks[-1].payload) <= per_chunk
    stamps = [c.data["timestamp"] for c in chunks]
    assert stamps == [i * 50 for i in range(len(chunks))]
    assert reply.events[-1].data["timestamp"] == len(reply.pcm) // 2 * 1000 // 24000
    assert spoken(reply) == expected_tokens(text)


async def test_home_assistant_streaming_sequence_speaks_text_once(server):
    text = "Sure! The weather tomorrow looks sunny, with a high of twenty five. Anything else?"
    fragments = ["Sure", "! The wea", "ther tomorrow looks sun", "ny, with a high", " of twenty five.",
                 " Anything", " else?"]
    async with server.client() as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="af_bella")).event())
        for fragment in fragments:
            await client.write_event(SynthesizeChunk(text=fragment).event())
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name="af_bella")).event())
        await client.write_event(SynthesizeStop().event())
        reply = await read_until(client, "synthesize-stopped")
    types = reply.types
    assert types[0] == "audio-start"
    assert types.count("audio-start") == 1 and types.count("audio-stop") == 1
    assert types[-2:] == ["audio-stop", "synthesize-stopped"]
    formats = {(c.data["rate"], c.data["width"], c.data["channels"]) for c in reply.of("audio-chunk")}
    assert formats == {(24000, 2, 1)}
    assert spoken(reply) == expected_tokens(text)  # once, not twice


async def test_streaming_starts_before_text_ends(server):
    async with server.client() as client:
        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="The first sentence is complete. And the sec").event())
        # No stop yet: audio for the complete sentence must arrive anyway.
        first = await read_until(client, "audio-chunk", timeout=5)
        assert first.types == ["audio-start", "audio-chunk"]
        await client.write_event(SynthesizeChunk(text="ond one arrives later.").event())
        await client.write_event(SynthesizeStop().event())
        rest = await read_until(client, "synthesize-stopped")
    first.events += rest.events
    assert spoken(first) == expected_tokens("The first sentence is complete. And the second one arrives later.")


async def test_several_requests_on_one_connection(server):
    async with server.client() as client:
        one = await synthesize(client, "First request.")
        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="Second, streamed.").event())
        await client.write_event(SynthesizeStop().event())
        two = await read_until(client, "synthesize-stopped")
        three = await synthesize(client, "Third request.", {"name": "bf_emma"})
    assert spoken(one) == expected_tokens("First request.")
    assert spoken(two) == expected_tokens("Second, streamed.")
    assert spoken(three) == expected_tokens("Third request.", "en-gb")


async def test_long_text_is_split_without_loss(server):
    sentence = ("The quick brown fox jumps over the lazy dog while the living room lights dim slowly "
                "and the heating comes on in the hallway")
    text = " ".join([sentence] * 12) + "."  # no punctuation for over 1000 tokens
    assert len(expected_tokens(text)) > 1000
    async with server.client() as client:
        reply = await synthesize(client, text)
    assert reply.types.count("audio-start") == 1 and reply.types.count("audio-stop") == 1
    assert spoken(reply) == expected_tokens(text)


async def test_default_unknown_and_language_voice(server):
    async with server.client() as client:
        default = await synthesize(client, "Hello.")
        unknown = await synthesize(client, "Hello.", {"name": "xx_nobody"})
        by_language = await synthesize(client, "Hola.", {"language": "es_ES"})
        await client.write_event(Describe().event())
        still_there = await read_until(client, "info")
    assert default.types[0] == "audio-start" and default.pcm
    assert unknown.types == ["error"]
    assert unknown.events[0].data["code"] == "unknown-voice"
    assert "xx_nobody" in unknown.events[0].data["text"]
    assert spoken(by_language) == expected_tokens("Hola.", "es")
    assert still_there.types == ["info"]


async def test_empty_text_gives_a_short_silence(server):
    """Home Assistant cannot play a stream without chunks (issue 12)."""
    async with server.client() as client:
        for text in ("", "   \n "):
            reply = await synthesize(client, text)
            assert reply.types[0] == "audio-start" and reply.types[-1] == "audio-stop"
            assert reply.pcm and not any(reply.pcm)


async def test_empty_data_and_unknown_events_are_ignored(server):
    async with server.client() as client:
        for kind in ("synthesize-chunk", "synthesize-stop", "synthesize-start", "ping-pong-unknown",
                     "audio-chunk", "transcribe"):
            await client.write_event(Event(kind, {}))
        await client.write_event(Event("synthesize", {}))  # empty data: nothing to say
        await client.write_event(Event("synthesize-stop", {}))
        await client.write_event(Describe().event())
        reply = await read_until(client, "info")
    assert "info" in reply.types


async def test_text_over_limit_is_an_error(model_dir):
    service = build_service(make_config(model_dir, max_text_chars=50))
    running = await start_server(service)
    try:
        async with running.client() as client:
            reply = await synthesize(client, "word " * 20)
            assert reply.types == ["error"] and reply.events[0].data["code"] == "text-too-long"
            ok = await synthesize(client, "Short.")
            assert ok.types[-1] == "audio-stop"
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


@pytest.mark.parametrize("token_name,duration", [("tokens", False), ("input_ids", True)])
async def test_both_export_namings_work(model_dir, tmp_path, token_name, duration):
    path = build_model(tmp_path / "m.onnx", token_name=token_name, duration_output=duration)
    service = build_service(make_config(model_dir, model={"path": str(path)}))
    running = await start_server(service)
    try:
        async with running.client() as client:
            reply = await synthesize(client, "Both exports speak.")
        assert spoken(reply) == expected_tokens("Both exports speak.")
        assert service.engine.model.token_input == token_name
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


@pytest.fixture
async def slow_server(model_dir):
    """A model that takes 20 ms per token, so synthesis takes seconds."""
    service = build_service(make_config(model_dir))
    slow_down(service, 0.02)
    running = await start_server(service)
    yield running, service
    await running.server.stop()
    service.engine.scheduler.close()


async def test_describe_is_answered_during_synthesis(slow_server):
    running, _ = slow_server
    text = "This paragraph keeps the model busy for a while. " * 6
    async with running.client() as speaker, running.client() as poller:
        await speaker.write_event(Synthesize(text=text).event())
        first = await read_until(speaker, "audio-chunk")
        assert first.types == ["audio-start", "audio-chunk"]
        latencies = []
        for _ in range(3):
            started = time.monotonic()
            await poller.write_event(Describe().event())
            await read_until(poller, "info")
            latencies.append(time.monotonic() - started)
        polled = time.monotonic()
        rest = await read_until(speaker, "audio-stop", timeout=60)
        finished = time.monotonic()
    # Synthesis went on for seconds after every describe had been answered.
    assert finished - polled > 1.0
    assert max(latencies) < 0.5, latencies
    assert rest.types[-1] == "audio-stop"


async def test_disconnect_stops_further_work(slow_server):
    running, service = slow_server
    scheduler = service.engine.scheduler
    text = "A long answer that the client will not wait for. " * 10
    async with running.client() as client:
        await client.write_event(Synthesize(text=text).event())
        await read_until(client, "audio-chunk")
    await asyncio.sleep(1.0)  # the call in progress may finish
    completed = scheduler.completed
    await asyncio.sleep(1.0)
    assert scheduler.completed == completed  # no further model call was started
    assert scheduler.pending == 0 and scheduler.busy == 0


def test_samples_per_token_matches_decoder():
    assert SAMPLES_PER_TOKEN == 240


async def test_repeated_phrase_is_served_from_cache(model_dir):
    service = build_service(make_config(model_dir, cache={"enabled": True, "max_mb": 1}))
    scheduler = service.engine.scheduler
    running = await start_server(service)
    try:
        async with running.client() as client:
            first = await synthesize(client, "Turned on the lights.")
            calls = scheduler.completed
            second = await synthesize(client, "Turned on the lights.")
            assert scheduler.completed == calls  # no model call the second time
            other = await synthesize(client, "Turned off the lights.")
            assert scheduler.completed > calls
        assert second.pcm == first.pcm and other.pcm != first.pcm
        assert service.engine.cache.hits >= 1
    finally:
        await running.server.stop()
        scheduler.close()


def test_cache_is_bounded_lru():
    import numpy as np

    from wyoming_kokoro.cache import AudioCache

    cache = AudioCache(max_bytes=3 * 4000, max_phonemes=50)
    for key in "abcd":
        cache.put(key, np.zeros(1000, np.float32))  # 4000 bytes each
    assert len(cache) == 3 and cache.get("a") is None and cache.get("d") is not None
    cache.get("b")
    cache.put("e", np.zeros(1000, np.float32))
    assert cache.get("c") is None and cache.get("b") is not None  # c was least recently used
    assert cache.bytes <= cache.max_bytes
    assert not cache.accepts("x" * 51) and cache.accepts("x" * 50)


@pytest.mark.parametrize(("chunks", "first_call"), [
    (["Turned on the ", "kitchen lights."], "Turned on the kitchen lights."),
    (["I have turned on the lights ", "in the kitchen ", "and the hallway."], "I have turned"),
])
async def test_a_streamed_first_call_never_ends_between_two_words(fresh_service, chunks, first_call):
    """On a busy host a first call may hold 20 tokens: streamed text longer
    than that with no punctuation yet is released to the first call, but
    only up to a phrase boundary. Released to its last word, "Turned on the"
    was said alone (int8, busy, the first 3 of 20 runs after start)."""
    from wyoming_kokoro.costmodel import CostModel

    engine = fresh_service.engine
    engine.settings.cost = CostModel([(10, 1.0), (50, 3.0)])  # 0.5 s + 50 ms per token
    assert engine.settings.first_sizes()[1] == 20
    calls: list[list[int]] = []
    real_run = engine.model.run

    def run(token_ids, style, speed):
        calls.append(list(token_ids))
        return real_run(token_ids, style, speed)

    engine.model.run = run
    running = await start_server(fresh_service)
    try:
        async with running.client() as client:
            await client.write_event(SynthesizeStart().event())
            for chunk in chunks:
                await client.write_event(SynthesizeChunk(text=chunk).event())
                await asyncio.sleep(0.3)  # the first call would have started by now
            await client.write_event(SynthesizeStop().event())
            reply = await read_until(client, "synthesize-stopped")
    finally:
        await running.server.stop()
    assert calls[0] == tokenize(TextPipeline().phonemes(first_call, "en-us").strip())
    assert spoken(reply) == expected_tokens("".join(chunks))


async def test_streaming_without_punctuation_starts_before_the_sentence_ends(server):
    """LLM answers can run long before a comma: once a clause is longer than a
    first call may be, synthesis starts on its whole words (cut at a phrase)."""
    words = ("the living room lamp and the hallway light and the porch light and the kitchen light "
             "and the garden lights are all on now").split()
    async with server.client() as client:
        await client.write_event(SynthesizeStart().event())
        for word in words:
            await client.write_event(SynthesizeChunk(text=word + " ").event())
        first = await read_until(client, "audio-chunk", timeout=5)  # no punctuation, no stop yet
        await client.write_event(SynthesizeChunk(text="and done.").event())
        await client.write_event(SynthesizeStop().event())
        rest = await read_until(client, "synthesize-stopped")
    first.events += rest.events
    assert spoken(first) == expected_tokens(" ".join(words) + " and done.")
