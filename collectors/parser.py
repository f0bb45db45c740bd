"""Turn untrusted feed bytes into feedparser's structure, or a `FeedParseError`.

feedparser is lenient by design, which is what real feeds need, but it must never see a
DTD internal subset (entity-expansion "billion laughs", external entities reading local
files), and an HTML page or binary junk must be reported as "not a feed" rather than
silently yielding nothing.
"""
from __future__ import annotations

import logging
import re

import feedparser

from newsmon.log import kv

log = logging.getLogger(__name__)

PROLOG_SCAN_CHARS = 64 * 1024
# A DOCTYPE with an internal subset: <!DOCTYPE name ... [ ...declarations... ]>
_INTERNAL_SUBSET = re.compile(r"(<!DOCTYPE[^\[>]*)\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)
_DECLARATION = re.compile(r"<!(?:ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_ELEMENT_START = re.compile(r"<[A-Za-z]")
_HTML_ROOT = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


# Servers routinely label feeds text/html or send no charset; feedparser recovers from both.
BENIGN_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


class FeedParseError(Exception):
    """The bytes are not a usable RSS/Atom feed; ``str(exc)`` is the one-line reason."""


def wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 codec of `data` (by BOM or NUL pattern), None for ASCII-compatible bytes."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            return codec
    if data[:2] == b"\x00<":
        return "utf-16-be"
    if data[:2] == b"<\x00":
        return "utf-16-le"
    return None


def strip_internal_subset(data: bytes) -> bytes:
    """Remove a DOCTYPE internal subset so no entity is ever declared, whatever the encoding."""
    codec = wide_encoding(data) or "latin-1"  # latin-1 round-trips any ASCII-compatible bytes
    text = data.decode(codec, errors="replace")
    head = text[:PROLOG_SCAN_CHARS]  # a DOCTYPE can only precede the root element
    if "<!" not in head:
        return data
    cleaned = _INTERNAL_SUBSET.sub(r"\1>", head, count=1)
    root = _ELEMENT_START.search(cleaned)
    if _DECLARATION.search(cleaned, 0, root.start() if root else len(cleaned)):
        raise FeedParseError("not a feed: DTD declarations outside a well-formed DOCTYPE (entity expansion guard)")
    if cleaned == head:
        return data
    return (cleaned + text[len(head):]).encode(codec)


def looks_like_markup(data: bytes) -> bool:
    codec = wide_encoding(data)
    start = data[:1024].decode(codec, errors="ignore") if codec else data[:1024].decode("latin-1")
    return start.lstrip("\ufeff\xef\xbb\xbf \t\r\n").startswith("<")


def parse_feed(data: bytes, feed_url: str = "", content_type: str | None = None) -> feedparser.FeedParserDict:
    """Parse feed bytes; raises FeedParseError for non-feeds, warns for broken-but-usable feeds."""
    if not looks_like_markup(data):
        raise FeedParseError("not a feed: no XML markup at the start (binary or plain-text body)")
    safe = strip_internal_subset(data)
    headers = {"content-location": feed_url} if feed_url.startswith("http") else {}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(safe, response_headers=headers, resolve_relative_uris=True, sanitize_html=True)
    if parsed.entries:
        if parsed.bozo and not isinstance(parsed.get("bozo_exception"), BENIGN_BOZO):
            log.warning(kv(event="feed-malformed", feed=feed_url, entries=len(parsed.entries),
                           reason=_bozo_reason(parsed)))
        return parsed
    if parsed.version and not parsed.bozo:
        return parsed  # a well-formed feed that currently has no items
    raise FeedParseError(f"not a feed: {_rejection_reason(safe, parsed)}")


def _bozo_reason(parsed: feedparser.FeedParserDict) -> str:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200] if exc else "unknown"


def _rejection_reason(data: bytes, parsed: feedparser.FeedParserDict) -> str:
    codec = wide_encoding(data)
    head = data[:2048].decode(codec or "latin-1", errors="ignore")
    if _HTML_ROOT.search(head):
        return "HTML page, no RSS/Atom root element"
    if not parsed.version:
        return f"no RSS/Atom root element ({_bozo_reason(parsed)})" if parsed.bozo else "no RSS/Atom root element"
    return f"no items ({_bozo_reason(parsed)})"
