"""The HTTP listener, hardened: connection cap, read timeouts, allowed clients.

aiohttp on its own accepts every connection and waits for headers and
bodies as long as a client likes, so 1,100 slow clients once held 1,100
file descriptors, the process ran out of them, and the *Wyoming* port
stopped accepting (Home Assistant lost the server for over a minute). Here:

- at most `max_connections` HTTP connections; one more is answered 503 with
  a JSON error and closed at once, before anything is read;
- a client outside `allowed_clients` is answered 403 and closed at accept,
  as the Wyoming port does;
- headers must arrive within `read_timeout` of connecting (aiohttp's
  keep-alive timer, which also closes idle keep-alive connections); bodies
  are read with the same timeout by the speech handler, and a response
  write that makes no progress for `read_timeout` ends the response (see
  http_api);
- the soft open-file limit is raised to the hard one at start, and the
  HTTP cap is lowered if it would not leave room for the Wyoming
  connections and the server's own files (fd_budget), so HTTP can never
  use the descriptors the Wyoming port needs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

_LOGGER = logging.getLogger(__name__)

RESERVED_FDS = 64
"""Descriptors kept for everything but client connections: the model and
voices files, logs, the ONNX Runtime threads' handles, the event loop
(at least; more if the process already holds more when the cap is set)."""

BACKLOG = 32
"""Listen backlog of the HTTP socket, which is also how many connections
asyncio accepts in one go: a connection over the cap holds a descriptor
until that batch is done, so the batch is part of the budget."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class HttpLimits:
    max_connections: int = 64
    read_timeout: float = 15.0
    allowed_clients: tuple[Network, ...] = ()


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    try:
        import resource  # noqa: PLC0415 - not on Windows
    except ImportError:
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def open_fds() -> int:
    """Descriptors this process holds now (0 where /proc is missing)."""
    import os  # noqa: PLC0415

    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def fd_budget(http_connections: int, wyoming_connections: int, fd_limit: int, in_use: int = 0) -> int:
    """The HTTP cap that leaves the Wyoming port its connections and the
    server its own files (in_use now, plus room to grow), at least 1."""
    reserved = max(RESERVED_FDS, in_use + RESERVED_FDS // 2)
    room = fd_limit - reserved - wyoming_connections - BACKLOG
    return max(1, min(http_connections, room))


def peer_allowed(peer: object, allowed: Sequence[Network]) -> bool:
    """Whether a socket peer (host, port, ...) is inside allowed_clients (empty: everyone)."""
    if not allowed:
        return True
    if not isinstance(peer, tuple) or not peer:
        return True  # a Unix socket: local by definition
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


def _refusal(status: int, reason: str, message: str, code: str) -> bytes:
    body = json.dumps({"error": {"message": message, "type": "server_error" if status >= 500 else
                                 "invalid_request_error", "param": None, "code": code}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n")
    if status == 503:
        head += "Retry-After: 1\r\n"
    return head.encode() + b"\r\n" + body


class _Refuse(asyncio.Protocol):
    """Answers a fixed response without reading the request, and closes."""

    def __init__(self, response: bytes) -> None:
        self.response = response

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.response)  # type: ignore[attr-defined]
        transport.close()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections pass the cap and the allowed-clients check."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, limits: HttpLimits,
                 handler_options: dict) -> None:
        super().__init__(runner, host, port, backlog=BACKLOG)
        self.limits = limits
        self.handler_options = handler_options
        self.refused = 0

    @property
    def connections(self) -> int:
        server = self._runner.server
        return len(server.connections) if server is not None else 0

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner (stopped by cleanup)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self._host, self._port,
                                                backlog=self._backlog, reuse_address=self._reuse_address,
                                                reuse_port=self._reuse_port)

    def _protocol(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        if server is None:
            return _Refuse(_refusal(503, "Service Unavailable", "shutting down", "busy"))
        if len(server.connections) >= self.limits.max_connections:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                _LOGGER.warning("HTTP connection refused: %d connections open (%d refused so far)",
                                self.limits.max_connections, self.refused)
            return _Refuse(_refusal(503, "Service Unavailable",
                                    f"server busy: {self.limits.max_connections} HTTP connections open", "busy"))
        return _VettedHandler(server, self.limits.allowed_clients, loop=asyncio.get_running_loop(),
                              **self.handler_options)


class _VettedHandler(RequestHandler):
    """aiohttp's request handler, refusing peers outside allowed_clients at
    accept, and answering malformed HTTP (bad request line, oversized
    headers, non-HTTP bytes) with a JSON error and one log line, where
    aiohttp would answer plain text and log a traceback per request: a
    scanner must not fill the log."""

    def __init__(self, manager, allowed: tuple[Network, ...], **options) -> None:
        super().__init__(manager, **options)
        self._allowed = allowed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        if not peer_allowed(peer, self._allowed):
            _LOGGER.warning("Refused HTTP client %s: not in allowed_clients", peer[0] if peer else peer)
            transport.write(_refusal(403, "Forbidden", "client is not in allowed_clients",  # type: ignore
                                     "forbidden"))
            transport.close()
            self._manager = None  # never registered: connection_lost has nothing to undo
            return
        super().connection_made(transport)

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # audio already went out: only closing is left
            raise ConnectionError("response already started; closing the connection")
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        text = message.strip().splitlines()[0][:200] if message and message.strip() else reason
        if status >= 500:
            _LOGGER.error("HTTP request from %s failed: %s", request.remote, exc or text)
        else:
            _LOGGER.info("Bad HTTP request from %s: %s", request.remote, text)
        body = {"error": {"message": text, "type": "server_error" if status >= 500 else "invalid_request_error",
                          "param": None, "code": str(status)}}
        response = web.json_response(body, status=status)
        response.force_close()
        return response
