"""Turn untrusted feed bytes into feedparser's structure, or a `FeedParseError`.

feedparser is lenient by design, which is what real feeds need, but it must never see a
DTD internal subset (entity-expansion "billion laughs", external entities reading local
files), and an HTML page or binary junk must be reported as "not a feed" rather than
silently yielding nothing.

Entry HTML is kept as the feed gave it when it is plain markup (`is_plain_markup`: tags of
`PLAIN_TAGS` with harmless attributes, known entities). Nothing in newsmon renders entry HTML
(the live page, alerts and Kibana show titles, outlets and links as text; `html_to_text` reads
the body), and on plain markup feedparser's URI resolver and sanitiser change how the tags are
spelled and where relative links point, never the text, and they would remove nothing unsafe.
They re-parse the HTML in pure Python, about 500 µs of a 4 KB article, so an entry with
anything else (scripts, frames, comments, handlers, unknown tags or entities) is the only one
that goes through them, as it did before.
"""
from __future__ import annotations

import functools
import html.entities
import logging
import re
import xml.sax.expatreader
import xml.sax.xmlreader
from collections.abc import Iterator, MutableMapping
from typing import Any

import feedparser
import feedparser.api
import feedparser.mixin
from feedparser.sanitizer import _HTMLSanitizer, _sanitize_html
from feedparser.urls import resolve_relative_uris

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

# Tags feedparser's sanitiser keeps and html_to_text reads as a space or a line break (never
# dropping their contents), so plain markup made of them reads the same either way.
PLAIN_TAGS = frozenset(
    "a abbr acronym address article b big blockquote br caption center cite code col colgroup dd del dfn dir div dl "
    "dt em figcaption figure font h1 h2 h3 h4 h5 h6 header hr i img ins kbd li ol p pre q s samp section small span "
    "strike strong sub sup table tbody td tfoot th thead time tr tt u ul var".split()
)
PLAIN_END_TAGS = PLAIN_TAGS - {"br", "col", "hr", "img"}  # the sanitiser drops a void element's end tag
# Tags html_to_text reads as a space, not a line break: a start tag the feed left open right
# before one of them (`<a</a>`) is two tags to the sanitiser and one to html_to_text.
INLINE_TAGS = frozenset("a abbr b big cite code em font i q s small span strong sub sup time u".split())
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SPACE = r"[ \t\r\n\f]"
# A value may hold no angle bracket: the two parsers would end the tag at different places.
_ATTRIBUTE = (rf"{_SPACE}++([a-zA-Z_:][-a-zA-Z0-9_:.]*+)"
              rf"""(?:{_SPACE}*+={_SPACE}*+("[^"<>]*+"|'[^'<>]*+'|[^ \t\r\n\f"'<>=`]++))?""")
_START_TAG = re.compile(rf"([a-zA-Z][a-zA-Z0-9]*+)((?:{_ATTRIBUTE})*+){_SPACE}*+/?")
_ATTRIBUTES = re.compile(_ATTRIBUTE)
_END_TAG = re.compile(rf"/([a-zA-Z][a-zA-Z0-9]*+){_SPACE}*+")
# Plain markup is also harmless as it is: no handler, style or other attribute the sanitiser
# would drop, no link but http(s) and relative ones (browsers ignore tabs and line breaks in
# "java\nscript:"), no character reference in a value ("javascript&#58;").
PLAIN_ATTRIBUTES = _HTMLSanitizer.acceptable_attributes - {"style"}
URI_ATTRIBUTES = frozenset(
    "action background cite codebase data dynsrc href longdesc lowsrc poster src usemap".split())
_WEB_LINK = re.compile(r"""["']?https?://""", re.IGNORECASE)
# What follows each `<` up to the next `<` or `>`, and how it ends: `>`, or right before a `<`.
_TAG = re.compile(r"<([^<>]*+)(>|(?=(<)))?")
_OPEN_BEFORE_TAG = re.compile(r"<[a-zA-Z][a-zA-Z0-9]*+</?([a-zA-Z][a-zA-Z0-9]*+)")
_ENTITY = re.compile(r"&(#?[a-zA-Z0-9]*+)(;?)")
_NUMERIC = re.compile(r"#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}")
# The sanitiser spells any other name `&amp;name`, which html_to_text then reads differently.
KNOWN_ENTITIES = frozenset(html.entities.name2codepoint) | {"apos"}
CACHED_TAG_CHARS = 200


