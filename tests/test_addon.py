"""Home Assistant add-on, Docker images and zeroconf: what can be checked without Docker.

Supervisor's rules that the layout relies on are encoded as facts read from
its source (home-assistant/supervisor, named in each test); the real
container build and run is scripts/container-check.

The add-on's shell scripts are run for real, with bashio replaced by a
stand-in that serves the options and records discovery, and `python3`
replaced by a recorder: so "every option reaches the server" is checked on
the command line and config file the server would really get, parsed by the
server's own argument parser and config validator.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import yaml
from conftest import free_port, make_config
from models import VOICE_NAMES
from wyoming.server import AsyncTcpServer

import wyoming_kokoro
from wyoming_kokoro import __main__ as cli
from wyoming_kokoro.config import CHUNK_PROFILES, SCHEMA
from wyoming_kokoro.handler import KokoroEventHandler
from wyoming_kokoro.model_files import MODEL_NAMES
from wyoming_kokoro.release import VARIANTS
from wyoming_kokoro.voices import describe

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon"
S6 = ADDON / "rootfs/etc/s6-overlay/s6-rc.d"
RUN = S6 / "kokoro/run"
FINISH = S6 / "kokoro/finish"
DISCOVERY = S6 / "discovery/run"
HEALTHCHECK = ADDON / "rootfs/usr/local/bin/kokoro-healthcheck"
SCRIPTS = [RUN, FINISH, DISCOVERY, HEALTHCHECK]

BASHIO_STUB = r"""
# Stand-in for bashio: options from $KOKORO_TEST_OPTIONS (JSON-free key=value lines).
declare -A OPTIONS=()
while IFS='=' read -r key value; do OPTIONS["${key}"]="${value}"; done < "${KOKORO_TEST_OPTIONS}"
bashio::config() { printf '%s\n' "${OPTIONS[$1]}"; }
bashio::config.true() { [[ "${OPTIONS[$1]}" == "true" ]]; }
bashio::config.has_value() { [[ -n "${OPTIONS[$1]:-}" && "${OPTIONS[$1]}" != "null" ]]; }
bashio::log.info() { echo "INFO: $*" >&2; }
bashio::log.warning() { echo "WARNING: $*" >&2; }
bashio::log.error() { echo "ERROR: $*" >&2; }
bashio::exit.nok() { echo "FATAL: $*" >&2; exit 1; }
bashio::var.json() {
    local out="" sep=""
    while (( $# )); do out+="${sep}\"$1\":\"$2\""; sep=","; shift 2; done
    printf '{%s}\n' "${out}"
}
bashio::discovery() { printf '%s\n%s\n' "$1" "$2" > "${KOKORO_TEST_DISCOVERY}"; }
"""

RECORDER = r"""#!/usr/bin/env bash
# Records its arguments (NUL-separated) under $KOKORO_TEST_CALLS, named after
# the module it was asked to run.
name="$1"; [[ "$1" == "-m" ]] && name="$2"
printf '%s\0' "$@" > "${KOKORO_TEST_CALLS}/${name}"
"""


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def addon_config() -> dict:
    return load(ROOT / "config.yaml")


# -- Supervisor's rules (facts read from home-assistant/supervisor) ---------------
SUPERVISOR_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
"""supervisor/const.py FILE_SUFFIX_CONFIGURATION."""

RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:|bool|email|url|port|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)|list\((?P<list>.+)\))\??$"
)
"""supervisor/apps/options.py RE_SCHEMA_ELEMENT: the option types an add-on may declare."""


def repository_files() -> list[Path]:
    """What the Supervisor's git clone holds: the tracked files (untracked ones
    too, so a test run before a commit sees new files)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [Path(line) for line in out.splitlines() if (ROOT / line).is_file()]


def supervisor_addon_manifests() -> list[Path]:
    """supervisor/store/data.py _find_app_configs: path.glob("**/config.*"), skipping
    any path with a part starting with "." or named "rootfs", suffix in
    FILE_SUFFIX_CONFIGURATION. Every match is validated as an add-on manifest."""
    return [p for p in repository_files()
            if re.fullmatch(r"config\..*", p.name)
            and not any(part.startswith(".") or part == "rootfs" for part in p.parts)
            and p.suffix in SUPERVISOR_CONFIG_SUFFIXES]


def test_the_store_accepts_the_repository():
    # supervisor/store/repository.py RepositoryGit.validate: repository.{yaml,yml,json}
    # at the root, valid against store/validate.py SCHEMA_REPOSITORY_CONFIG
    # (name required; url a URL; maintainer a string).
    found = [ROOT / f"repository{suffix}" for suffix in SUPERVISOR_CONFIG_SUFFIXES
             if (ROOT / f"repository{suffix}").exists()]
    assert found == [ROOT / "repository.yaml"]
    repository = load(found[0])
    assert isinstance(repository["name"], str) and repository["name"]
    assert re.fullmatch(r"https://\S+", repository["url"]) and isinstance(repository["maintainer"], str)


def test_the_store_finds_exactly_one_addon_here():
    # The glob also matched the server's old top-level config.yaml, which failed
    # the add-on schema ("Invalid app config!") at every store reload.
    assert supervisor_addon_manifests() == [Path("config.yaml")]


def test_manifest_has_what_the_supervisor_requires(addon_config):
    # supervisor/apps/validate.py _SCHEMA_APP_CONFIG: name, version, slug
    # (RE_SLUG), description and arch are required; url must be a URL.
    c = addon_config
    for key in ("name", "version", "slug", "description", "arch"):
        assert c[key], key
    assert re.fullmatch(r"[-_.A-Za-z0-9]+", c["slug"])
    assert c["url"] == load(ROOT / "repository.yaml")["url"]  # this project, not the model's page
    # Deprecated keys the Supervisor warns about (codenotary: removed, ignored).
    assert "codenotary" not in c and "advanced" not in c
    for spec in addon_config["schema"].values():
        assert RE_SCHEMA_ELEMENT.match(spec), spec


def test_addon_is_built_locally_from_this_folder(addon_config):
    # supervisor/apps/build.py: without "image:" the Supervisor builds the add-on
    # with `docker buildx build .` in the add-on's folder (the folder holding its
    # config.yaml: data.py stores app_config.parent as its location), using
    # Dockerfile.<arch> if present, else Dockerfile; build.yaml is deprecated.
    # So this folder must hold everything the add-on stage COPYs.
    assert "image" not in addon_config
    assert not (ROOT / "build.yaml").exists() and not (ROOT / "addon/build.yaml").exists()
    assert not list(ROOT.glob("Dockerfile.*"))
    stages = dockerfile_stages(ROOT / "Dockerfile")
    name, parsed = stages[-1]
    assert name == "addon"  # the default target is the last stage
    for copy in of(parsed, "COPY"):
        *sources, _destination = shlex.split(copy)
        for source in sources:
            assert (ROOT / source).exists() and not docker_ignored(source), source


def test_addon_metadata_follows_the_piper_addon(addon_config):
    c = addon_config
    assert c["slug"] == "kokoro" and c["name"] and c["description"]
    assert c["arch"] == ["amd64", "aarch64"]
    assert c["init"] is False  # s6-overlay's /init is the entry point, not Docker's tini
    assert c["discovery"] == ["wyoming"]
    assert c["ports"] == {"10210/tcp": None}
    assert c["map"] == ["share"]
    assert c["backup_exclude"] == ["*.onnx"]
    for image, size in (("icon.png", (128, 128)), ("logo.png", (250, 100))):
        header = (ROOT / image).read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == size


def test_no_port_watchdog_that_would_restart_a_first_download(addon_config):
    # supervisor/apps/app.py: a RUNNING container with a health check is in
    # STARTUP; HEALTHY (or UNHEALTHY) makes it STARTED. supervisor/misc/tasks.py
    # _watchdog_app_application probes the "watchdog:" URL only for STARTED
    # apps and restarts after two misses. Our health check passes while a first
    # download makes progress, before port 10210 listens: a port watchdog would
    # restart the add-on mid-download. The health check (Describe) is the
    # watchdog's signal instead (UNHEALTHY -> restart, apps/app.py watchdog_container).
    assert "watchdog" not in addon_config
    health = of(dockerfile_stages(ROOT / "Dockerfile")[-1][1], "HEALTHCHECK")[0]
    assert "--starting-ok" in health


# -- config.yaml options ------------------------------------------------------------
def parse_schema(spec: str):
    """An add-on schema type -> (kind, detail, optional): list choices or numeric range."""
    optional = spec.endswith("?")
    spec = spec.rstrip("?")
    if match := re.fullmatch(r"list\((.*)\)", spec):
        return "list", match.group(1).split("|"), optional
    if match := re.fullmatch(r"(int|float)\(([^,]*),([^)]*)\)", spec):
        return match.group(1), (float(match.group(2)), float(match.group(3))), optional
    return spec, None, optional


def schema_accepts(spec: str, value) -> bool:
    kind, detail, _ = parse_schema(spec)
    if kind == "list":
        return value in detail
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "float"):
        numeric = isinstance(value, int if kind == "int" else (int, float)) and not isinstance(value, bool)
        return numeric and detail[0] <= value <= detail[1]
    raise AssertionError(f"schema type {spec!r} not handled by this test")


