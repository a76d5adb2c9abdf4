"""Custom voice files, blends, and Describe noticing new files while running."""

from __future__ import annotations

import asyncio
import logging
import os

import numpy as np
import onnx
import pytest
from conftest import make_config, read_until, start_server
from models import build_voices, decode_tokens
from onnx import TensorProto, helper
from wyoming.event import Event
from wyoming.info import Describe

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.service import RESCAN_EVERY
from wyoming_kokoro.voices import VoiceCatalog, blend, load_voices


@pytest.fixture
def base(model_dir):
    return load_voices(model_dir / "voices-v1.0.bin", hide_languages=("ja", "zh"))


def test_blend_weights_are_normalised(base):
    mixed = blend("cozy", "af_heart:0.7+bf_emma:0.3", base)
    expected = 0.7 * base["af_heart"].styles + 0.3 * base["bf_emma"].styles
    assert np.allclose(mixed.styles, expected, atol=1e-6)
    assert mixed.language.espeak == "en-us"
    assert mixed.description == "Blend of 70% Heart, 30% Emma — American English"
    assert np.allclose(blend("x", "af_heart:2+am_adam:2", base).styles,
                       blend("y", "af_heart+am_adam", base).styles)


@pytest.mark.parametrize("spec,message", [
    ("af_heart", "at least two"),
    ("af_heart+", "empty voice name"),
    ("af_heart:abc+am_adam", "not a number"),
    ("af_heart:-1+am_adam", "from 0.001 to 1000"),
    ("af_heart:0+am_adam", "from 0.001 to 1000"),
    ("af_heart:nan+am_adam", "from 0.001 to 1000"),
    ("af_heart:inf+am_adam", "from 0.001 to 1000"),
    ("af_heart:1e307+am_adam:1e307", "from 0.001 to 1000"),  # sum overflowed to inf
    ("af_heart:1e308+am_adam", "from 0.001 to 1000"),  # inf/inf: NaN
    ("af_heart:1e-400+am_adam", "from 0.001 to 1000"),  # underflows to 0
    ("af_heart:" + "9" * 5000 + "+am_adam", "at most 512"),
    ("af_heart+zz_nobody", "unknown voice"),
    ("+".join(["af_heart"] * 9), "at most 8"),
])
def test_bad_blends_name_the_problem(base, spec, message):
    with pytest.raises(ValueError, match=message) as error:
        blend("b", spec, base)
    assert len(str(error.value)) < 200  # a client's 1 MB name is not echoed back


def test_blend_weights_at_the_bounds_stay_finite(base):
    mixed = blend("b", "af_heart:1000+am_adam:0.001", base)
    assert np.all(np.isfinite(mixed.styles))
    assert mixed.description.startswith("Blend of 100% Heart, 0% Adam")


async def test_absurd_blend_weights_are_an_error_event(server):
    from conftest import read_until
    from wyoming.event import Event

    async with server.client() as client:
        for name in ("af_heart:1e307+am_adam:1e307", "af_heart:1e308+am_adam:1"):
            await client.write_event(Event("synthesize", {"text": "Hi.", "voice": {"name": name}}))
            reply = await read_until(client, "audio-stop")
            assert reply.types == ["error"] and reply.events[0].data["code"] == "bad-voice", reply.events


def _npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [
    pytest.param(b"af_heart: 1 2 3\nnot a voices file\n", id="text"),
    pytest.param(bytes(range(256)) * 64, id="random bytes"),
    pytest.param(b"", id="empty"),
    pytest.param(b"PK\x03\x04" + b"\0" * 100, id="broken zip"),
    pytest.param(_npz_bytes(af_heart=np.array([{"a": 1}] * 3, dtype=object)), id="object array"),
    pytest.param(_npz_bytes(af_heart=np.zeros((510, 256), np.complex64)), id="complex array"),
    pytest.param(_npz_bytes(af_heart=np.zeros((5, 256), np.float32)), id="wrong shape"),
])
def test_bad_voices_files_are_named_without_numpy_advice(tmp_path, content):
    path = tmp_path / "voices-v1.0.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        load_voices(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    assert "pickle" not in message.lower(), message


