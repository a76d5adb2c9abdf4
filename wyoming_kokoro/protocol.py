"""Reading Wyoming events defensively.

wyoming's own reader trusts the peer: it allocates whatever `data_length` or
`payload_length` says, and drops the connection on the first line of bad
JSON. Wyoming has no authentication, so this reader checks every size
before reading, and tells recoverable mistakes (a bad line: answer with an
error and read the next one) from unrecoverable ones (a frame we cannot or
will not read to its end: answer and close, since the stream cannot be
resynchronised).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 64 * 1024
    max_data_bytes: int = 1024 * 1024
    max_payload_bytes: int = 1024 * 1024


class ProtocolError(Exception):
    """A malformed event. fatal: the connection cannot continue."""

    def __init__(self, code: str, text: str, *, fatal: bool) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.fatal = fatal


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError("bad-event", f"{key} must be a non-negative integer", fatal=True)
    if value > limit:
        raise ProtocolError("too-large", f"{key} {value} is over the limit of {limit} bytes", fatal=True)
    return value


def _json(raw: bytes, what: str, *, fatal: bool) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        raise ProtocolError("bad-event", f"{what} is not valid JSON", fatal=fatal) from None


async def _read_line(reader: asyncio.StreamReader, max_bytes: int) -> bytes | None:
    """One header line of at most `max_bytes`, None at end of stream.

    The reader's own buffer limit (64 KiB unless its server chose another)
    is not ours: a longer limit is reached by taking the buffer in pieces,
    a shorter one is checked on the line, so `limits.max_line_bytes` is
    what holds either way.
    """
    line = b""
    while True:
        try:
            line += await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            if not (line + error.partial).strip():
                return None
            raise ProtocolError("bad-event", "connection closed inside an event header", fatal=True) from None
        except asyncio.LimitOverrunError as error:
            if len(line) + error.consumed > max_bytes:
                raise ProtocolError("too-large", f"event header over {max_bytes} bytes", fatal=True) from None
            try:
                line += await reader.readexactly(error.consumed)  # already buffered
            except asyncio.IncompleteReadError:
                raise ProtocolError("bad-event", "connection closed inside an event header", fatal=True) from None
            continue
        if len(line) > max_bytes:
            raise ProtocolError("too-large", f"event header over {max_bytes} bytes", fatal=True)
        return line


async def read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    """The next event, None at end of stream, or ProtocolError."""
    line = await _read_line(reader, limits.max_line_bytes)
    if line is None:
        return None
    if not line.strip():
        raise ProtocolError("bad-event", "empty event line", fatal=False)
    header = _json(line, "event header", fatal=False)
    if not isinstance(header, dict):
        raise ProtocolError("bad-event", "event header must be a JSON object", fatal=False)
    # Sizes are checked, and the data/payload consumed, before anything else is
    # judged, so a rejected event never leaves bytes behind in the stream.
    data_length = _length(header, "data_length", limits.max_data_bytes)
    payload_length = _length(header, "payload_length", limits.max_payload_bytes)
    try:
        data_bytes = await reader.readexactly(data_length) if data_length else b""
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        raise ProtocolError("bad-event", "connection closed inside an event", fatal=True) from None
    event_type = header.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ProtocolError("bad-event", "event has no type", fatal=False)
    data = header.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError("bad-event", f"{event_type}: data must be a JSON object", fatal=False)
    if data_bytes:
        extra = _json(data_bytes, f"{event_type} data", fatal=False)
        if not isinstance(extra, dict):
            raise ProtocolError("bad-event", f"{event_type}: data must be a JSON object", fatal=False)
        data = {**data, **extra}
    return Event(type=event_type, data=data, payload=payload)