OPTIONAL = {"threads", "arena_max_mb"}
"""Options whose absence means "the server decides" (schema type ending in ?)."""


def test_options_and_schema_agree(addon_config):
    options, schema = addon_config["options"], addon_config["schema"]
    assert set(schema) == set(options) | OPTIONAL
    assert {k for k, v in schema.items() if parse_schema(v)[2]} == OPTIONAL
    assert set(schema) == {"voice", "speed", "model_variant", "chunk_profile", "threads", "arena_max_mb",
                           "sentence_silence", "normalize", "debug_logging"}
    for key, value in options.items():
        assert schema_accepts(schema[key], value), f"default of {key} ({value!r}) fails {schema[key]}"


def server_range(*path: str) -> tuple[float, float]:
    """The vol.Range the server's config schema puts on a key."""
    import voluptuous as vol

    node = SCHEMA
    for key in path:
        node = {str(k): v for k, v in node.schema.items()}[key]
    ranges = []

    def walk(v):
        if isinstance(v, vol.Range):
            ranges.append((v.min, v.max))
        for child in getattr(v, "validators", ()):
            walk(child)
    walk(node)
    (found,) = ranges
    return float(found[0]), float(found[1])


def test_option_ranges_are_the_servers(addon_config):
    # An add-on that accepts a value the server refuses stops at start
    # (arena_max_mb 1-15 used to pass the add-on schema).
    schema = addon_config["schema"]
    assert parse_schema(schema["threads"])[1] == server_range("threads", "intra_op")
    assert parse_schema(schema["arena_max_mb"])[1] == server_range("arena", "max_mb")
    assert parse_schema(schema["speed"])[1] == server_range("speed")
    assert parse_schema(schema["sentence_silence"])[1] == server_range("sentence_silence")


