"""Raw feed bytes of every successful fetch, kept gzipped so history can be replayed offline.

Layout: ``<data_dir>/archive/YYYY/MM/DD/<feed-slug>-<HHMMSS>.xml.gz`` plus one
``index.jsonl`` per day naming each file's feed URL, fetch time and Content-Type (the
file name alone cannot carry an arbitrary URL). Replay reads the index in day order and
feeds each body through `collectors.normalize.articles_from_bytes`, the same function
live collection uses.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.parser import FeedParseError
from newsmon.schemas.article import Article

from newsmon.log import kv

log = logging.getLogger(__name__)

INDEX_FILE = "index.jsonl"
SKIPPED_FILE = "skip-archive-file"


@dataclass(frozen=True)
class ArchivedFetch:
    path: Path
    feed_url: str
    fetched: datetime
    content_type: str | None = None

    def read(self) -> bytes:
        return gzip.decompress(self.path.read_bytes())


def archive_root(data_dir: Path) -> Path:
    return Path(data_dir) / "archive"


def feed_slug(feed_url: str) -> str:
    """Readable, file-name-safe and collision-free: host-path plus a short hash of the URL."""
    parts = urlsplit(feed_url)
    readable = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname or ''}{parts.path}".lower()).strip("-")[:60]
    digest = hashlib.blake2b(feed_url.encode("utf-8"), digest_size=3).hexdigest()
    return f"{readable or 'feed'}-{digest}"


def archive_fetch(data_dir: Path, feed_url: str, body: bytes, fetched: datetime, content_type: str | None) -> Path:
    """Store one fetch's body and index it; returns the archive file."""
    fetched = fetched.astimezone(timezone.utc)
    day = archive_root(data_dir) / fetched.strftime("%Y/%m/%d")
    day.mkdir(parents=True, exist_ok=True)
    stem = f"{feed_slug(feed_url)}-{fetched.strftime('%H%M%S')}"
    path = day / f"{stem}.xml.gz"
    suffix = 1
    while path.exists():  # two fetches of one feed within a second
        path = day / f"{stem}-{suffix}.xml.gz"
        suffix += 1
    path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
    entry = {"file": path.name, "feed": feed_url, "fetched": fetched.isoformat(), "content_type": content_type}
    with (day / INDEX_FILE).open("a", encoding="utf-8") as index:
        index.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


def iter_archive(data_dir: Path, since: datetime | None = None, until: datetime | None = None) -> Iterator[ArchivedFetch]:
    """Archived fetches in fetch order, optionally within [since, until)."""
    for index in sorted(archive_root(data_dir).glob(f"*/*/*/{INDEX_FILE}")):
        fetches = [_archived(index.parent, line) for line in index.read_text(encoding="utf-8").splitlines() if line]
        for fetch in sorted((f for f in fetches if f is not None), key=lambda f: f.fetched):
            if (since is None or fetch.fetched >= since) and (until is None or fetch.fetched < until):
                yield fetch


def _archived(day: Path, line: str) -> ArchivedFetch | None:
    try:
        entry = json.loads(line)
        fetch = ArchivedFetch(day / entry["file"], entry["feed"], datetime.fromisoformat(entry["fetched"]),
                              entry.get("content_type"))
    except (ValueError, KeyError) as exc:
        log.warning(kv(event="archive-index-line-skipped", index=day / INDEX_FILE, reason=exc))
        return None
    return fetch if fetch.path.exists() else None


def articles_from_archive(
    data_dir: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    counts: Counter[str] | None = None,
) -> Iterator[Article]:
    """Every article of every archived fetch, marked `replay=True`.

    Per-entry repairs/skips and unreadable files are tallied in `counts`.
    """
    counts = Counter() if counts is None else counts
    for fetch in iter_archive(data_dir, since, until):
        try:
            articles = articles_from_bytes(
                fetch.read(), fetch.feed_url, fetch.fetched, content_type=fetch.content_type, counts=counts
            )
        except (FeedParseError, OSError, EOFError, gzip.BadGzipFile) as exc:
            counts[SKIPPED_FILE] += 1
            log.warning(kv(event="archive-file-skipped", path=fetch.path, reason=exc))
            continue
        for article in articles:
            yield msgspec.structs.replace(article, replay=True)