def test_a_voice_declaring_terabytes_is_refused_from_its_header(tmp_path):
    """A crafted .npy header inside the archive: refused before allocating."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10 ** 9, 1, 256)})
    path = tmp_path / "voices.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("af_heart.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match="shape"):
        load_voices(path)


def test_custom_voice_files_of_the_wrong_kind_are_skipped_by_name(base, tmp_path, caplog):
    (tmp_path / "af_text.npy").write_text("just text\n")
    np.save(tmp_path / "af_object.npy", np.array([None] * 4, dtype=object), allow_pickle=True)
    catalog = VoiceCatalog(base, [tmp_path])
    assert "af_text" not in catalog and "af_object" not in catalog
    assert "af_text.npy" in caplog.text and "af_object.npy" in caplog.text
    assert "pickle" not in caplog.text.lower()


def test_custom_voice_files_good_and_bad(base, tmp_path, caplog):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "af_custom.npy", rng.standard_normal((510, 1, 256)).astype(np.float32))
    np.save(tmp_path / "myvoice.npy", rng.standard_normal((510, 256)).astype(np.float32))
    np.save(tmp_path / "bf_bad.npy", np.zeros((10, 256), np.float32))
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    catalog = VoiceCatalog(base, [tmp_path], custom_language="fr-fr")
    assert catalog["af_custom"].language.wyoming == "en_US"
    assert catalog["af_custom"].description == "Custom — American English, female (custom)"
    assert catalog["myvoice"].language.wyoming == "fr_FR"  # no Kokoro prefix: from config
    assert "bf_bad" not in catalog and "broken" not in catalog
    assert "Skipping custom voice" in caplog.text and "bf_bad" in caplog.text


async def test_server_blends_custom_voices_and_rescan(model_dir, tmp_path):
    custom_dir = tmp_path / "share"
    custom_dir.mkdir()
    service = build_service(make_config(model_dir, data_dirs=[str(custom_dir)],
                                        blends={"cozy": "af_heart:0.7+bf_emma:0.3"}))
    styles_seen = []
    model = service.engine.model
    real_run = model.run

    def spy(ids, style, speed):
        styles_seen.append(np.array(style, copy=True))
        return real_run(ids, style, speed)

    model.run = spy
    running = await start_server(service)
    try:
        async with running.client() as client:
            await client.write_event(Describe().event())
            voices = {v["name"]: v for v in (await read_until(client, "info")).events[-1].data["tts"][0]["voices"]}
            assert voices["cozy"]["description"].startswith("Blend of 70% Heart, 30% Emma")
            assert "new_voice" not in voices

            for name in ("cozy", "af_heart:2+am_adam:1", "af_heart"):
                await client.write_event(Event("synthesize", {"text": "Hello.", "voice": {"name": name}}))
                reply = await read_until(client, "audio-stop")
                assert reply.types[0] == "audio-start" and decode_tokens(reply.pcm)
            # Each blend used its own style, different from its components'.
            assert not np.allclose(styles_seen[0], styles_seen[2])
            assert not np.allclose(styles_seen[1], styles_seen[2])

            await client.write_event(Event("synthesize", {"text": "Hi.", "voice": {"name": "af_heart:x+am_adam"}}))
            bad = await read_until(client, "audio-stop")
            assert bad.types == ["error"] and bad.events[0].data["code"] == "bad-voice"
            assert "not a number" in bad.events[0].data["text"]

            # A voice file dropped in while running shows up on the next describe
            # (the disk is looked at once a second at most).
            np.save(custom_dir / "new_voice.npy", np.ones((510, 1, 256), np.float32) * 0.01)
            await asyncio.sleep(RESCAN_EVERY)
            await client.write_event(Describe().event())
            voices = {v["name"] for v in (await read_until(client, "info")).events[-1].data["tts"][0]["voices"]}
            assert "new_voice" in voices
            await client.write_event(Event("synthesize", {"text": "Hi.", "voice": {"name": "new_voice"}}))
            assert (await read_until(client, "audio-stop")).pcm
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


def test_voice_descriptions_are_what_a_user_picks_by(service):
    """Name, language, gender: the G2P is an implementation detail (issue 12)."""
    from wyoming_kokoro.service import build_info

    voices = {v.name: v.description for v in build_info(service.engine.voices, True).tts[0].voices}
    assert voices["af_heart"] == "Heart — American English, female"
    assert voices["ef_dora"] == "Dora — Spanish, female"


def test_voices_file_with_a_bad_voice_is_rejected(tmp_path):
    path = build_voices(tmp_path / "v.bin", names=("af_heart",))
    with open(tmp_path / "bad.bin", "wb") as handle:
        np.savez(handle, af_heart=np.zeros((3, 256), np.float32))
    assert "af_heart" in load_voices(path)
    with pytest.raises(ValueError, match="shape"):
        load_voices(tmp_path / "bad.bin")


def test_rescan_reads_only_what_changed(base, tmp_path, caplog):
    """Describe rescans often: unchanged files are not read again, a bad one is
    warned about once, and changed or deleted files are noticed."""
    np.save(tmp_path / "one.npy", np.full((510, 256), 0.1, np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((3, 256), np.float32))
    catalog = VoiceCatalog(base, [tmp_path])
    first = catalog["one"]
    assert catalog.rescan() is False
    assert caplog.text.count("bad.npy") == 1

    np.save(tmp_path / "two.npy", np.full((510, 256), 0.2, np.float32))
    assert catalog.rescan() is True
    assert catalog["one"] is first and "two" in catalog  # one.npy was not read again
    assert caplog.text.count("bad.npy") == 1

    np.save(tmp_path / "one.npy", np.full((510, 256), 0.3, np.float32))
    os.utime(tmp_path / "one.npy", ns=(1, 1))  # a different mtime even on coarse clocks
    assert catalog.rescan() is True
    assert np.allclose(catalog["one"].styles, 0.3)
    (tmp_path / "two.npy").unlink()
    assert catalog.rescan() is True and "two" not in catalog


def test_custom_voices_that_cannot_be_served_are_skipped(base, tmp_path, caplog):
    """A Japanese style pack without the ja extra would fail every request, and a
    file named like a voice of the voices file must not silently replace it."""
    caplog.set_level(logging.WARNING)
    np.save(tmp_path / "jf_mine.npy", np.ones((510, 256), np.float32))
    np.save(tmp_path / "af_heart.npy", np.ones((510, 256), np.float32))
    catalog = VoiceCatalog(base, [tmp_path], hide_languages=("ja",))
    assert "jf_mine" not in catalog and "Japanese voices need wyoming-kokoro[ja]" in caplog.text
    with pytest.raises(ValueError, match=r"voice 'jf_mine': Japanese voices need wyoming-kokoro\[ja\]"):
        catalog.resolve("jf_mine")
    assert np.array_equal(catalog["af_heart"].styles, base["af_heart"].styles)
    assert "a voice named af_heart already exists" in caplog.text


def build_style_model(path):
    """A Kokoro-shaped model whose audio *is* the style vector, once per token,
    so voices with different styles give different audio."""
    nodes = [
        helper.make_node("Constant", [], ["zero"], value=onnx.numpy_helper.from_array(
            np.array(0.0, np.float32), "zero")),
        helper.make_node("Constant", [], ["one"], value=onnx.numpy_helper.from_array(
            np.array(1.0, np.float32), "one")),
        helper.make_node("Constant", [], ["flat"], value=onnx.numpy_helper.from_array(
            np.array([-1], np.int64), "flat")),
        helper.make_node("Cast", ["tokens"], ["ids"], to=TensorProto.FLOAT),  # [1, T]
        helper.make_node("Transpose", ["ids"], ["column"], perm=[1, 0]),  # [T, 1]
        helper.make_node("Mul", ["column", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "one"], ["ones"]),
        helper.make_node("MatMul", ["ones", "style"], ["rows"]),  # [T, 256]
        helper.make_node("ReduceSum", ["speed"], ["speed_sum"], keepdims=0),
        helper.make_node("Mul", ["speed_sum", "zero"], ["speed0"]),
        helper.make_node("Add", ["rows", "speed0"], ["rows2"]),
        helper.make_node("Reshape", ["rows2", "flat"], ["audio"]),
    ]
    graph = helper.make_graph(
        nodes, "style-echo",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "T"]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["S"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


async def test_blend_audio_differs_from_each_component(model_dir, tmp_path):
    path = build_style_model(tmp_path / "style.onnx")
    service = build_service(make_config(model_dir, model={"path": str(path)},
                                        blends={"cozy": "af_heart:0.7+bf_emma:0.3"}))
    running = await start_server(service)
    audio = {}
    try:
        async with running.client() as client:
            for name in ("cozy", "af_heart", "bf_emma", "am_adam", "af_heart:2+am_adam:1"):
                await client.write_event(Event("synthesize", {"text": "Hello there.", "voice": {"name": name}}))
                reply = await read_until(client, "audio-stop")
                assert reply.types[-1] == "audio-stop" and len(reply.pcm) > 1000
                audio[name] = reply.pcm
    finally:
        await running.server.stop()
        service.engine.scheduler.close()
    for mix, parts in (("cozy", ("af_heart", "bf_emma")), ("af_heart:2+am_adam:1", ("af_heart", "am_adam"))):
        for part in parts:
            assert audio[mix] != audio[part], f"{mix} sounds like {part}"


async def test_a_describe_flood_looks_at_the_disk_once_a_second(server, service):
    calls = []
    catalog = service.engine.voices
    real_rescan = catalog.rescan

    def counting_rescan():
        calls.append(1)
        return real_rescan()

    catalog.rescan = counting_rescan
    try:
        started = asyncio.get_running_loop().time()
        async with server.client() as client:
            for _ in range(300):
                await client.write_event(Describe().event())
            for _ in range(300):
                await read_until(client, "info")
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        del catalog.rescan
    assert len(calls) <= elapsed / RESCAN_EVERY + 1, (len(calls), elapsed)


@pytest.mark.parametrize("stem", ["af_heart+am_adam", "af:2", "with space", "x" * 65, "-dash-first", "bell\x07"])
def test_custom_voice_names_that_would_read_as_blends_or_garbage_are_skipped(base, tmp_path, caplog, stem):
    np.save(tmp_path / f"{stem}.npy", np.ones((510, 1, 256), np.float32) * 0.01)
    catalog = VoiceCatalog(base, [tmp_path])
    assert stem not in catalog and "Skipping custom voice" in caplog.text


def test_arrays_in_the_voices_file_with_names_that_are_no_voice_names_are_skipped(tmp_path, caplog):
    good = np.ones((510, 1, 256), np.float32) * 0.01
    path = tmp_path / "voices.bin"
    np.savez(path, **{"af_heart": good, "af_x+am_y": good, "af_a b": good})
    path = tmp_path / "voices.bin.npz"
    assert set(load_voices(path)) == {"af_heart"}
    assert "not a voice name" in caplog.text
