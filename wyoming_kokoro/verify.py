"""Is a downloaded file the one we wanted? A digest where one is known, else loading it.

Loading the model is the only check that catches a truncated file, an HTML
error page and a different model alike when no digest is known; it does not
catch a deliberately tampered file (use the hash-verified fp32 model where that
matters).
"""

from __future__ import annotations

import asyncio
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

from .release import VOICES_FILE


class VerificationFailed(Exception):
    """The bytes arrived but are not the file we wanted."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so a 310 MB model fits in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def validate_kokoro_onnx(path: Path) -> None:
    """Raise ValueError unless ``path`` loads as a Kokoro-shaped ONNX graph.

    Used when no digest is known: actually loading the model is the only
    check that catches a truncated file, an HTML error page and a different
    model alike. Import is lazy because onnxruntime is heavy and only needed
    right after a download.
    """
    import onnxruntime  # noqa: PLC0415 - deliberately lazy

    try:
        session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # noqa: BLE001 - ORT raises many private types
        raise ValueError(f"not a loadable ONNX model ({first_line(exc)})") from exc
    inputs = {i.name: i.type for i in session.get_inputs()}
    token_inputs = [n for n in ("tokens", "input_ids") if n in inputs]
    if not token_inputs:
        raise ValueError(f"ONNX model has no 'tokens'/'input_ids' input (has {sorted(inputs)})")
    if inputs[token_inputs[0]] != "tensor(int64)":
        raise ValueError(
            f"ONNX input {token_inputs[0]!r} is {inputs[token_inputs[0]]}, expected tensor(int64)"
        )
    missing = [n for n in ("style", "speed") if n not in inputs]
    if missing:
        raise ValueError(f"ONNX model lacks input(s) {missing} (has {sorted(inputs)})")
    if not session.get_outputs():
        raise ValueError("ONNX model has no outputs")


def validate_voices(path: Path) -> None:
    """Raise ValueError unless ``path`` looks like a voices .npz archive.

    Only used when the voices digest is unknown (a custom URL base without
    hashes): every member must be a float array whose last axis is the
    256-wide style vector.
    """
    import numpy as np  # noqa: PLC0415 - only needed for this rare path

    if not zipfile.is_zipfile(path):
        raise ValueError("not a NumPy .npz archive")
    try:
        with np.load(path) as archive:
            names = list(archive.files)
            if not names:
                raise ValueError("voices archive is empty")
            for name in names:
                array = archive[name]
                if array.ndim < 2 or array.shape[-1] != 256:
                    raise ValueError(f"voice {name!r} has shape {array.shape}")
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt zips raise many types
        raise ValueError(f"unreadable voices archive ({first_line(exc)})") from exc


def default_validator(name: str) -> Callable[[Path], None] | None:
    """The structural check to use for ``name`` when its digest is unknown."""
    if name.endswith(".onnx"):
        return validate_kokoro_onnx
    if name == VOICES_FILE:
        return validate_voices
    return None


async def verify(
    path: Path, sha256: str | None, validate: Callable[[Path], None] | None
) -> None:
    """Check a finished ``.part``; runs in a thread to keep the loop responsive."""
    if sha256 is not None:
        actual = await asyncio.to_thread(sha256_of, path)
        if actual.lower() != sha256.lower():
            raise VerificationFailed(
                f"SHA-256 mismatch (expected {sha256.lower()}, got {actual})"
            )
    if validate is not None:
        try:
            await asyncio.to_thread(validate, path)
        except Exception as exc:  # noqa: BLE001 - any validator failure rejects
            raise VerificationFailed(
                f"file failed validation: {first_line(exc)}"
            ) from exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
