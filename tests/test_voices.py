"""Custom voice files, blends, and Describe noticing new files while running."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_config, read_until, start_server
from models import build_voices, decode_tokens
from wyoming.event import Event
from wyoming.info import Describe

from wyoming_kokoro.__main__ import build_service
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
    ("af_heart:-1+am_adam", "positive"),
    ("af_heart:0+am_adam", "positive"),
    ("af_heart:nan+am_adam", "positive"),
    ("af_heart+zz_nobody", "unknown voice"),
])
def test_bad_blends_name_the_problem(base, spec, message):
    with pytest.raises(ValueError, match=message):
        blend("b", spec, base)


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

            # A voice file dropped in while running shows up on the next describe.
            np.save(custom_dir / "new_voice.npy", np.ones((510, 1, 256), np.float32) * 0.01)
            await client.write_event(Describe().event())
            voices = {v["name"] for v in (await read_until(client, "info")).events[-1].data["tts"][0]["voices"]}
            assert "new_voice" in voices
            await client.write_event(Event("synthesize", {"text": "Hi.", "voice": {"name": "new_voice"}}))
            assert (await read_until(client, "audio-stop")).pcm
    finally:
        await running.server.stop()
        service.engine.scheduler.close()


def test_voice_descriptions_name_the_fallback_g2p(service):
    from wyoming_kokoro.handler import build_info

    voices = {v.name: v.description for v in build_info(service.engine.voices, True).tts[0].voices}
    assert voices["af_heart"].endswith("(espeak-ng G2P)")  # misaki is not installed here
    assert voices["ef_dora"] == "Dora — Spanish, female"


def test_voices_file_with_a_bad_voice_is_rejected(tmp_path):
    path = build_voices(tmp_path / "v.bin", names=("af_heart",))
    with open(tmp_path / "bad.bin", "wb") as handle:
        np.savez(handle, af_heart=np.zeros((3, 256), np.float32))
    assert "af_heart" in load_voices(path)
    with pytest.raises(ValueError, match="shape"):
        load_voices(tmp_path / "bad.bin")