def test_option_choices_match_the_server(addon_config):
    schema = addon_config["schema"]
    assert parse_schema(schema["model_variant"])[1] == list(VARIANTS) == list(MODEL_NAMES)
    assert parse_schema(schema["chunk_profile"])[1] == list(CHUNK_PROFILES)
    voices = parse_schema(schema["voice"])[1]
    assert len(voices) == len(set(voices)) == 41
    assert addon_config["options"]["voice"] == "af_heart" == voices[0]
    for name in voices:  # a language espeak-ng can speak; ja/zh need misaki, not shipped
        language, _ = describe(name)
        assert language is not None and language.espeak not in ("ja", "zh"), name
    assert {n for n in VOICE_NAMES if n[0] not in "jz"} <= set(voices)


def test_translations_cover_every_option(addon_config):
    # supervisor/store/data.py _read_app_translations: translations/*.yaml beside config.yaml.
    translations = load(ROOT / "translations/en.yaml")
    assert set(translations["configuration"]) == set(addon_config["schema"])
    for key, text in translations["configuration"].items():
        assert text["name"] and text["description"], key
    assert set(translations["network"]) == set(addon_config["ports"])


def test_versions_agree(addon_config):
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first_release = re.search(r"^## (\S+)", changelog, re.MULTILINE).group(1)
    assert addon_config["version"] == first_release == wyoming_kokoro.__version__
    # The Supervisor passes BUILD_VERSION (apps/build.py get_docker_args); the
    # install script refuses a source of another version.
    install = (ROOT / "scripts/install-server").read_text()
    assert 'BUILD_VERSION' in install and "exit 1" in install


