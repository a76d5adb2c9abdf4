"""Configuration that says what it does (issue 15, items 7, 8 and 12).

The shipped kokoro.yaml lists every key with its default (checked against
the schema, both ways); every config file failure is one line naming the
file; limits.* are enforced; the CPU count follows the affinity mask and
the cgroup quota.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import voluptuous as vol
import yaml
from conftest import make_config, start_server
from test_cli import assert_one_line_error, files, run_cli
from wyoming.event import async_read_event

from wyoming_kokoro.__main__ import build_service
from wyoming_kokoro.config import _MODEL, SCHEMA, ConfigError, load_file, validate
from wyoming_kokoro.cpus import cpu_quota, physical_cores

SHIPPED = Path(__file__).parent.parent / "kokoro.yaml"


def schema_keys(schema, prefix: str = "") -> set[str]:
    """Every key path the schema accepts, nested mappings included."""
    keys = set()
    for key, value in schema.schema.items():
        name = f"{prefix}{key}"
        keys.add(name)
        if name == "model":  # a function accepting a path or this mapping
            value = _MODEL
        if isinstance(value, vol.Schema) and isinstance(value.schema, dict):
            keys |= schema_keys(value, f"{name}.")
    return keys


def file_keys(mapping: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in mapping.items():
        keys.add(f"{prefix}{key}")
        if isinstance(value, dict) and value and key not in ("lexicon", "blends", "openai_voices"):
            keys |= file_keys(value, f"{prefix}{key}.")
    return keys


def test_shipped_config_lists_every_key_with_its_default():
    raw = yaml.safe_load(SHIPPED.read_text())
    assert schema_keys(SCHEMA) - file_keys(raw) == set(), "keys the shipped config does not list"
    assert file_keys(raw) - schema_keys(SCHEMA) == set(), "keys the shipped config has that do nothing"
    assert validate(raw) == validate({}), "the shipped config says 'the values below are the defaults'"


@pytest.mark.parametrize("text,needle", [
    ("cache:\n  max_chars: 120\n", "allowed: enabled, max_mb, max_phonemes"),
    ("threads:\n  inter_op: 2\n", "allowed: intra_op"),
    ("limits:\n  max_line_bytes: 10\n", "limits.max_line_bytes"),
    ("limits:\n  write_timeout: 0\n", "limits.write_timeout"),
    ("blends:\n  loud: 'af_heart:1e307+am_adam:1e307'\n", "blends.loud"),
    ("blends:\n  loud: 'af_heart:1e308+am_adam'\n", "from 0.001 to 1000"),
    ("blends:\n  odd: 5\n", "blends.odd"),
])
def test_config_mistakes_name_the_key(tmp_path, text, needle):
    path = tmp_path / "kokoro.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")) as error:
        validate(load_file(path), str(path))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("content,needle", [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8", id="binary"),
    pytest.param(b"voice: af_heart\x00\x00\x00", "binary", id="NUL bytes"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "config file", id="nested 100000 deep"),
    pytest.param(b"# " + b"x" * (2 * 1024 * 1024), "over 1024 KB", id="2 MB"),
])
def test_unreadable_config_files_are_one_line_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=needle) as error:
        load_file(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_config_from_an_endless_device_is_refused():
    with pytest.raises(ConfigError, match="over 1024 KB"):
        load_file(Path("/dev/zero"))


def test_binary_config_exits_2_with_one_line(model_dir, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(bytes(range(256)))
    assert_one_line_error(run_cli(*files(model_dir), "--config", str(path)), str(path))


def test_blend_overflow_in_config_exits_2_with_one_line(model_dir, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"blends": {"loud": "af_heart:1e307+am_adam:1e307"}}))
    assert_one_line_error(run_cli(*files(model_dir), "--config", str(path)), "blends.loud")


async def test_max_line_bytes_is_enforced_both_ways(model_dir):
    """Smaller than asyncio's 64 KiB buffer limit, and larger than it."""
    for limit, size, refused in ((2048, 3000, True), (200_000, 100_000, False), (65536, 70_000, True)):
        service = build_service(make_config(model_dir, limits={"max_line_bytes": limit}))
        running = await start_server(service)
        try:
            reader, writer = await asyncio.open_connection(running.host, running.port)
            header = {"type": "describe", "data": {"pad": "x" * size}}
            writer.write(json.dumps(header).encode() + b"\n")
            await writer.drain()
            event = await asyncio.wait_for(async_read_event(reader), 10)
            writer.close()
            if refused:
                assert event.type == "error" and event.data["code"] == "too-large", (limit, event)
            else:
                assert event.type == "info", (limit, event)
        finally:
            await running.server.stop()
            service.engine.scheduler.close()


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_machine(root: Path, cores: int, threads_per_core: int = 2) -> None:
    """sysfs topology of one package with `cores` cores of `threads_per_core` CPUs."""
    for cpu in range(cores * threads_per_core):
        topology = f"sys/devices/system/cpu/cpu{cpu}/topology"
        write(root, f"{topology}/physical_package_id", "0\n")
        write(root, f"{topology}/core_id", f"{cpu % cores}\n")


