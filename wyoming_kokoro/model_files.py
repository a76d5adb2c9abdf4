"""Finding (and, when missing, downloading) the model and voices files at start.

This is the one place the server (and ``python -m wyoming_kokoro.download``,
and so both container images) decides where the files come from:

* Explicit ``model.path`` / ``voices`` paths are used as given (users bring
  fine-tunes; they are checked by loading them, not by hash).
* Otherwise each data dir (then the download dir) is searched for the release
  file names; what is missing is downloaded once into the download dir
  (default: the first data dir), verified, and found there on every later,
  offline start.
* When files are missing and cannot be had - downloads off
  (``--local-files-only`` / ``download.enabled: false``) or no network - the
  error names *every* missing file at once, the directory to put them in (the
  first data dir: in the add-on that is /share/kokoro, the folder its user
  can reach), and the two other ways out: ``--model``/``--voices`` for files
  kept elsewhere, ``--download-url-base`` for a reachable mirror.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import download, release
from .config import ConfigError
from .verify import default_validator

MODEL_NAMES = release.VARIANTS
VOICES_NAME = release.VOICES_FILE


def locate_model_files(config: dict[str, Any]) -> tuple[Path, Path]:
    """(model, voices) paths, or ConfigError naming everything missing and where it goes."""
    data_dirs = [Path(d) for d in config["data_dirs"]]
    settings = config["download"]
    target = Path(settings["dir"]) if settings["dir"] else (data_dirs[0] if data_dirs else None)
    search = [*data_dirs, *([target] if target is not None and target not in data_dirs else [])]
    wanted = {"model": (config["model"]["path"], MODEL_NAMES[config["model"]["variant"]]),
              "voices": (config["voices"], VOICES_NAME)}
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    for key, (explicit, name) in wanted.items():
        if explicit:
            path = Path(explicit)
            if not path.is_file():
                raise ConfigError(f"{key} file not found: {path}")
            found[key] = path
        elif (path := find_file(name, search)) is not None:
            found[key] = path
        else:
            missing[key] = name
    if missing:
        if target is None:
            raise ConfigError(f"no {' or '.join(missing.values())}: pass --data-dir DIR "
                              "(downloads go there) or --model/--voices")
        if not settings["enabled"]:
            raise ConfigError(_missing_message(list(missing.values()), search, data_dirs or [target],
                                               "downloads are off (--local-files-only or download.enabled)"))
        found.update(_download(missing, target, settings, search, data_dirs or [target]))
    return found["model"], found["voices"]


def _download(missing: dict[str, str], target: Path, settings: dict[str, Any], search: list[Path],
              data_dirs: list[Path]) -> dict[str, Path]:
    url_base = settings["url_base"] or release.DEFAULT_URL_BASE
    paths: dict[str, Path] = {}
    for key, name in missing.items():
        try:
            paths[key] = asyncio.run(ensure_file(name, search, target, url_base))
        except download.DownloadError as error:
            # Offline, every other missing file would fail the same way; name them all.
            # Either way the folder named is the first data dir (the add-on's
            # /share/kokoro), not the download dir the user may not reach.
            names = [n for k, n in missing.items() if k not in paths] if error.offline else [name]
            reason = error.reason if error.offline else f"downloading it from {error.url} failed: {error.reason}"
            raise ConfigError(_missing_message(names, search, data_dirs, reason, url_base)) from None
    return paths


def _missing_message(names: list[str], searched: list[Path], data_dirs: list[Path], reason: str,
                     url_base: str | None = None) -> str:
    """One line: what is missing, where we looked, why we cannot fetch it, the ways out."""
    where = ", ".join(str(d) for d in searched)
    source = f" (from {url_base.rstrip('/')}/)" if url_base else ""
    return (f"missing model file(s) {', '.join(names)}: not in {where}, and {reason}. "
            f"Put {'them' if len(names) > 1 else 'it'} in {data_dirs[0]}{source}, "
            "or point --model/--voices at files you have, or use --download-url-base with a reachable mirror")


def find_file(name: str, data_dirs: Sequence[Path]) -> Path | None:
    """First non-empty ``name`` in ``data_dirs``; a zero-byte file is a leftover, not a model."""
    for directory in data_dirs:
        candidate = Path(directory) / name
        try:
            if candidate.is_file() and candidate.stat().st_size > 0:
                return candidate
        except OSError:
            continue
    return None


async def ensure_file(
    name: str,
    data_dirs: Sequence[Path],
    target: Path,
    url_base: str = release.DEFAULT_URL_BASE,
    hashes: Mapping[str, str | None] | None = None,
    **kw,
) -> Path:
    """One release file: found in a data dir (or target), else downloaded into target."""
    found = find_file(name, [*data_dirs, target])
    if found is not None:
        return found
    table = hashes if hashes is not None else {n: f.sha256 for n, f in release.FILES.items()}
    url = f"{url_base.rstrip('/')}/{name}"
    sha256 = table.get(name)
    validate = None if sha256 else default_validator(name)
    return await download.download_file(url, target / name, sha256, validate=validate, **kw)