class BufferedExpatReader(xml.sax.expatreader.ExpatParser):
    """Python's expat SAX reader, handing over each run of text in one piece. Unbuffered, expat
    splits text at every entity reference and line end, and feedparser pays a Python call for
    each piece: about 120 for a 4 KB article of escaped HTML, a third of its parse."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True


def create_parser() -> xml.sax.xmlreader.XMLReader:
    """This module as a SAX driver: what `xml.sax.make_parser` calls for feedparser."""
    return BufferedExpatReader()


# feedparser asks xml.sax for the first driver of this list that imports (libxml2's by default,
# not installed; expat's is the fallback). Only the collectors use feedparser in this process.
feedparser.api.PREFERRED_XML_PARSERS = [__name__]
# feedparser maps C1 controls to their cp1252 characters with str.translate over every value,
# which looks each character up and raises and clears a KeyError for every one the 27-entry
# table lacks: 80 µs of a 4 KB Persian article. The same table with every other BMP character
# mapped to itself (a few MB, once) translates the same without a miss.
feedparser.mixin._cp1252 = {code: code for code in range(0x10000)} | feedparser.mixin._cp1252


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
    parsed = feedparser.parse(safe, response_headers=headers, resolve_relative_uris=False, sanitize_html=False)
    clean_markup(parsed)
    if parsed.entries:
        if parsed.bozo and not isinstance(parsed.get("bozo_exception"), BENIGN_BOZO):
            log.warning(kv(event="feed-malformed", feed=feed_url, entries=len(parsed.entries),
                           reason=_bozo_reason(parsed)))
        return parsed
    if parsed.version and not parsed.bozo:
        return parsed  # a well-formed feed that currently has no items
    raise FeedParseError(f"not a feed: {_rejection_reason(safe, parsed)}")


def is_plain_markup(markup: str) -> bool:
    """Whether `markup` is plain: feedparser's sanitiser would change how it is spelled, not its text.

    Each distinct tag and entity of `markup` is judged once, and a short tag once per process:
    they repeat within an article and across feeds (one regex over the whole of a 4 KB article
    cost three times as much)."""
    if "<" in markup:
        tags = set(_TAG.findall(markup))
        if not all((_known_tag if len(tag[0]) <= CACHED_TAG_CHARS else _plain_tag)(*tag) for tag in tags):
            return False
        left_open = any(not closed for _, closed, _ in tags)
        if left_open and not all(then.lower() in INLINE_TAGS for then in set(_OPEN_BEFORE_TAG.findall(markup))):
            return False
    return "&" not in markup or all(_plain_entity(*entity) for entity in set(_ENTITY.findall(markup)))


def _plain_tag(body: str, closed: str, open_before: str) -> bool:
    """A start tag of PLAIN_TAGS with well-formed, harmless attributes, an end tag of
    PLAIN_END_TAGS, or an inline start tag left open right before another tag."""
    if not closed:
        return bool(open_before) and body.lower() in INLINE_TAGS
    start = _START_TAG.fullmatch(body)
    if start:
        return start.group(1).lower() in PLAIN_TAGS and all(
            _plain_attribute(name.lower(), value) for name, value in _ATTRIBUTES.findall(start.group(2)))
    end = _END_TAG.fullmatch(body)
    return bool(end) and end.group(1).lower() in PLAIN_END_TAGS


# Common tags judged once per process; a long one (a hostile feed's) is not kept.
_known_tag = functools.lru_cache(maxsize=4096)(_plain_tag)


def _plain_attribute(name: str, value: str) -> bool:
    if name not in PLAIN_ATTRIBUTES or "&" in value.replace("&amp;", ""):
        return False
    return name not in URI_ATTRIBUTES or ":" not in value or bool(_WEB_LINK.match(value))


def _plain_entity(name: str, semicolon: str) -> bool:
    return bool(semicolon) and (name in KNOWN_ENTITIES or bool(_NUMERIC.fullmatch(name)))


def clean_markup(parsed: feedparser.FeedParserDict) -> None:
    """Resolve and sanitise, as feedparser would have, the HTML titles, summaries and contents
    of the feed, an entry or its source when any of them is not plain markup (in place): all of
    them, so a summary equal to its content stays equal (normalize drops it then)."""
    for context in [parsed.feed, *parsed.entries, *(entry["source"] for entry in parsed.entries if "source" in entry)]:
        values = list(html_values(context))
        if not all(map(is_plain_markup, {holder[key] for holder, key, _ in values})):  # a value and its detail's: once
            for holder, key, detail in values:
                holder[key] = sanitise(holder[key], detail["type"], detail.get("base", ""))


def sanitise(markup: str, kind: str, base: str) -> str:
    """What feedparser makes of HTML when asked to resolve relative URIs and sanitise."""
    return _sanitize_html(resolve_relative_uris(markup, base, "utf-8", kind), "utf-8", kind)


def html_values(context: MutableMapping[str, Any]) -> Iterator[tuple[MutableMapping[str, Any], str, Any]]:
    """(mapping, key, the value's detail) for each HTML value of a feed, entry or source that
    feedparser would have sanitised."""
    contents = [part for part in context.get("content") or [] if part.get("type") in HTML_TYPES and part.get("value")]
    for key in ("title", "summary"):
        if not context.get(key):
            continue
        detail = context.get(f"{key}_detail")
        if detail is None:  # feedparser copies a content body into `summary` without a detail
            detail = next((part for part in contents if part["value"] == context[key]), {})
        elif detail.get("type") in HTML_TYPES:
            yield detail, "value", detail
        if detail.get("type") in HTML_TYPES:
            yield context, key, detail
    for part in contents:
        yield part, "value", part


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
