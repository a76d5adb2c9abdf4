"""Noise in assistant text: emoji and markdown syntax.

Pictographs have no reading; markdown is kept for its words (links,
emphasis, headings, list items, table cells), its structure turned into
sentence breaks, and fenced code dropped with its contents: code read
aloud is noise, and a spoken answer never depends on it.
"""

from __future__ import annotations

import html
import re

from .context import Ctx

_EMOJI_GLUE_RE = re.compile("[\ufe0e\ufe0f\u200d\u20e3\U000E0020-\U000E007F]")
_EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
    "\u24C2\u3030\u303D\u3297\u3299]+"
)


def rule_emoji(text: str, c: Ctx) -> str:
    """Pictographs have no reading; espeak-ng would spell their names or stall.
    Joiners and variation selectors only glue emoji together, so they go too."""
    return _EMOJI_RE.sub(" ", _EMOJI_GLUE_RE.sub("", text))



_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HR_RE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+\s*)$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)(.*?)(?:\s+#+)?\s*$")
_QUOTE_RE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•‣◦▪●]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
_REF_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_HTML_TAG_RE = re.compile(
    r"</?(?:br|p|div|span|b|i|u|em|strong|sub|sup|code|pre|small|mark|del|ins|s)\b[^>\n]*>",
    re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+[\"'][^\"'\n]*[\"'])?\)")
_LINK_RE = re.compile(r"\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+[\"'][^\"'\n]*[\"'])?\)")
_REF_LINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp)://[^>\s]+|[^>\s@]+@[^>\s@]+)>")
_CODE_RE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_BOLD_STAR_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BOLD_UNDER_RE = re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")
_ITALIC_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDER_RE = re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_SENTENCE_END = frozenset(".!?;:,…。！？।")
_CLOSERS = "\"'”’»)]}"


def _strip_fences(lines: list[str]) -> list[str]:
    """Drop fenced code blocks; a fence never closed runs to the end of the text
    (an assistant's answer that ends inside its code block)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        close = m.group(1)[0] * 3
        j = i + 1
        while j < len(lines) and not lines[j].lstrip().startswith(close):
            j += 1
        out.append("")
        i = j + 1
    return out


def _table_rows(lines: list[str]) -> set[int]:
    """Indices of table rows: pipe-framed lines, and pipe lines around a --- row."""
    rows = {i for i, line in enumerate(lines)
            if line.strip().startswith("|") and line.strip().count("|") >= 2}
    for i, line in enumerate(lines):
        if "|" in line and "-" in line and _TABLE_SEP_RE.match(line):
            rows.add(i)
            if i > 0 and "|" in lines[i - 1]:
                rows.add(i - 1)
            j = i + 1
            while j < len(lines) and "|" in lines[j]:
                rows.add(j)
                j += 1
    return rows


def _inline_markdown(line: str) -> str:
    line = _HTML_TAG_RE.sub(" ", line)
    line = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), line)
    line = _IMAGE_RE.sub(r"\1", line)
    line = _LINK_RE.sub(r"\1", line)
    line = _REF_LINK_RE.sub(r"\1", line)
    line = _AUTOLINK_RE.sub(r"\1", line)
    line = _CODE_RE.sub(lambda m: m.group(2).strip(), line)
    for pattern in (_BOLD_STAR_RE, _BOLD_UNDER_RE, _STRIKE_RE, _ITALIC_STAR_RE, _ITALIC_UNDER_RE):
        line = pattern.sub(r"\1", line)
    line = line.replace("`", "")  # stray backticks are never spoken
    return _ESCAPE_RE.sub(r"\1", line)


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def rule_markdown(text: str, c: Ctx) -> str:
    """Strip markdown syntax, keep its words, and turn line structure into
    sentence breaks so list items and headings do not run together."""
    lines = _strip_fences(text.split("\n"))
    table = _table_rows(lines)
    items: list[tuple[str, bool]] = []  # (text, is_block); "" = paragraph break
    for i, line in enumerate(lines):
        block = False
        if _HR_RE.match(line) or _REF_DEF_RE.match(line):
            items.append(("", False))
            continue
        if i in table:
            if _TABLE_SEP_RE.match(line):
                continue
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            line = ", ".join(_inline_markdown(cell) for cell in cells if cell)
            items.append((line.strip(), True))
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            line, block = heading.group(1), True
        line = _QUOTE_RE.sub("", line)
        bullet = _BULLET_RE.match(line)
        if bullet:
            line, block = line[bullet.end():], True
        items.append((_inline_markdown(line).strip(), block))

    out: list[str] = []
    for i, (line, block) in enumerate(items):
        if not line:
            continue
        nxt = items[i + 1] if i + 1 < len(items) else None
        later = any(t for t, _ in items[i + 1:])
        continues = (nxt is not None and nxt[0] and not nxt[1] and not block
                     and nxt[0][0].islower())
        if later and not continues and not _ends_sentence(line):
            line += "."
        out.append(line)
    return " ".join(out)
