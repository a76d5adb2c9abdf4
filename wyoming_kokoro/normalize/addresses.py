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


def rule_urls(text: str, c: Ctx) -> str:
    """Say web addresses the way people do: no scheme, no "www", no query."""
    assert c.L is not None
    return c.sub(_URL_RE, lambda m: _url_words(m, c.L), text)
