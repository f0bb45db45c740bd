"""Map feedparser entries onto `schemas.article.Article`, the one shape the pipeline carries.

Feeds disagree on everything: where the body lives, whether a link exists, what a date
means. This module settles each field once, counts every entry it had to repair or skip
(by reason), and gives live collection and archive replay the same entry point,
`articles_from_bytes`, so both produce identical records from identical bytes.
"""
from __future__ import annotations

import calendar
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import msgspec

from newsmon.collectors.parser import parse_feed
from newsmon.collectors.sizes import RAW_RECORD_MAX_BYTES
from newsmon.schemas.article import Article

from newsmon.core.language import identify_languages
from newsmon.core.text import html_to_text
from newsmon.core.times import iso_from_datetime
from newsmon.core.urls import article_id, canonicalize_url, is_web_url, redact_url

EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_TOLERANCE = timedelta(days=1)
TITLE_WORDS = 12
MAX_TITLE_CHARS = 500
# A character is at least one byte: a body cut to this many characters before any work on
# it loses nothing the size guard would keep. That guard is the publisher's (collectors/sizes.py
# caps the record in bytes as it is sent, and marks the cut), applied after the page stage too.
MAX_CONTENT_CHARS = RAW_RECORD_MAX_BYTES

# Reasons counted per feed (Counter keys); "skip-*" entries are dropped, the rest repaired.
SKIP_NO_LINK = "skip-no-link"
SKIP_BAD_LINK = "skip-bad-link"  # a link that is not an http(s) URL: `http://[oops/x`, port 99999
SKIP_EMPTY = "skip-empty"
FIX_ABSURD_DATE = "fixed-absurd-date"
FIX_MISSING_DATE = "fixed-missing-date"
FIX_MISSING_TITLE = "fixed-missing-title"


def articles_from_bytes(
    data: bytes,
    feed_url: str,
    fetched: datetime,
    *,
    content_type: str | None = None,
    counts: Counter[str] | None = None,
) -> list[Article]:
    """Parse raw feed bytes and normalise every usable entry; raises FeedParseError."""
    parsed = parse_feed(data, feed_url, content_type)
    counts = Counter() if counts is None else counts
    feed = parsed.feed
    defaults = {
        "feed": redact_url(feed_url),
        "fetched": fetched,
        "source": html_to_text(feed.get("title", "")),
        "language": language_tag(feed.get("language", "")),
    }
    normalised = [found for found in (normalize_entry(entry, defaults, counts) for entry in parsed.entries) if found]
    # One language call for the feed's entries: the model reads a batch in one pass, and a
    # text at a time costs several times as much.
    languages = identify_languages([text for _, text in normalised], [a.declared_language for a, _ in normalised])
    return [msgspec.structs.replace(article, language=language) for (article, _), language in zip(normalised, languages)]


def normalize_entry(entry: Any, defaults: dict[str, Any], counts: Counter[str]) -> tuple[Article, str] | None:
    """One feedparser entry -> (Article without its language, the text to identify it from),
    or None (counted) when it has no usable link or text."""
    url = entry_url(entry)
    if not url:
        counts[SKIP_BAD_LINK if had_link(entry) else SKIP_NO_LINK] += 1
        return None
    content, summary = entry_body(entry)
    content, summary = content[:MAX_CONTENT_CHARS], summary[:MAX_CONTENT_CHARS]
    text = html_to_text(content)
    title = html_to_text(entry.get("title", ""))[:MAX_TITLE_CHARS]
    if not title and not text:
        counts[SKIP_EMPTY] += 1
        return None
    if not title:
        title = first_words(text)
        counts[FIX_MISSING_TITLE] += 1
    fetched: datetime = defaults["fetched"]
    canonical_link = entry_canonical_link(entry)
    declared = entry_language(entry) or defaults["language"]
    return Article(
        id=article_id(canonicalize_url(url, canonical_link)),
        url=url,
        title=title,
        content=content,
        summary=summary,
        published=iso_from_datetime(entry_published(entry, fetched, counts)),
        source=entry_source(entry) or defaults["source"] or outlet_host(url),
        feed=defaults["feed"],
        fetched=iso_from_datetime(fetched),
        authors=entry_authors(entry),
        declared_language=declared,
        guid=entry.get("id", ""),
        canonical_link=canonical_link,
    ), f"{title}\n{text}"


def entry_url(entry: Any) -> str:
    """The entry link, else its guid when that is a URL, else ''."""
    for candidate in entry_links(entry):
        if is_web_url(candidate):
            return candidate.strip()
    return ""


def entry_links(entry: Any) -> list[str]:
    """What could be the entry's URL: its link, then its guid."""
    return [value for value in (entry.get("link", ""), entry.get("id", "")) if isinstance(value, str) and value]


def had_link(entry: Any) -> bool:
    """Whether the entry carried a link, unusable: a value that is no URL, or an alternate link
    feedparser emptied (it drops an `http://[oops/x` it cannot resolve against the feed's URL)."""
    alternates = [link for link in entry.get("links", []) if link.get("rel") == "alternate"]
    return bool(alternates) or any("://" in value for value in entry_links(entry))


def entry_body(entry: Any) -> tuple[str, str]:
    """(content, summary): the fullest body (content:encoded / atom content), else the summary."""
    summary = entry.get("summary", "") or ""
    bodies = [part.get("value", "") for part in entry.get("content", []) if part.get("value")]
    if not bodies:
        return summary, ""
    content = max(bodies, key=len)
    return content, summary if summary != content else ""


def entry_published(entry: Any, fetched: datetime, counts: Counter[str]) -> datetime:
    """Publication time; missing or absurd (pre-1990, >1 day ahead) dates become `fetched`."""
    stamp: time.struct_time | None = entry.get("published_parsed") or entry.get("updated_parsed")
    if stamp is None:
        counts[FIX_MISSING_DATE] += 1
        return fetched
    try:
        published = datetime.fromtimestamp(calendar.timegm(stamp), timezone.utc)
    except (OverflowError, ValueError, OSError):
        published = None
    if published is None or not EARLIEST_PUBLISHED <= published <= fetched + FUTURE_TOLERANCE:
        counts[FIX_ABSURD_DATE] += 1
        return fetched
    return published


def entry_source(entry: Any) -> str:
    """The outlet named by an aggregator's <source> element, if any."""
    source = entry.get("source") or {}
    return html_to_text(source.get("title", "")) if hasattr(source, "get") else ""


def entry_language(entry: Any) -> str:
    for detail in [*entry.get("content", []), entry.get("title_detail") or {}]:
        tag = language_tag(detail.get("language") or "")
        if tag:
            return tag
    return ""


def language_tag(value: str) -> str:
    """'ru-RU' -> 'ru': the primary subtag, lower case."""
    return value.strip().replace("_", "-").split("-", 1)[0].lower()


def entry_authors(entry: Any) -> list[str]:
    names = [author.get("name", "").strip() for author in entry.get("authors", []) if hasattr(author, "get")]
    names = [name for name in names if name]
    return names or ([entry["author"].strip()] if entry.get("author", "").strip() else [])


def entry_canonical_link(entry: Any) -> str:
    for link in entry.get("links", []):
        if link.get("rel") == "canonical" and is_web_url(link.get("href", "")):
            return link["href"].strip()
    return ""


def first_words(text: str, count: int = TITLE_WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def outlet_host(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
