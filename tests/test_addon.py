"""Home Assistant add-on, Docker image and zeroconf: what can be checked without Docker.

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
import subprocess
import sys
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
from wyoming_kokoro.download import VARIANTS
from wyoming_kokoro.handler import KokoroEventHandler
from wyoming_kokoro.model_files import MODEL_NAMES
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
# the module it was asked to run; the download "finds" the variant's files.
name="$1"; [[ "$1" == "-m" ]] && name="$2"
printf '%s\0' "$@" > "${KOKORO_TEST_CALLS}/${name}"
if [[ "${name}" == "wyoming_kokoro.download" ]]; then
    variant=fp32
    while (( $# )); do [[ "$1" == "--variant" ]] && variant="$2"; shift; done
    case "${variant}" in fp32) model=kokoro-v1.0.onnx ;; *) model="kokoro-v1.0.${variant}.onnx" ;; esac
    echo "/data/${model}"
    echo "/data/voices-v1.0.bin"
    exit "${KOKORO_TEST_DOWNLOAD_RC:-0}"
fi
"""


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def addon_config() -> dict:
    return load(ROOT / "config.yaml")


# -- config.yaml ------------------------------------------------------------------
def parse_schema(spec: str):
    """An add-on schema type -> (kind, detail): list choices or numeric range."""
    if match := re.fullmatch(r"list\((.*)\)", spec):
        return "list", match.group(1).split("|")
    if match := re.fullmatch(r"(int|float)\(([^,]*),([^)]*)\)", spec):
        return match.group(1), (float(match.group(2)), float(match.group(3)))
    return spec, None


def schema_accepts(spec: str, value) -> bool:
    kind, detail = parse_schema(spec)
    if kind == "list":
        return value in detail
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "float"):
        numeric = isinstance(value, int if kind == "int" else (int, float)) and not isinstance(value, bool)
        return numeric and detail[0] <= value <= detail[1]
    raise AssertionError(f"schema type {spec!r} not handled by this test")


def test_addon_metadata_follows_the_piper_addon(addon_config):
    c = addon_config
    assert c["slug"] == "kokoro" and c["name"] and c["description"] and c["url"].startswith("https://")
    assert c["arch"] == ["amd64", "aarch64"]
    assert c["init"] is False
    assert c["discovery"] == ["wyoming"]
    assert c["ports"] == {"10210/tcp": None}
    assert c["map"] == ["share"]
    assert c["backup_exclude"] == ["*.onnx"]
    assert c["watchdog"] == "tcp://[HOST]:[PORT:10210]"


def test_options_and_schema_agree(addon_config):
    options, schema = addon_config["options"], addon_config["schema"]
    assert set(options) == set(schema)
    assert set(options) == {"voice", "speed", "model_variant", "chunk_profile", "threads", "arena_max_mb",
                            "sentence_silence", "normalize", "debug_logging"}
    for key, value in options.items():
        assert schema_accepts(schema[key], value), f"default of {key} ({value!r}) fails {schema[key]}"


def test_option_choices_match_the_server(addon_config):
    schema = addon_config["schema"]
    assert parse_schema(schema["model_variant"])[1] == list(VARIANTS) == list(MODEL_NAMES)
    assert parse_schema(schema["chunk_profile"])[1] == list(CHUNK_PROFILES)
    assert parse_schema(schema["speed"]) == ("float", (0.5, 2.0))
    voices = parse_schema(schema["voice"])[1]
    assert len(voices) == len(set(voices)) == 41
    assert addon_config["options"]["voice"] == "af_heart" == voices[0]
    for name in voices:  # a language espeak-ng can speak; ja/zh need misaki, not shipped
        language, _ = describe(name)
        assert language is not None and language.espeak not in ("ja", "zh"), name
    assert {n for n in VOICE_NAMES if n[0] not in "jz"} <= set(voices)


def test_translations_cover_every_option(addon_config):
    translations = load(ROOT / "translations/en.yaml")
    assert set(translations["configuration"]) == set(addon_config["options"])
    for key, text in translations["configuration"].items():
        assert text["name"] and text["description"], key
    assert set(translations["network"]) == set(addon_config["ports"])


