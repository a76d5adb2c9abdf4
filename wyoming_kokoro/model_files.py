"""Finding the model and voices files.

Explicit --model/--voices paths are used as given (users bring fine-tunes;
they are checked by loading them, not by hash). Otherwise each data dir is
searched for the release file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ConfigError

MODEL_NAMES = {"fp32": "kokoro-v1.0.onnx", "fp16": "kokoro-v1.0.fp16.onnx", "int8": "kokoro-v1.0.int8.onnx"}
VOICES_NAME = "voices-v1.0.bin"


def _find(name: str, data_dirs: list[Path]) -> Path | None:
    for directory in data_dirs:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def locate_model_files(config: dict[str, Any]) -> tuple[Path, Path]:
    """(model, voices) paths, or ConfigError naming what is missing and where."""
    data_dirs = [Path(d) for d in config["data_dirs"]]
    found: list[Path] = []
    for key, name in (("model", MODEL_NAMES["fp32"]), ("voices", VOICES_NAME)):
        if config[key]:
            path = Path(config[key])
            if not path.is_file():
                raise ConfigError(f"{key} file not found: {path}")
        else:
            located = _find(name, data_dirs)
            if located is None:
                where = ", ".join(str(d) for d in data_dirs) or "(no --data-dir given)"
                raise ConfigError(f"{name} not found in data dirs {where}; pass --{key} FILE or put it there")
            path = located
        found.append(path)
    return found[0], found[1]