def test_cpu_count_uses_affinity_and_hyperthreads(tmp_path):
    fake_machine(tmp_path, cores=8)  # 16 CPUs
    assert physical_cores(range(16), tmp_path) == 8
    assert physical_cores({0, 8}, tmp_path) == 1  # taskset to two siblings of one core
    assert physical_cores({0, 1, 2}, tmp_path) == 3


@pytest.mark.parametrize("files_,expected", [
    ({"sys/fs/cgroup/cpu.max": "200000 100000\n"}, 2),  # docker --cpus 2, cgroup v2
    ({"sys/fs/cgroup/cpu.max": "150000 100000\n"}, 2),  # --cpus 1.5
    ({"sys/fs/cgroup/cpu.max": "50000 100000\n"}, 1),  # --cpus 0.5: never 0
    ({"sys/fs/cgroup/cpu.max": "max 100000\n"}, 8),  # no limit
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "300000\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 3),
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 8),
    ({"proc/self/cgroup": "0::/docker/abc\n", "sys/fs/cgroup/cpu.max": "max 100000\n",
      "sys/fs/cgroup/docker/cpu.max": "400000 100000\n", "sys/fs/cgroup/docker/abc/cpu.max": "max 100000\n"}, 4),
])
def test_cpu_count_is_capped_by_the_cgroup_quota(tmp_path, files_, expected):
    fake_machine(tmp_path, cores=8)
    for relative, text in files_.items():
        write(tmp_path, relative, text)
    assert physical_cores(range(16), tmp_path) == expected


def test_cpu_count_without_sysfs_reads_cpuinfo(tmp_path):
    blocks = [f"processor\t: {cpu}\nphysical id\t: 0\ncore id\t\t: {cpu // 2}\n" for cpu in range(8)]
    write(tmp_path, "proc/cpuinfo", "\n".join(blocks))
    assert physical_cores(range(8), tmp_path) == 4
    assert physical_cores({0, 1}, tmp_path) == 1
    assert cpu_quota(tmp_path) is None


def alias_bomb(path: str) -> str:
    """YAML whose value at `path` expands to 9**9 strings if walked (a
    billion laughs): loading is cheap (aliases are shared), printing is not."""
    parts = path.split(".")
    lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(parts)]
    indent = "  " * len(parts)
    lines.append(f'{indent}- &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{indent}- &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("key", sorted(schema_keys(SCHEMA)))
def test_alias_bombs_are_refused_at_once_for_every_key(tmp_path, key):
    import signal

    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(key))

    def too_slow(*_):
        raise TimeoutError(f"{key}: validating an alias bomb took over 5 s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(5)
    try:
        with pytest.raises(ConfigError) as error:
            validate(load_file(path), str(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(str(error.value)) < 500