def test_versions_agree(addon_config):
    build = load(ADDON / "build.yaml")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first_release = re.search(r"^## (\S+)", changelog, re.MULTILINE).group(1)
    assert addon_config["version"] == first_release == build["args"]["WYOMING_KOKORO_VERSION"]
    assert build["args"]["WYOMING_KOKORO_VERSION"] == wyoming_kokoro.__version__


def test_build_uses_the_home_assistant_debian_base_for_every_arch(addon_config):
    build = load(ADDON / "build.yaml")
    assert set(build["build_from"]) == set(addon_config["arch"])
    for arch, image in build["build_from"].items():
        assert image.startswith(f"ghcr.io/home-assistant/{arch}-base-debian:")


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


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck():
    result = subprocess.run(["shellcheck", "--severity=style", *map(str, SCRIPTS)],
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
        **(env or {}),
    }
    command = ["bash", "-c", 'source "$1"; source "$2"', "addon", str(tmp_path / "bashio"), str(script)]
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
    download = recorded(tmp_path, "wyoming_kokoro.download")
    argv = recorded(tmp_path, "wyoming_kokoro")
    assert argv[:2] == ["-m", "wyoming_kokoro"] and download[:2] == ["-m", "wyoming_kokoro.download"]
    args = cli.parse_args(argv[2:])
    raw = load(args.config)
    known = {str(k) for k in SCHEMA.schema}
    # `normalize` belongs to the text normaliser's config keys; validate it once the schema has it.
    checked = tmp_path / "checked.yaml"
    checked.write_text(yaml.safe_dump({k: v for k, v in raw.items() if k in known or k != "normalize"}))
    args.config = checked
    return {"args": args, "raw": raw, "config": cli.resolve_config(args), "download": download[2:]}


OBSERVE = {
    "voice": lambda v: v["config"]["voice"],
    "speed": lambda v: v["config"]["speed"],
    "model_variant": lambda v: (v["download"][v["download"].index("--variant") + 1],
                                Path(v["config"]["model"]["path"]).name),
    "chunk_profile": lambda v: v["config"]["chunk_profile"],
    "threads": lambda v: v["config"]["threads"]["intra_op"],
    "arena_max_mb": lambda v: v["config"]["arena"]["max_mb"],
    "sentence_silence": lambda v: v["config"]["sentence_silence"],
    "normalize": lambda v: v["raw"]["normalize"]["enabled"],
    "debug_logging": lambda v: (v["args"].debug, "--debug" in v["download"]),
}
"""Where each add-on option shows up in what the server receives."""

CHANGED = {
    "voice": ("bf_emma", "bf_emma"),
    "speed": (1.25, 1.25),
    "model_variant": ("int8", ("int8", "kokoro-v1.0.int8.onnx")),
    "chunk_profile": ("low-latency", "low-latency"),
    "threads": (3, 3),
    "arena_max_mb": (256, 256),
    "sentence_silence": (0.5, 0.5),
    "normalize": (False, False),
    "debug_logging": (True, (True, True)),
}
"""A non-default value per option, and what the server must then see."""


def test_defaults_reach_the_server(addon_config, tmp_path):
    view = server_view(tmp_path, addon_config["options"])
    args, config = view["args"], view["config"]
    assert args.uri == "tcp://0.0.0.0:10210"
    assert config["voices"] == "/data/voices-v1.0.bin" and config["model"]["path"] == "/data/kokoro-v1.0.onnx"
    assert config["cache_dir"] == "/data/cache"
    assert view["download"][view["download"].index("--download-dir") + 1] == "/data"
    data_dirs = [view["download"][i + 1] for i, a in enumerate(view["download"]) if a == "--data-dir"]
    assert data_dirs == ["/share/kokoro", "/data"]  # custom files in /share/kokoro win
    assert config["threads"]["intra_op"] is None and config["arena"]["max_mb"] is None  # 0: automatic
    assert view["raw"]["normalize"] == {"enabled": True}
    assert not args.debug


