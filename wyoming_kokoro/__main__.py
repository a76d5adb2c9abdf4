"""Command line entry point: `wyoming-kokoro` / `python -m wyoming_kokoro`.

Follows wyoming-piper's conventions: --uri, --data-dir, --voice, --debug,
extra arguments from an environment variable (WYOMING_KOKORO_ARGS). The
command line overrides the YAML config. Every user mistake (bad flag, bad
config value, missing or wrong model file) ends with one readable line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from wyoming.event import async_get_stdin, async_get_stdout
from wyoming.server import AsyncServer, AsyncStdioServer, AsyncTcpServer

from . import __version__
from .cache import AudioCache
from .config import ConfigError, cache_dir, load_file, merge, samples_per_chunk, validate
from .costmodel import CostModel
from .cpus import physical_cores
from .engine import Engine, EngineSettings
from .handler import KokoroEventHandler
from .http_api import HttpSettings, parse_address, start_http
from .http_server import HttpLimits, fd_budget, open_fds, raise_fd_limit
from .infer import KokoroModel, ModelError, SessionOptions, release_large_buffers_to_os
from .model_files import locate_model_files
from .phonemize import MISAKI_LANGUAGES, get_g2p, misaki_available
from .protocol import Limits
from .scheduler import Scheduler
from .service import Service, ServiceSettings
from .stopping import Stopped, exit_deadline, exit_now, pending_stop, restore_signals, startup_signals
from .text import pipeline_from_config
from .voices import VoiceCatalog, load_voices

_LOGGER = logging.getLogger("wyoming_kokoro")

ENV_ARGS = "WYOMING_KOKORO_ARGS"


class UsageError(Exception):
    """Reported as one line and exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wyoming-kokoro", description="Kokoro-82M TTS over the Wyoming protocol")
    parser.add_argument("--uri", default="tcp://0.0.0.0:10210",
                        help="tcp://HOST:PORT, unix://PATH or stdio:// (default: %(default)s)")
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data-dir", action="append", default=[], type=Path,
                        help="directory with model files (repeatable)")
    parser.add_argument("--model", type=Path, help="Kokoro ONNX model file (used as given)")
    parser.add_argument("--voices", type=Path, help="Kokoro voices file (.npz / voices-v1.0.bin)")
    parser.add_argument("--variant", help="model variant to find or download: fp32 (default), fp16, int8")
    parser.add_argument("--download-dir", type=Path, help="where missing model files are downloaded "
                        "(default: the first --data-dir)")
    parser.add_argument("--download-url-base", metavar="URL", help="download from this mirror instead of "
                        "the kokoro-onnx release")
    parser.add_argument("--local-files-only", action="store_true", help="never download: use the files "
                        "found in the data dirs (or --model/--voices), else stop naming what is missing")
    parser.add_argument("--voice", help="default voice (default: af_heart)")
    parser.add_argument("--speed", type=float, help="speaking rate, 0.5-2.0 (default: 1.0)")
    parser.add_argument("--no-streaming", action="store_true", help="do not advertise streaming")
    parser.add_argument("--zeroconf", nargs="?", const="kokoro", metavar="NAME",
                        help="announce _wyoming._tcp over mDNS as NAME (default: kokoro); "
                             "needs the zeroconf extra")
    parser.add_argument("--http", type=parse_address, metavar="HOST:PORT",
                        help="also serve /health, /metrics and OpenAI /v1/audio/speech over HTTP")
    parser.add_argument("--debug", action="store_true", help="log DEBUG messages")
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = list(sys.argv[1:] if argv is None else argv)
    extra = os.environ.get(ENV_ARGS, "").strip()
    if extra:
        try:
            args = shlex.split(extra) + args
        except ValueError as error:
            raise UsageError(f"{ENV_ARGS}: {error}") from None
    return build_parser().parse_args(args)


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
    """YAML file (if any) with command-line values on top, validated."""
    raw: dict[str, Any] = load_file(args.config) if args.config else {}
    source = str(args.config) if args.config else "command line"
    overrides: dict[str, Any] = {}
    if args.voice is not None:
        overrides["voice"] = args.voice
    if args.speed is not None:
        overrides["speed"] = args.speed
    if args.no_streaming:
        overrides["streaming"] = False
    if args.data_dir:
        overrides["data_dirs"] = [str(d) for d in args.data_dir]
    if args.model is not None or args.variant is not None:
        overrides["model"] = {k: v for k, v in (("path", args.model and str(args.model)),
                                                 ("variant", args.variant)) if v is not None}
    if args.download_dir is not None or args.download_url_base is not None:
        overrides["download"] = {k: v for k, v in (("dir", args.download_dir and str(args.download_dir)),
                                                    ("url_base", args.download_url_base)) if v is not None}
    if args.local_files_only:
        overrides.setdefault("download", {})["enabled"] = False
    if args.voices is not None:
        overrides["voices"] = str(args.voices)
    return validate(merge(raw, overrides), source)


