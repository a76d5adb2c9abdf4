"""The command line: errors are one line and exit code 2; stdio and TCP serve."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import free_port, read_until
from wyoming.client import AsyncTcpClient
from wyoming.event import Event, read_event, write_event
from wyoming.info import Describe

PYTHON = sys.executable
CACHE_HOME = tempfile.mkdtemp(prefix="wyoming-kokoro-test-cache-")


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "wyoming_kokoro", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME, **(env or {})})


def files(model_dir: Path) -> list[str]:
    return ["--model", str(model_dir / "kokoro-v1.0.onnx"), "--voices", str(model_dir / "voices-v1.0.bin")]


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args,needles", [
    (["--bogus-flag"], ["--bogus-flag"]),
    (["--speed", "fast"], ["--speed"]),
    (["--speed", "9"], ["speed", "at most 2.0"]),
    (["--uri", "http://x:1"], ["tcp://"]),
])
def test_bad_arguments_exit_2_with_one_line(model_dir, args, needles):
    assert_one_line_error(run_cli(*files(model_dir), *args), *needles)


def test_missing_model_file_names_the_file(tmp_path):
    result = run_cli("--model", str(tmp_path / "nope.onnx"), "--voices", str(tmp_path / "v.bin"))
    assert_one_line_error(result, "nope.onnx")


def test_no_model_anywhere_names_data_dirs(tmp_path):
    # --local-files-only: this test must never start a 310 MB download.
    assert_one_line_error(run_cli("--data-dir", str(tmp_path), "--local-files-only"),
                          "kokoro-v1.0.onnx", "voices-v1.0.bin", str(tmp_path))


def test_not_a_model_is_rejected(model_dir, tmp_path):
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not an onnx file")
    result = run_cli("--model", str(bogus), "--voices", str(model_dir / "voices-v1.0.bin"))
    assert_one_line_error(result, "bogus.onnx")


def test_not_a_voices_file_is_rejected(model_dir, tmp_path):
    bogus = tmp_path / "voices.bin"
    bogus.write_bytes(b"garbage")
    result = run_cli("--model", str(model_dir / "kokoro-v1.0.onnx"), "--voices", str(bogus))
    assert_one_line_error(result, "voices.bin")


def test_unknown_default_voice(model_dir):
    assert_one_line_error(run_cli(*files(model_dir), "--voice", "zz_nobody"), "zz_nobody")


@pytest.mark.parametrize("yaml_text,needles", [
    ("speed: 3\n", ["speed", "at most"]),
    ("arena:\n  max: 10\n", ["arena.max", "allowed: enabled, max_mb, shrink"]),
    ("chunk_profile: turbo\n", ["chunk_profile", "low-latency"]),
    ("threads: {intra_op: 0}\n", ["threads.intra_op"]),
    ("provider: []\n", ["provider"]),
    ("voice: [1\n", ["not valid YAML"]),
])
def test_bad_config_values(model_dir, tmp_path, yaml_text, needles):
    config = tmp_path / "config.yaml"
    config.write_text(yaml_text)
    assert_one_line_error(run_cli(*files(model_dir), "--config", str(config)), *needles)


def test_env_args_are_read(model_dir):
    """WYOMING_KOKORO_ARGS is read (the shipped kokoro.yaml is checked key by key in test_config.py)."""
    result = run_cli(*files(model_dir), env={"WYOMING_KOKORO_ARGS": "--speed 7"})
    assert_one_line_error(result, "speed", "at most 2.0")
    result = run_cli(*files(model_dir), env={"WYOMING_KOKORO_ARGS": "--voice 'unclosed"})
    assert_one_line_error(result, "WYOMING_KOKORO_ARGS")


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip()


def test_stdio_transport(model_dir):
    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--uri", "stdio://", *files(model_dir)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME})
    try:
        write_event(Describe().event(), proc.stdin)
        info = read_event(proc.stdout)
        assert info is not None and info.type == "info"
        write_event(Event("synthesize", {"text": "Over standard input."}), proc.stdin)
        types = []
        while not types or types[-1] != "audio-stop":
            event = read_event(proc.stdout)
            assert event is not None
            types.append(event.type)
        assert types[0] == "audio-start" and "audio-chunk" in types
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_stdio_transport_answers_bad_input_with_errors_and_keeps_serving(model_dir):
    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--uri", "stdio://", *files(model_dir)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME})
    try:
        proc.stdin.write(b"{this is not json\n")
        write_event(Describe().event(), proc.stdin)
        first, second = read_event(proc.stdout), read_event(proc.stdout)
        assert first.type == "error" and second.type == "info"  # the bad line did not end the session
        # A lying size cannot be skipped: refused before anything is allocated, then the end.
        proc.stdin.write(json.dumps({"type": "synthesize", "data_length": 2 ** 31}).encode() + b"\n")
        proc.stdin.flush()
        refusal = read_event(proc.stdout)
        assert refusal.type == "error" and "2147483648" in refusal.data["text"]
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()


def test_tcp_server_process_serves_and_stops_on_sigterm(model_dir, tmp_path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"chunk_profile": "safe", "warmup": True}))
    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{port}",
                             "--config", str(config), *files(model_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME})

    async def talk():
        deadline = time.monotonic() + 30
        while True:
            try:
                async with AsyncTcpClient("127.0.0.1", port) as client:
                    await client.write_event(Event("synthesize", {"text": "Safe chunks."}))
                    return await read_until(client, "audio-stop")
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    try:
        reply = asyncio.run(talk())
        sizes = {len(e.payload) for e in reply.of("audio-chunk")[:-1]}
        assert sizes <= {2400 * 2}  # "safe": 100 ms chunks
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Warmed up" in err
    assert list(Path(CACHE_HOME, "wyoming-kokoro").glob("**/kokoro-v1.0*.onnx"))  # pre-optimised once


def ignoring_sigterm() -> None:
    """Start the child as PID 1 in a container would be: an unhandled SIGTERM is ignored."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_signal_during_synthesis_exits_0_promptly(model_dir, signal_name):
    """In-flight work is cancelled within a bound, the open audio stream is
    closed (error, audio-stop), and the process exits cleanly, also as PID 1."""
    import signal

    port = free_port()
    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{port}",
                             *files(model_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME}, preexec_fn=ignoring_sigterm)

    def start_long_synthesis() -> tuple[socket.socket, object]:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        stream = sock.makefile("rwb")
        write_event(Event("synthesize-start", {}), stream)
        write_event(Event("synthesize-chunk", {"text": "A very long story. " * 500}), stream)
        assert read_event(stream).type == "audio-start"  # synthesis is under way
        return sock, stream

    sock, stream = start_long_synthesis()  # kept open: the signal, not a disconnect, must end it
    try:
        started = time.monotonic()
        proc.send_signal(getattr(signal, signal_name))
        after = []
        while (event := read_event(stream)) is not None:
            after.append(event)
        _, err = proc.communicate(timeout=15)
        assert time.monotonic() - started < 8  # Docker kills at 10
    finally:
        sock.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    types = [e.type for e in after]
    assert types[-2:] == ["error", "audio-stop"], types[-3:]
    assert after[-2].data["code"] == "shutting-down"