def test_base_images_are_multi_arch_and_set_in_the_dockerfile():
    parsed = instructions(ROOT / "Dockerfile")
    args = dict(a.split("=", 1) for a in of(parsed, "ARG") if "=" in a)
    # One multi-arch base (no {arch}- prefix): the Supervisor passes --platform.
    assert re.fullmatch(r"ghcr\.io/home-assistant/base-debian:\w+", args["BUILD_FROM"])
    assert args["STANDALONE_FROM"] == f"debian:{args['BUILD_FROM'].rsplit(':', 1)[1]}-slim"
    assert [name for name, _ in dockerfile_stages(ROOT / "Dockerfile")] == ["standalone", "addon"]


# -- s6 services ------------------------------------------------------------------
def test_s6_services_are_wired():
    assert (S6 / "kokoro/type").read_text().strip() == "longrun"
    assert (S6 / "discovery/type").read_text().strip() == "oneshot"
    up = (S6 / "discovery/up").read_text().strip()
    assert ADDON / "rootfs" / up.lstrip("/") == DISCOVERY
    assert (S6 / "discovery/dependencies.d/kokoro").exists()
    assert (S6 / "kokoro/dependencies.d/base").exists()
    assert {p.name for p in (S6 / "user/contents.d").iterdir()} == {"kokoro", "discovery"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(ADDON).as_posix())
def test_scripts_are_executable_bash(script):
    assert os.access(script, os.X_OK)
    first = script.read_text().splitlines()[0]
    assert first in ("#!/command/with-contenv bashio", "#!/usr/bin/env bash")
    subprocess.run(["bash", "-n", str(script)], check=True)


CHECK_SCRIPTS = [ROOT / "scripts/container-check", ROOT / "scripts/install-server",
                 *(ROOT / "scripts/standin-base" / name for name in ("init", "bashio", "bashio.sh", "with-contenv"))]
