"""Finding (and, when missing, downloading) the model and voices files.

Explicit model.path / voices paths are used as given (users bring
fine-tunes; they are checked by loading them, not by hash). Otherwise each
data dir is searched for the release file names, and what is missing is
downloaded once into the download dir (default: the first data dir),
verified, and found there on every later (offline) start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from . import download
from .config import ConfigError

MODEL_NAMES = download.VARIANTS
VOICES_NAME = download.VOICES_FILE


def _fetch(name: str, config: dict[str, Any], data_dirs: list[Path]) -> Path:
    settings = config["download"]
    target = Path(settings["dir"]) if settings["dir"] else (data_dirs[0] if data_dirs else None)
    found = download.find_file(name, [*data_dirs, *([target] if target else [])])
    if found is not None:  # also an earlier download into download.dir, so restarts work offline
        return found
    if target is None:
        raise ConfigError(f"no {name}: pass --data-dir DIR (downloads go there) or an explicit file")
    if not settings["enabled"]:
        where = ", ".join(str(d) for d in data_dirs) or "(none)"
        raise ConfigError(f"{name} not found in data dirs {where} and downloads are off (download.enabled)")
    url_base = settings["url_base"] or download.DEFAULT_URL_BASE
    try:
        return asyncio.run(download.ensure_file(name, data_dirs, target, url_base))
    except download.DownloadError as error:
        raise ConfigError(str(error)) from None


def locate_model_files(config: dict[str, Any]) -> tuple[Path, Path]:
    """(model, voices) paths, or ConfigError naming what is missing and where."""
    data_dirs = [Path(d) for d in config["data_dirs"]]
    paths = []
    for key, explicit, name in (("model", config["model"]["path"], MODEL_NAMES[config["model"]["variant"]]),
                                ("voices", config["voices"], VOICES_NAME)):
        if explicit:
            path = Path(explicit)
            if not path.is_file():
                raise ConfigError(f"{key} file not found: {path}")
        else:
            path = _fetch(name, config, data_dirs)
        paths.append(path)
    return paths[0], paths[1]
