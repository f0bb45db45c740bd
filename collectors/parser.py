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

# What may precede the root element: blanks, processing instructions, comments, one DOCTYPE.
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
# A DOCTYPE with an internal subset: <!DOCTYPE name ... [ ...declarations... ]>
_INTERNAL_SUBSET = re.compile(r"(<!DOCTYPE\b[^\[>]*)\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)
_DECLARATION = re.compile(r"<!(?:ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_CHARREF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
_TEXT_BOMS = ("\ufeff", "\xef\xbb\xbf")  # decoded from UTF-16/32, and UTF-8 read as latin-1
VALID_CHARREF_DIGITS = 8  # more digits than U+10FFFF needs: not a character (and no giant int())
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


def neutralise(data: bytes) -> bytes:
    """The bytes feedparser may see: no DTD internal subset, and no character reference to
    a code point that cannot be a character (`&#xD800;` crashes feedparser's loose parser)."""
    codec = wide_encoding(data) or "latin-1"  # latin-1 round-trips any ASCII-compatible bytes
    text = data.decode(codec, errors="replace")
    safe = replace_bad_charrefs(strip_internal_subset(text))
    return data if safe is text else safe.encode(codec)


def prolog_end(text: str) -> int:
    """Where the prolog ends: after the BOM, blanks, PIs, comments and a DOCTYPE, however long."""
    position = next((len(bom) for bom in _TEXT_BOMS if text.startswith(bom)), 0)
    while item := _PROLOG_ITEM.match(text, position):
        position = item.end()
    return position


def strip_internal_subset(text: str) -> str:
    """Remove a DOCTYPE internal subset from the whole prolog so no entity is ever declared.

    The prolog is scanned item by item (a 70 KB comment before the DOCTYPE changes
    nothing); a declaration left between the prolog and the root element is refused."""
    if "<!" not in text:
        return text
    end = prolog_end(text)
    prolog = _INTERNAL_SUBSET.sub(r"\1>", text[:end])
    root = _ELEMENT_START.search(text, end)
    if _DECLARATION.search(text, end, root.start() if root else len(text)):
        raise FeedParseError("not a feed: DTD declarations outside a well-formed DOCTYPE (entity expansion guard)")
    return text if len(prolog) == end else prolog + text[end:]


def replace_bad_charrefs(text: str) -> str:
    """`&#…;` naming a surrogate, U+0000 or a code point beyond U+10FFFF becomes U+FFFD."""
    if "&#" not in text:
        return text
    changed = _CHARREF.sub(_checked_charref, text)
    return text if changed == text else changed


def _checked_charref(match: re.Match[str]) -> str:
    hex_digits, decimal = match.groups()
    digits = (hex_digits or decimal).lstrip("0") or "0"
    if len(digits) <= VALID_CHARREF_DIGITS:
        value = int(digits, 16 if hex_digits else 10)
        if 0 < value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            return match.group(0)
    return "&#xFFFD;"


def looks_like_markup(data: bytes) -> bool:
    codec = wide_encoding(data)
    start = data[:1024].decode(codec, errors="ignore") if codec else data[:1024].decode("latin-1")
    return start.lstrip("\ufeff\xef\xbb\xbf \t\r\n").startswith("<")


def parse_feed(data: bytes, feed_url: str = "", content_type: str | None = None) -> feedparser.FeedParserDict:
    """Parse feed bytes; raises FeedParseError for non-feeds, warns for broken-but-usable feeds."""
    if not looks_like_markup(data):
        raise FeedParseError("not a feed: no XML markup at the start (binary or plain-text body)")
    safe = neutralise(data)
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