def session_options(config: dict[str, Any]) -> SessionOptions:
    threads = config["threads"]
    arena = config["arena"]
    return SessionOptions(
        providers=config["provider"],
        intra_op_threads=threads["intra_op"] or physical_cores(),
        arena=arena["enabled"],
        arena_max_mb=arena["max_mb"],
        arena_shrink=arena["shrink"],
        provider_timeout=config["provider_timeout"],
        optimized_dir=cache_dir(config) if config["optimize"] else None,
        extra={"session.intra_op.allow_spinning": "1" if threads["spinning"] else "0"},
    )


def warmup_lengths(config: dict[str, Any]) -> list[int]:
    """Token counts of warm-up calls, most useful first.

    A first segment's size (what listeners wait for) comes first, then a
    later segment's (it gives the cost model its slope), then a short one;
    long calls gain little (the arena is shrunk after each call anyway).
    """
    first, most = config["segment"]["first_tokens"], config["segment"]["max_tokens"]
    return [first, min(4 * first, most), max(4, first // 3)]


WARMUP_BUDGET = 6.0
"""Seconds warm-up may take: Describe must be answered within 15 s of start."""


def build_service(config: dict[str, Any]) -> Service:
    started = time.monotonic()
    model_path, voices_path = locate_model_files(config)
    hidden = tuple(lang for lang in MISAKI_LANGUAGES if not misaki_available(lang))
    voices = VoiceCatalog(load_voices(voices_path, hide_languages=hidden), config["data_dirs"],
                          config["blends"], config["custom_voice_language"], hide_languages=hidden)
    if config["voice"] not in voices:
        raise ConfigError(f"voice: {config['voice']!r} is not in {voices_path} "
                          f"(have e.g. {', '.join(list(voices)[:5])})")
    for language in {voice.language.espeak for voice in voices.values()}:
        get_g2p(language)  # load espeak-ng / misaki now, not in the first request
    model = KokoroModel(model_path, session_options(config))
    timings: list[tuple[int, float]] = []
    if config["warmup"]:
        started_warmup = time.monotonic()
        timings = model.warm_up(warmup_lengths(config), voices[config["voice"]].style(32), WARMUP_BUDGET)
        _LOGGER.info("Warmed up in %.1f s (%s)", time.monotonic() - started_warmup,
                     ", ".join(f"{n} tokens {s * 1000:.0f} ms" for n, s in timings))
    seg = config["segment"]
    settings = EngineSettings(
        sentence_silence=config["sentence_silence"], clause_silence=seg["clause_silence"],
        first_seconds=seg["first_seconds"], first_max_seconds=seg["first_max_seconds"],
        first_tokens=seg["first_tokens"], growth=seg["growth"], max_tokens=seg["max_tokens"],
        cost=CostModel(timings),
    )
    if timings:
        _LOGGER.info("A call costs %s (learnt further from every call); first segment aims at %d tokens, "
                     "up to %d to end on punctuation", settings.cost.describe(), *settings.first_sizes())
    engine = Engine(
        model, voices, Scheduler(config["workers"]),
        settings,
        prepare=pipeline_from_config(config).phonemes,
        cache=AudioCache(int(config["cache"]["max_mb"] * 1024 * 1024), config["cache"]["max_phonemes"])
        if config["cache"]["enabled"] else None,
    )
    service = Service(engine, ServiceSettings(
        default_voice=config["voice"], speed=config["speed"], streaming=config["streaming"],
        samples_per_chunk=samples_per_chunk(config, config["output_rate"]), max_text_chars=config["max_text_chars"],
        max_connections=config["limits"]["max_connections"], idle_timeout=config["limits"]["idle_timeout"],
        write_timeout=config["limits"]["write_timeout"], allowed_clients=tuple(config["allowed_clients"]),
        limits=Limits(max_line_bytes=config["limits"]["max_line_bytes"],
                      max_data_bytes=config["limits"]["max_data_bytes"],
                      max_payload_bytes=config["limits"]["max_payload_bytes"]),
        output_rate=config["output_rate"], max_syntheses=config["limits"]["max_syntheses"],
        http_syntheses=config["limits"]["http_syntheses"] or max(1, config["workers"] - 1),
        http_wait=config["limits"]["http_wait"],
    ))
    _LOGGER.info("Ready: %d voices, model %s on %s, started in %.1f s", len(voices), model_path.name,
                 model.provider, time.monotonic() - started)
    return service


def check_zeroconf(args: argparse.Namespace) -> None:
    """Fail before the slow model load if --zeroconf cannot work."""
    if args.zeroconf is None:
        return
    if not args.uri.startswith("tcp://"):
        raise UsageError("--zeroconf needs a tcp:// --uri")
    try:
        import zeroconf  # noqa: F401, PLC0415 - optional extra
    except ImportError:
        raise UsageError("--zeroconf needs the zeroconf package: pip install 'wyoming-kokoro[zeroconf]'") from None


WILDCARD_HOSTS = ("", "0.0.0.0", "::")


async def start_zeroconf(server: AsyncTcpServer, name: str) -> None:
    """Announce _wyoming._tcp.local. so Home Assistant discovers us, as wyoming-piper does.

    A wildcard bind address is no address to announce: wyoming then finds
    the LAN address of the default route itself.
    """
    from wyoming.zeroconf import HomeAssistantZeroconf  # noqa: PLC0415 - optional extra

    host = None if server.host in WILDCARD_HOSTS else server.host
    await HomeAssistantZeroconf(port=server.port, name=name, host=host).register_server()
    _LOGGER.info("Zeroconf: announced %s._wyoming._tcp.local. on port %d", name, server.port)


def http_settings(config: dict[str, Any], fd_limit: int, fds_in_use: int = 0) -> HttpSettings:
    """The HTTP API's settings; its connection cap never eats into the
    descriptors the Wyoming port's connections need (http_server.fd_budget)."""
    limits = config["limits"]
    cap = fd_budget(limits["http_connections"], limits["max_connections"], fd_limit, fds_in_use)
    return HttpSettings(openai_voices=config["openai_voices"],
                        limits=HttpLimits(cap, limits["http_read_timeout"], tuple(config["allowed_clients"])))


async def serve(uri: str, service: Service, http: tuple[str, int] | None = None,
                zeroconf: str | None = None, http_options: HttpSettings | None = None) -> None:
    """Serve until SIGTERM / SIGINT, then stop accepting and cancel in-flight work."""
    server = AsyncServer.from_uri(uri)
    factory = partial(KokoroEventHandler, service)
    runner = None
    try:
        if isinstance(server, AsyncStdioServer):
            _LOGGER.info("Serving on %s", uri)
            await serve_stdio(factory)  # until stdin closes (or SIGTERM)
            return
        await server.start(factory)  # listening from here on
        if http is not None:  # started after warm-up, so /health is 200 from its first answer
            runner = await start_http(service, *http, settings=http_options)
        if zeroconf is not None and isinstance(server, AsyncTcpServer):
            await start_zeroconf(server, zeroconf)
        _LOGGER.info("Serving on %s", uri)
        await _until_stop_signal()
        _LOGGER.info("Stopping: ending open audio streams, closing connections")
        exit_deadline()
        service.stopping = True  # refuse new connections from here on
        await server.stop()  # each connection: error + audio-stop for open audio, within a second
    finally:
        if runner is not None:
            await runner.cleanup()
        service.engine.scheduler.close()


async def serve_stdio(factory: Any) -> None:
    """Standard input and output as one client, read with the same size
    limits and bad-line recovery as TCP clients (wyoming's stdio server
    trusts the sizes it is sent and stops at the first bad line)."""
    handler = factory(await async_get_stdin(), await async_get_stdout())
    handler.idle_timeout = handler.write_timeout = None
    session = asyncio.create_task(handler.run())
    stop = asyncio.create_task(_until_stop_signal())
    await asyncio.wait({session, stop}, return_when=asyncio.FIRST_COMPLETED)
    if stop.done():
        exit_deadline()
        await handler.stop()  # open audio ends with an error and audio-stop
    for task in (session, stop):
        task.cancel()
    await asyncio.gather(session, stop, return_exceptions=True)


async def _until_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # e.g. Windows event loops
            pass
    if pending_stop():  # came after start-up, before these handlers
        stop.set()
    await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    release_large_buffers_to_os()  # before ONNX Runtime allocates anything
    try:
        try:
            with startup_signals():  # a stop during download / optimisation / warm-up works too
                started = _start(argv)
        except Stopped as stopped:
            _LOGGER.info("Stopped by %s during start-up", stopped)
            return 0
        if isinstance(started, int):
            return started
        return _serve_until_stopped(*started)
    finally:
        restore_signals()


def _start(argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict[str, Any], Service] | int:
    """Everything before serving; an exit code if it cannot be done."""
    try:
        args = parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        config = resolve_config(args)
        AsyncServer.from_uri(args.uri)  # check the URI before the slow model load
        check_zeroconf(args)
        service = build_service(config)
    except (UsageError, ConfigError, ModelError) as error:
        print(f"wyoming-kokoro: error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # bad URI, unreadable voices file
        print(f"wyoming-kokoro: error: {error}", file=sys.stderr)
        return 2
    return args, config, service


def _serve_until_stopped(args: argparse.Namespace, config: dict[str, Any], service: Service) -> int:
    """Serve (the event loop handles stop signals from here on)."""
    try:
        options = http_settings(config, raise_fd_limit(), open_fds())
        asyncio.run(serve(args.uri, service, http=args.http, zeroconf=args.zeroconf, http_options=options))
    except KeyboardInterrupt:
        pass
    except OSError as error:  # e.g. address already in use
        print(f"wyoming-kokoro: error: {args.uri}: {error.strerror or error}", file=sys.stderr)
        return 2
    if service.engine.scheduler.busy:  # a model call is still running: do not wait for it
        exit_now("Stopped; the model call in progress was abandoned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