"""The container check and what it builds with: shell too, linted the same way."""


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck():
    result = subprocess.run(["shellcheck", "--severity=style", *map(str, SCRIPTS + CHECK_SCRIPTS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# -- the run script: every option reaches the server ----------------------------
def run_script(script: Path, tmp_path: Path, options: dict | None = None, env: dict | None = None,
               *, check: bool = True) -> subprocess.CompletedProcess:
    """Run an add-on script with bashio and python3 replaced by recorders."""
    fakebin = tmp_path / "bin"
    fakebin.mkdir(parents=True, exist_ok=True)
    for name in ("python3", "python", "wyoming-kokoro"):
        (fakebin / name).write_text(RECORDER)
        (fakebin / name).chmod(0o755)
    (tmp_path / "calls").mkdir(exist_ok=True)
    (tmp_path / "bashio").write_text(BASHIO_STUB)
    (tmp_path / "options").write_text("".join(f"{k}={_bashio_value(v)}\n" for k, v in (options or {}).items()))
    full_env = {
        **os.environ, "PATH": f"{fakebin}:{HEALTHCHECK.parent}:{os.environ['PATH']}",
        "KOKORO_TEST_OPTIONS": str(tmp_path / "options"), "KOKORO_TEST_CALLS": str(tmp_path / "calls"),
        "KOKORO_TEST_DISCOVERY": str(tmp_path / "discovery"), "KOKORO_CONFIG_FILE": str(tmp_path / "kokoro.yaml"),
        "KOKORO_SHARE_DIR": str(tmp_path / "share/kokoro"),  # not the machine's /share
        **(env or {}),
    }
    command = ["bash", "-c", 'source "$1"; source "$2" "${@:3}"', "addon", str(tmp_path / "bashio"), str(script)]
    result = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=20)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _bashio_value(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def recorded(tmp_path: Path, module: str) -> list[str] | None:
    path = tmp_path / "calls" / module
    return path.read_bytes().decode().split("\0")[:-1] if path.exists() else None


def server_view(tmp_path: Path, options: dict) -> dict:
    """What the server makes of the run script's command line: argv, raw YAML, final config."""
    run_script(RUN, tmp_path, options)
    argv = recorded(tmp_path, "wyoming_kokoro")
    assert argv[:2] == ["-m", "wyoming_kokoro"]
    assert recorded(tmp_path, "wyoming_kokoro.download") is None  # one download path: the server's start-up
    args = cli.parse_args(argv[2:])
    raw = load(args.config)
    return {"args": args, "raw": raw, "config": cli.resolve_config(args)}


OBSERVE = {
    "voice": lambda v: v["config"]["voice"],
    "speed": lambda v: v["config"]["speed"],
    "model_variant": lambda v: v["config"]["model"]["variant"],
    "chunk_profile": lambda v: v["config"]["chunk_profile"],
    "threads": lambda v: v["config"]["threads"]["intra_op"],
    "arena_max_mb": lambda v: v["config"]["arena"]["max_mb"],
    "sentence_silence": lambda v: v["config"]["sentence_silence"],
    "normalize": lambda v: v["raw"]["normalize"]["enabled"],
    "debug_logging": lambda v: v["args"].debug,
}
"""Where each add-on option shows up in what the server receives."""

CHANGED = {
    "voice": ("bf_emma", "bf_emma"),
    "speed": (1.25, 1.25),
    "model_variant": ("int8", "int8"),
    "chunk_profile": ("low-latency", "low-latency"),
    "threads": (3, 3),
    "arena_max_mb": (256, 256),
    "sentence_silence": (0.5, 0.5),
    "normalize": (False, False),
    "debug_logging": (True, True),
}
"""A non-default value per option, and what the server must then see."""


def test_defaults_reach_the_server(addon_config, tmp_path):
    view = server_view(tmp_path, addon_config["options"])
    args, config = view["args"], view["config"]
    assert args.uri == "tcp://0.0.0.0:10210"
    share = str(tmp_path / "share/kokoro")  # /share/kokoro in the add-on (KOKORO_SHARE_DIR unset)
    assert config["data_dirs"] == [share, "/data"]  # custom files in /share/kokoro win, and messages
    assert config["download"]["dir"] == "/data"     # name it (the first data dir), not /data
    assert Path(share).is_dir()  # created, so the user finds where files go
    assert config["download"]["enabled"] and config["model"]["path"] is None and config["voices"] is None
    assert config["cache_dir"] == "/data/cache"
    assert config["threads"]["intra_op"] is None and config["arena"]["max_mb"] is None  # unset: automatic
    assert view["raw"]["normalize"] == {"enabled": True}
    assert not args.debug


@pytest.mark.parametrize("option", sorted(CHANGED))
def test_every_option_reaches_the_server(addon_config, tmp_path, option):
    assert set(CHANGED) == set(OBSERVE) == set(addon_config["schema"])
    value, expected = CHANGED[option]
    assert schema_accepts(addon_config["schema"][option], value)
    default = OBSERVE[option](server_view(tmp_path / "default", addon_config["options"]))
    changed = OBSERVE[option](server_view(tmp_path / "changed", {**addon_config["options"], option: value}))
    assert changed == expected and changed != default


def test_run_script_uses_share_kokoro_in_the_addon():
    assert 'readonly SHARE_DIR="${KOKORO_SHARE_DIR:-/share/kokoro}"' in RUN.read_text()


# -- finish: what a stopped server does to the container (as Piper's) -------------
@pytest.mark.parametrize(("code", "signal", "recorded_before", "expect_code", "halts"), [
    (0, 0, 0, 0, False),        # a normal stop
    (2, 0, 0, 2, True),         # refused to start (bad option, model missing): stop the add-on
    (256, 15, 0, 143, True),    # stopped by SIGTERM: record 128 + 15, halt
    (256, 9, 0, 137, False),    # killed (OOM): recorded, s6 restarts the server
    (256, 15, 2, 2, True),      # an exit code already recorded is kept
    (1, 0, 3, 3, True),
])
def test_finish(tmp_path, code, signal, recorded_before, expect_code, halts):
    results = tmp_path / "results"
    results.mkdir()
    (results / "exitcode").write_text(f"{recorded_before}\n")
    halt = tmp_path / "halt"
    halt.write_text(f"#!/bin/sh\ntouch {tmp_path}/halted\n")
    halt.chmod(0o755)
    env = {**os.environ, "S6_RESULTS_DIR": str(results), "S6_HALT": str(halt),
           "KOKORO_TEST_OPTIONS": str(tmp_path / "options")}
    (tmp_path / "options").write_text("")
    (tmp_path / "bashio").write_text(BASHIO_STUB)
    subprocess.run(["bash", "-c", 'source "$1"; source "$2" "$3" "$4"', "finish", str(tmp_path / "bashio"),
                    str(FINISH), str(code), str(signal)], env=env, check=True, capture_output=True, timeout=10)
    assert int((results / "exitcode").read_text()) == expect_code
    assert (tmp_path / "halted").exists() == halts


# -- health check and discovery ---------------------------------------------------
async def healthcheck(port: int, timeout: str = "5", extra_env: dict | None = None, args=()) -> int:
    env = {k: v for k, v in os.environ.items() if k != "WYOMING_KOKORO_HEARTBEAT"}
    env.update({"KOKORO_HEALTH_PORT": str(port), "KOKORO_HEALTH_TIMEOUT": timeout, **(extra_env or {})})
    process = await asyncio.create_subprocess_exec("bash", str(HEALTHCHECK), *args, env=env,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(process.wait(), 10)


async def test_healthcheck_passes_on_a_describe_answer(server):
    assert await healthcheck(server.port) == 0


async def test_healthcheck_fails_without_a_wyoming_server():
    assert await healthcheck(free_port()) != 0  # nothing listening

    async def http_server(reader, writer):
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    async def silent(reader, writer):
        await asyncio.sleep(5)

    for answer in (http_server, silent):
        other = await asyncio.start_server(answer, "127.0.0.1", 0)
        try:
            assert await healthcheck(other.sockets[0].getsockname()[1], timeout="0.5") != 0
        finally:
            other.close()


async def test_healthcheck_passes_while_start_up_makes_progress(tmp_path):
    port = free_port()  # nothing listening yet: the server is still downloading
    beat = tmp_path / "heartbeat"
    env = {"WYOMING_KOKORO_HEARTBEAT": str(beat)}
    assert await healthcheck(port, extra_env=env, args=["--starting-ok"]) != 0  # no heartbeat yet
    beat.write_text("downloading kokoro-v1.0.onnx\n")
    assert await healthcheck(port, extra_env=env, args=["--starting-ok"]) == 0
    assert await healthcheck(port, extra_env=env) != 0  # discovery's strict form still waits
    old = time.time() - 300
    os.utime(beat, (old, old))  # a stalled download stops beating
    assert await healthcheck(port, extra_env=env, args=["--starting-ok"]) != 0


def test_download_progress_beats_the_heartbeat(tmp_path, monkeypatch):
    from wyoming_kokoro import heartbeat
    from wyoming_kokoro.progress import Progress

    beat = tmp_path / "heartbeat"
    monkeypatch.setenv(heartbeat.ENV, str(beat))
    monkeypatch.setattr(heartbeat, "_last", float("-inf"))
    progress = Progress("kokoro-v1.0.onnx", is_tty=False)
    progress.begin(1000)
    progress.advance(10)
    assert "downloading kokoro-v1.0.onnx" in beat.read_text()


async def test_discovery_waits_for_describe_then_announces(service, tmp_path):
    port = free_port()
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    (fakebin / "hostname").write_text("#!/bin/sh\necho a0d7b954-kokoro\n")
    (fakebin / "hostname").chmod(0o755)
    (tmp_path / "options").write_text("")
    (tmp_path / "bashio").write_text(BASHIO_STUB)
    env = {**os.environ, "PATH": f"{fakebin}:{HEALTHCHECK.parent}:{os.environ['PATH']}",
           "KOKORO_TEST_OPTIONS": str(tmp_path / "options"), "KOKORO_HEALTH_PORT": str(port),
           "KOKORO_TEST_DISCOVERY": str(tmp_path / "discovery")}
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", 'source "$1"; source "$2"', "discovery", str(tmp_path / "bashio"), str(DISCOVERY),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    server = None
    try:
        await asyncio.sleep(1.2)
        assert process.returncode is None and not (tmp_path / "discovery").exists()  # still waiting
        server = AsyncTcpServer("127.0.0.1", port)
        await server.start(partial(KokoroEventHandler, service))
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if server is not None:
            await server.stop()
    assert process.returncode == 0, stderr.decode()
    kind, payload = (tmp_path / "discovery").read_text().splitlines()
    assert kind == "wyoming"
    assert json.loads(payload) == {"uri": "tcp://a0d7b954-kokoro:10210"}
    assert "Successfully sent discovery" in stderr.decode()


# -- Dockerfile -------------------------------------------------------------------
def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip()]


def dockerfile_stages(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(stage name, its instructions)] in order."""
    stages: list[tuple[str, list]] = []
    for instruction, args in instructions(path):
        if instruction == "FROM":
            stages.append((args.split()[-1] if " AS " in args.upper() else "", []))
        elif stages:
            stages[-1][1].append((instruction, args))
    return stages


def of(parsed, name: str) -> list[str]:
    return [args for instruction, args in parsed if instruction == name]


def docker_ignored(path: str) -> bool:
    """.dockerignore semantics that matter here: the last matching rule wins, a
    rule matching a parent directory matches everything inside it."""
    from fnmatch import fnmatch

    ignored = False
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for rule in (ROOT / ".dockerignore").read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").removeprefix("**/")
        if any(fnmatch(prefix, pattern) or fnmatch(Path(prefix).name, pattern) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_both_stages_install_this_source_and_copy_only_the_context():
    for name, parsed in dockerfile_stages(ROOT / "Dockerfile"):
        runs = " ".join(of(parsed, "RUN"))
        assert "install-server" in runs and "wyoming-kokoro==" not in runs, name  # never from PyPI
        assert ".onnx" not in runs and "wyoming_kokoro.download" not in runs, name  # model fetched at start
        sources = [s for copy in of(parsed, "COPY") for s in shlex.split(copy)[:-1]]
        assert {"wyoming_kokoro", "pyproject.toml", "README.md", "scripts/install-server"} <= set(sources), name
        for source in sources:
            assert (ROOT / source).exists() and not docker_ignored(source), source
        (health,) = of(parsed, "HEALTHCHECK")
        assert json.loads(health.split("CMD", 1)[1]) == ["kokoro-healthcheck", "--starting-ok"]
        env = " ".join(of(parsed, "ENV"))
        assert "WYOMING_KOKORO_HEARTBEAT=" in env and "XDG_CACHE_HOME=/data/cache" in env
    assert docker_ignored("tests") and docker_ignored(".git") and docker_ignored("kokoro-v1.0.onnx")
    assert docker_ignored(".venv") and not docker_ignored("wyoming_kokoro/__main__.py")


def test_addon_stage():
    parsed = dict(dockerfile_stages(ROOT / "Dockerfile"))["addon"]
    assert "BUILD_VERSION" in of(parsed, "ARG")
    assert "addon/rootfs /" in of(parsed, "COPY")
    assert not of(parsed, "USER") and not of(parsed, "ENTRYPOINT")  # the base's s6 /init runs as root


def standalone():
    return dict(dockerfile_stages(ROOT / "Dockerfile"))["standalone"]


def test_standalone_stage():
    parsed = standalone()
    (user,) = of(parsed, "USER")
    assert user not in ("root", "0")
    assert of(parsed, "VOLUME") == ["/data"] and of(parsed, "EXPOSE") == ["10210"]
    assert json.loads(of(parsed, "CMD")[0]) == []


def standalone_config(*docker_run_args: str, env: dict | None = None, monkeypatch=None) -> tuple:
    """The server's view of `docker run IMAGE ARGS`: ENTRYPOINT + CMD args, WYOMING_KOKORO_ARGS."""
    entrypoint = json.loads(of(standalone(), "ENTRYPOINT")[0])
    assert entrypoint[0] == "wyoming-kokoro"  # the server itself: no download step before it
    args = cli.parse_args([*entrypoint[1:], *docker_run_args])
    return args, cli.resolve_config(args)


def test_standalone_honours_the_users_flags(monkeypatch):
    monkeypatch.delenv("WYOMING_KOKORO_ARGS", raising=False)
    args, config = standalone_config()
    assert args.uri == "tcp://0.0.0.0:10210" and config["data_dirs"] == ["/data"] and config["download"]["enabled"]
    args, config = standalone_config("--model", "/m/mine.onnx", "--voices", "/m/v.bin", "--variant", "int8",
                                     "--download-url-base", "http://mirror.lan/kokoro", "--local-files-only",
                                     "--voice", "bf_emma", "--http", "0.0.0.0:8080")
    assert config["model"] == {"path": "/m/mine.onnx", "variant": "int8"} and config["voices"] == "/m/v.bin"
    assert config["download"]["url_base"] == "http://mirror.lan/kokoro" and not config["download"]["enabled"]
    assert config["voice"] == "bf_emma" and args.http == ("0.0.0.0", 8080)
    monkeypatch.setenv("WYOMING_KOKORO_ARGS", "--variant fp16 --speed 1.5")
    _, config = standalone_config()
    assert config["model"]["variant"] == "fp16" and config["speed"] == 1.5


def test_compose_file():
    compose = load(ROOT / "docker-compose.yml")
    (service,) = compose["services"].values()
    assert service["build"] == {"context": ".", "target": "standalone"} and "10210:10210" in service["ports"]
    volume, target = service["volumes"][0].split(":")
    assert target == "/data" and volume in compose["volumes"]
    cli.parse_args(service["command"])


# -- zeroconf ---------------------------------------------------------------------
class FakeAsyncZeroconf:
    registered: list = []

    async def async_register_service(self, info) -> None:
        FakeAsyncZeroconf.registered.append(info)


async def test_zeroconf_registers_the_wyoming_port(model_dir, monkeypatch):
    import wyoming.zeroconf

    monkeypatch.setattr(wyoming.zeroconf, "AsyncZeroconf", FakeAsyncZeroconf)
    FakeAsyncZeroconf.registered = []
    service = cli.build_service(make_config(model_dir))
    port = free_port()
    task = asyncio.create_task(cli.serve(f"tcp://127.0.0.1:{port}", service, zeroconf="kitchen"))
    try:
        for _ in range(100):
            if FakeAsyncZeroconf.registered:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (info,) = FakeAsyncZeroconf.registered
    assert info.type == "_wyoming._tcp.local."
    assert info.name == "kitchen._wyoming._tcp.local."
    assert info.port == port
    assert info.parsed_addresses() == ["127.0.0.1"]


async def test_zeroconf_finds_the_lan_address_for_a_wildcard_bind(monkeypatch):
    import wyoming.zeroconf

    seen = {}

    class Recorder:
        def __init__(self, port, name=None, host=None):
            seen.update(port=port, name=name, host=host)

        async def register_server(self):
            seen["registered"] = True

    monkeypatch.setattr(wyoming.zeroconf, "HomeAssistantZeroconf", Recorder)
    await cli.start_zeroconf(AsyncTcpServer("0.0.0.0", 10210), "kokoro")
    assert seen == {"port": 10210, "name": "kokoro", "host": None, "registered": True}


def test_zeroconf_flag_defaults_to_kokoro():
    assert cli.parse_args(["--zeroconf"]).zeroconf == "kokoro"
    assert cli.parse_args(["--zeroconf", "living-room"]).zeroconf == "living-room"
    assert cli.parse_args([]).zeroconf is None


def test_zeroconf_without_the_package_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "zeroconf", None)  # import zeroconf -> ImportError
    assert cli.main(["--zeroconf", "--model", "/nonexistent.onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'wyoming-kokoro[zeroconf]'" in err


def test_zeroconf_needs_tcp(capsys):
    assert cli.main(["--zeroconf", "--uri", "stdio://"]) == 2
    assert "--zeroconf needs a tcp:// --uri" in capsys.readouterr().err