@pytest.mark.parametrize("option", sorted(CHANGED))
def test_every_option_reaches_the_server(addon_config, tmp_path, option):
    assert set(CHANGED) == set(OBSERVE) == set(addon_config["options"])
    value, expected = CHANGED[option]
    assert schema_accepts(addon_config["schema"][option], value)
    default = OBSERVE[option](server_view(tmp_path / "default", addon_config["options"]))
    changed = OBSERVE[option](server_view(tmp_path / "changed", {**addon_config["options"], option: value}))
    assert changed == expected and changed != default


def test_failed_download_stops_before_the_server(addon_config, tmp_path):
    result = run_script(RUN, tmp_path, addon_config["options"], {"KOKORO_TEST_DOWNLOAD_RC": "2"}, check=False)
    assert result.returncode != 0
    assert "Could not get the Kokoro model files" in result.stderr
    assert recorded(tmp_path, "wyoming_kokoro") is None


# -- health check and discovery ---------------------------------------------------
async def healthcheck(port: int, timeout: str = "5") -> int:
    env = {**os.environ, "KOKORO_HEALTH_PORT": str(port), "KOKORO_HEALTH_TIMEOUT": timeout}
    process = await asyncio.create_subprocess_exec("bash", str(HEALTHCHECK), env=env,
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


# -- Dockerfiles ------------------------------------------------------------------
def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip()]


def of(parsed, name: str) -> list[str]:
    return [args for instruction, args in parsed if instruction == name]


def test_addon_dockerfile():
    parsed = instructions(ADDON / "Dockerfile")
    assert parsed[0] == ("ARG", "BUILD_FROM") and parsed[1] == ("FROM", "${BUILD_FROM}")
    assert "WYOMING_KOKORO_VERSION" in of(parsed, "ARG")
    (run,) = of(parsed, "RUN")
    assert '"wyoming-kokoro==${WYOMING_KOKORO_VERSION}"' in run
    assert ".onnx" not in run and "download" not in run  # the model is fetched at start, into /data
    assert of(parsed, "COPY") == ["rootfs /"]
    (health,) = of(parsed, "HEALTHCHECK")
    assert health.endswith("CMD kokoro-healthcheck") and "--start-period=" in health


def test_standalone_dockerfile():
    parsed = instructions(ROOT / "Dockerfile")
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", of(parsed, "FROM")[0])
    (user,) = of(parsed, "USER")
    assert user not in ("root", "0")
    assert of(parsed, "VOLUME") == ["/data"] and of(parsed, "EXPOSE") == ["10210"]
    (health,) = of(parsed, "HEALTHCHECK")
    assert health.endswith('CMD ["kokoro-healthcheck"]')
    for copy in of(parsed, "COPY"):
        *sources, _destination = shlex.split(copy)
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not docker_ignored(source), f"{source} is excluded by .dockerignore"
    assert json.loads(of(parsed, "CMD")[0]) == []


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


def test_standalone_entrypoint_downloads_then_serves_with_defaults(tmp_path):
    entrypoint = json.loads(of(instructions(ROOT / "Dockerfile"), "ENTRYPOINT")[0])
    run_env = {**os.environ, "KOKORO_TEST_CALLS": str(tmp_path / "calls")}
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    (tmp_path / "calls").mkdir()
    for name in ("python", "wyoming-kokoro"):
        (fakebin / name).write_text(RECORDER.replace('name="$1"', 'name="$(basename "$0")"'))
        (fakebin / name).chmod(0o755)
    run_env["PATH"] = f"{fakebin}:{os.environ['PATH']}"
    subprocess.run([*entrypoint, "--voice", "bf_emma", "--http", "0.0.0.0:8080"], env=run_env, check=True,
                   capture_output=True, timeout=20)
    download = recorded(tmp_path, "wyoming_kokoro.download")
    assert download[:2] == ["-m", "wyoming_kokoro.download"] and "/data" in download
    args = cli.parse_args(recorded(tmp_path, "wyoming-kokoro"))
    assert args.uri == "tcp://0.0.0.0:10210" and args.data_dir == [Path("/data")]
    assert args.voice == "bf_emma" and args.http == ("0.0.0.0", 8080)  # docker run arguments come last


def test_compose_file():
    compose = load(ROOT / "docker-compose.yml")
    (service,) = compose["services"].values()
    assert service["build"] == "." and "10210:10210" in service["ports"]
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