def test_sigterm_during_start_up_stops_at_once(tmp_path):
    """A stop while start-up is still downloading (no event loop yet) ends
    the process promptly and cleanly, also as PID 1 (SIGTERM ignored by default)."""
    import signal

    silent = socket.socket()  # a mirror that accepts and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--data-dir", str(tmp_path),
                             "--download-url-base", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME}, preexec_fn=ignoring_sigterm)
    try:
        connection, _ = silent.accept()  # the download has begun
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert time.monotonic() - started < 8  # Docker kills at 10
        connection.close()
    finally:
        silent.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped by SIGTERM during start-up" in err and "Traceback" not in err


def test_start_up_stuck_in_native_code_is_ended_by_the_watchdog():
    """Signal handlers run only between bytecodes; a main thread that does
    not come back (here: one that ignores the stop) is ended after the grace."""
    code = (
        "import logging, signal, sys, time\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "from wyoming_kokoro.stopping import Stopped, startup_signals\n"
        "with startup_signals(grace=0.5):\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(30)\n"
        "    except Stopped:\n"
        "        time.sleep(30)  # stuck: never unwinds\n"
        "sys.exit(3)\n"
    )
    import signal

    proc = subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - started < 10  # the stuck main thread would sleep 30 s
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "did not stop within" in err


def test_sigterm_during_stdio_synthesis_closes_the_audio(model_dir):
    """stdout cannot report when it is closed (no wait_closed): stopping
    must still end the open audio and exit 0 without a traceback."""
    import signal

    proc = subprocess.Popen([PYTHON, "-m", "wyoming_kokoro", "--uri", "stdio://", *files(model_dir)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "XDG_CACHE_HOME": CACHE_HOME})
    try:
        write_event(Event("synthesize", {"text": "A long text to speak. " * 300}), proc.stdin)
        assert read_event(proc.stdout).type == "audio-start"
        proc.send_signal(signal.SIGTERM)
        types = []
        while (event := read_event(proc.stdout)) is not None:
            types.append(event.type)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert types[-2:] == ["error", "audio-stop"], types[-3:]
    assert "Traceback" not in err.decode() and "never retrieved" not in err.decode()


def test_a_second_signal_does_not_interrupt_the_start_up_cleanup():
    code = (
        "import sys, time\n"
        "from wyoming_kokoro.stopping import Stopped, startup_signals\n"
        "with startup_signals(grace=5):\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(30)\n"
        "    except Stopped:\n"
        "        print('cleaning', flush=True)\n"
        "        time.sleep(1)  # cleanup, during which a second SIGTERM arrives\n"
        "        print('cleaned', flush=True)\n"
    )
    import signal

    proc = subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout.readline().strip() == "cleaning"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.strip() == "cleaned" and proc.returncode == 0, err
