"""E-mail addresses, web addresses, and dotted names said the way people do.

"john.doe@example.com" -> "john dot doe at example dot com"; a URL loses
its scheme, "www" and query. Home Assistant names such as
"light.turn_on" and versions such as "v2.5.1" are read too: a dot inside
a token is a "dot" or "point", never a full stop (which would pause the
voice and end a sentence there).
"""

from __future__ import annotations

import re

from .context import Ctx
from .languages import Lang

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?![\w@])")
_TLDS = (
    "com|org|net|io|dev|app|ai|co|uk|de|fr|es|it|br|eu|gov|edu|info|nl|ch|jp|cn|ru|us|"
    "ca|au|local|lan|tv|xyz|site|online|pt|mx|ar|se|dk|fi|pl|cz|ie|nz|biz|cloud|tech"
)
# Bare domains need a lower-case known TLD, so "end.It" or "e.g." never match.
_URL_RE = re.compile(
    r"(?<![\w@/.-])(?:(?i:https?|ftp)://[^\s<>\"'\])]+|(?i:www)\.[^\s<>\"'\])]+|"
    r"(?:[a-zA-Z0-9][a-zA-Z0-9-]*\.)+(?:" + _TLDS + r")(?::\d{1,5})?(?:/[^\s<>\"'\])]*)?(?![\w@.-]\w))"
)
_URL_TRAIL = ".,;:!?"
_ADDRESS_SEP_RE = re.compile(r"[./\-_:=&+@~]")


def _speak_address(address: str, L: Lang) -> str:
    names = {".": L.w["dot"], "/": L.w["slash"], "-": L.w["dash"], "_": L.w["underscore"],
             ":": L.w["colon"], "=": L.w["equals"], "&": L.w["and"], "+": L.w["plus"],
             "@": L.w["at"], "~": "~"}
    return _ADDRESS_SEP_RE.sub(lambda m: f" {names[m.group()]} ", address)


def rule_emails(text: str, c: Ctx) -> str:
    """john.doe@example.com -> "john dot doe at example dot com"."""
    assert c.L is not None
    return c.sub(_EMAIL_RE, lambda m: _speak_address(m.group(), c.L), text)


def _url_words(m: re.Match[str], L: Lang) -> str | None:
    raw = m.group()
    url = raw.rstrip(_URL_TRAIL)
    trail = raw[len(url):]
    body = re.sub(r"^(?:(?:https?|ftp)://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    body = re.split(r"[?#]", body, maxsplit=1)[0].rstrip("/")
    if not body:
        return None
    return f"{_speak_address(body, L)}{trail}"


_RELEASE_RE = re.compile(
    r"(?P<ctx>\b(?:Home Assistant|HA|[Vv]ersion|[Rr]elease|[Cc]ore|OS|Supervisor|[Uu]pdate)\s+)"
    r"(?P<y>20\d\d)\.(?P<m>\d{1,2})(?:\.(?P<p>\d{1,3}))?(?![\w])(?!\.\d)")
"""Home Assistant's calendar versions: "2024.12" is said "twenty twenty-four point twelve"."""
_VERSION_RE = re.compile(r"(?<![\w.])[vV](?P<n>\d+(?:\.\d+)+)(?![\w])(?!\.\d)")
_DOTTED_NAME_RE = re.compile(
    r"(?<![\w.@/\\-])[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.(?:[a-z0-9]+(?:_[a-z0-9]+)*|[a-z0-9]*_[a-z0-9_]*)){1,3}"
    r"(?![\w@/-])(?!\.\w)")
"""light.turn_on, sensor.living_room_temperature, config.yaml: lower-case words joined by dots."""
_ACRONYM_NUMBER_RE = re.compile(r"(?<![\w.])(?P<a>[A-Z]{1,4})(?P<n>\d+(?:\.\d+)?)(?![\w])(?![.,]\d)")
"""PM2.5, CO2, MP3: the letters, then the number."""


def _release(m: re.Match[str], L: Lang) -> str:
    from .numbers import cardinal, year

    point = L.w["point"] if L.family == "en" else L.w["dot"]
    words = f"{m.group('ctx')}{year(int(m.group('y')), L)} {point} {cardinal(int(m.group('m')), L)}"
    return words + (f" {point} {cardinal(int(m.group('p')), L)}" if m.group("p") else "")


def _version(m: re.Match[str], L: Lang) -> str:
    from .numbers import say_int

    point = L.w["point"] if L.family == "en" else L.w["dot"]
    return f"{L.w['version']} " + f" {point} ".join(say_int(part, L) for part in m.group("n").split("."))


def _dotted_name(m: re.Match[str], L: Lang) -> str | None:
    parts = m.group().split(".")
    if any(len(part) < 2 for part in parts):
        return None  # "e.g", "a.m": abbreviations, not names
    return f" {L.w['dot']} ".join(part.replace("_", " ").strip() for part in parts)


def rule_urls(text: str, c: Ctx) -> str:
    """Say web addresses the way people do (no scheme, no "www", no query),
    and dotted names and versions without a full stop inside them."""
    assert c.L is not None
    L = c.L
    text = c.sub(_URL_RE, lambda m: _url_words(m, L), text)
    text = c.sub(_RELEASE_RE, lambda m: _release(m, L), text)
    text = c.sub(_VERSION_RE, lambda m: _version(m, L), text)
    text = c.sub(_DOTTED_NAME_RE, lambda m: _dotted_name(m, L), text)
    return c.sub(_ACRONYM_NUMBER_RE, lambda m: f"{m.group('a')} {m.group('n')}", text)
