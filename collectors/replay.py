"""Read historical articles from archive paths for `newsmon replay`.

Accepts JSON-lines files and RSS/Atom XML files, gzipped or not, and folders of them
(the collectors' own archive included). Feed files go through the same
`articles_from_bytes` as live collection, with the feed URL, fetch time and Content-Type
the archive index recorded; with a `PageReplay`, a teaser entry whose article page was
archived gets its text again from those bytes through the same `extract_page` / `with_page`
(so a replay re-extracts offline exactly what was fetched, with the current extractor).
Anything unreadable becomes a `Rejection` with file, line, a short kind (counted in the
summary) and the reason, so the replay goes on and nothing vanishes silently. A JSON line
is rejected when it is not JSON, not an object, has no `url`, a field of the wrong type, or
no usable `published` (missing, not ISO 8601, or outside live collection's plausible window:
history spaced by `--speed` and the `--since`/`--until` filter both need a true time).
Such lines are reported (one stderr line each, with file and line), not dead-lettered: they
never entered the pipeline, and the file that holds them is the copy to fix and replay again.
"""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
from newsmon.collectors.archive import INDEX_FILE, archived_page, fetch_of
from newsmon.collectors.extract import (
    DEFAULT_MIN_WORDS,
    NOT_ARCHIVED,
    as_teaser,
    extract_page,
    wants_page,
    with_page,
    without_page,
)
from newsmon.collectors.normalize import EARLIEST_PUBLISHED, FUTURE_TOLERANCE, articles_from_bytes
from newsmon.collectors.parser import FeedParseError
from newsmon.schemas.article import Article

from newsmon.core.pipeline import article_from_record
from newsmon.core.times import TimeFormatError, iso_from_datetime, parse_iso

JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
FEED_SUFFIXES = {".xml", ".rss", ".atom"}

# Rejection kinds, counted by the replay summary.
NOT_REPLAYABLE = "not-replayable"
UNREADABLE = "unreadable"
NOT_A_FEED = "not-a-feed"
NOT_JSON = "not-json"
NOT_AN_OBJECT = "not-an-object"
NO_URL = "no-url"
BAD_FIELD = "bad-field"
NO_PUBLISHED = "no-published"
BAD_PUBLISHED = "bad-published"


@dataclass(frozen=True)
class Rejection:
    path: Path
    line: int | None  # None: the whole file
    kind: str  # one of the kinds above
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class PageReplay:
    """The page step of live collection, offline: the archived page of `data_dir`, if any."""

    data_dir: Path
    mode: str = "auto"  # settings.full_text
    min_words: int = DEFAULT_MIN_WORDS  # settings.full_text_min_words

    def __call__(self, article: Article) -> Article:
        if not wants_page(article, self.mode, self.min_words):
            return without_page(article, self.min_words)
        kept = archived_page(self.data_dir, article.url)
        if kept is None:  # never fetched, refused (robots, 404, not HTML...) or archived elsewhere
            return as_teaser(article, NOT_ARCHIVED)
        body, content_type = kept
        return with_page(article, extract_page(body, article.url, content_type))


def reextracted(article: Article, data_dir: Path) -> Article | None:
    """An article as collected (news.raw) with its archived page extracted again by the current
    extractor, for `newsmon reprocess --reextract`; None when there is nothing to redo (the feed
    carried the article, or no page was archived). A page article's feed text is its summary:
    `with_page` kept the feed's teaser there."""
    if article.body_source not in ("page", "teaser"):
        return None
    kept = archived_page(data_dir, article.url)
    if kept is None:
        return None
    as_fed = msgspec.structs.replace(article, content=article.summary, summary="") if article.body_source == "page" else article
    body, content_type = kept
    return with_page(as_fed, extract_page(body, article.url, content_type))


def archive_files(paths: list[Path]) -> Iterator[Path]:
    """Every replayable file under `paths`, in name order (dated layouts replay in date order);
    the archive's own index files are not articles."""
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if not path.is_dir() or (_kind(candidate) and candidate.name != INDEX_FILE):
                yield candidate


def _kind(path: Path) -> str | None:
    suffixes = path.suffixes[-2:] if path.suffix == ".gz" else path.suffixes[-1:]
    base = suffixes[0] if suffixes else ""
    if base in JSON_SUFFIXES:
        return "json"
    if base in FEED_SUFFIXES:
        return "feed"
    return None


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def read_archive(path: Path, pages: PageReplay | None = None) -> Iterator[Article | Rejection]:
    """The articles of one file, marked as replayed, or the reasons they could not be read;
    feed entries go through `pages` when given."""
    kind = _kind(path)
    if kind is None:
        yield Rejection(path, None, NOT_REPLAYABLE, "not a replayable file (expected .jsonl, .json, .xml, .rss, .atom, optionally .gz)")
        return
    try:
        data = read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield Rejection(path, None, UNREADABLE, f"unreadable: {exc}")
        return
    if kind == "json":
        yield from _json_lines(path, data)
        return
    fetch = fetch_of(path)
    feed_url = fetch.feed_url if fetch else path.resolve().as_uri()
    fetched = fetch.fetched if fetch else datetime.fromtimestamp(path.stat().st_mtime, UTC)
    try:
        articles = articles_from_bytes(data, feed_url, fetched, content_type=fetch.content_type if fetch else None)
    except FeedParseError as exc:
        yield Rejection(path, None, NOT_A_FEED, str(exc))
        return
    for article in articles:
        replayed = msgspec.structs.replace(article, replay=True)
        yield pages(replayed) if pages else replayed


class BadLine(ValueError):
    """A JSON line that is no replayable article: `kind` and the reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def _json_lines(path: Path, data: bytes) -> Iterator[Article | Rejection]:
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield json_line_article(line)
        except BadLine as exc:
            yield Rejection(path, number, exc.kind, str(exc))


def json_line_article(line: bytes) -> Article:
    """One archive line as a replayed article, its `published` in the wire format; raises BadLine."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BadLine(NOT_JSON, f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise BadLine(NOT_AN_OBJECT, f"not a JSON object but a {type(record).__name__}")
    if not record.get("url"):
        raise BadLine(NO_URL, "no url")
    published = plausible_published(record.get("published"))
    try:
        return article_from_record(record, replay=True, published=published)
    except (ValueError, TypeError, msgspec.ValidationError) as exc:
        raise BadLine(BAD_FIELD, f"not an article: {exc}") from None


def plausible_published(value: object) -> str:
    """`value` in the wire format when it is an ISO 8601 time in live collection's window
    (1990 to a day from now); raises BadLine."""
    if value is None or value == "":
        raise BadLine(NO_PUBLISHED, "no published date")
    if not isinstance(value, str):
        raise BadLine(BAD_PUBLISHED, f"published {value!r:.40} is not a string")
    try:
        moment = parse_iso(value)
    except TimeFormatError:
        raise BadLine(BAD_PUBLISHED, f"published {value[:40]!r} is not an ISO 8601 time") from None
    if not EARLIEST_PUBLISHED <= moment <= datetime.now(UTC) + FUTURE_TOLERANCE:
        raise BadLine(BAD_PUBLISHED, f"published {value[:40]!r} is before 1990 or in the future")
    return iso_from_datetime(moment)
