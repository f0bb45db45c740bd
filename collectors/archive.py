"""Raw bytes of every accepted fetch, feeds and article pages, kept gzipped so history can be
replayed offline.

Feeds: ``<data_dir>/archive/YYYY/MM/DD/<feed-slug>-<HHMMSS>.xml.gz`` plus one
``index.jsonl`` per day naming each file's feed URL, fetch time and Content-Type (the
file name alone cannot carry an arbitrary URL). Replay (collectors/replay.py) finds each
file's entry with `fetch_of` and feeds the body through `collectors.normalize.articles_from_bytes`,
the same function live collection uses, with the same feed URL, fetch time and Content-Type.

Pages: ``<data_dir>/archive/pages/<host-slug>/<url-hash>.page.gz``, found again by URL
alone (replay and `reprocess --reextract` know an article's link, not when its page was
fetched). Each file is one gzip stream: a JSON header line (url, status, content type,
fetch time) then the body, written to a temporary name and renamed, so a reader never sees
half a page and a refetch replaces the older copy whole.

The archive holds what outlets sent, which is not ours to show: files are 0600 in 0700
folders, and only bodies that were accepted are kept (a feed refused as "not a feed", an
error status or a page that is not HTML never is).
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import os
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from newsmon.collectors.extract import looks_like_html

from newsmon.log import kv

log = logging.getLogger(__name__)

INDEX_FILE = "index.jsonl"
PAGES_FOLDER = "pages"
PAGE_SUFFIX = ".page.gz"
FILE_MODE = 0o600
FOLDER_MODE = 0o700


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
    """Store one accepted feed fetch's body and index it; returns the archive file."""
    fetched = fetched.astimezone(UTC)
    day = private_folder(archive_root(data_dir), *fetched.strftime("%Y/%m/%d").split("/"))
    stem = f"{feed_slug(feed_url)}-{fetched.strftime('%H%M%S')}"
    path = day / f"{stem}.xml.gz"
    suffix = 1
    while path.exists():  # two fetches of one feed within a second
        path = day / f"{stem}-{suffix}.xml.gz"
        suffix += 1
    write_private(path, gzip.compress(body, compresslevel=6, mtime=0))
    entry = {"file": path.name, "feed": feed_url, "fetched": fetched.isoformat(), "content_type": content_type}
    descriptor = os.open(day / INDEX_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    with open(descriptor, "a", encoding="utf-8") as index:
        index.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


def private_folder(root: Path, *parts: str) -> Path:
    """`root`/`parts`, every level 0700 whatever the umask (an older, looser one is tightened)."""
    folders = [Path(root)]
    for part in parts:
        folders.append(folders[-1] / part)
    folders[0].parent.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        if folder.stat().st_mode & 0o777 != FOLDER_MODE:
            folder.chmod(FOLDER_MODE)
    return folders[-1]


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file, atomically: a temporary name, then a rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with open(descriptor, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def page_path(data_dir: Path, url: str) -> Path:
    """Where the page of `url` is kept: one file per URL, named by its hash, grouped by host."""
    host = re.sub(r"[^a-z0-9]+", "-", (urlsplit(url).hostname or "").lower()).strip("-")[:60] or "host"
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=12).hexdigest()
    return archive_root(data_dir) / PAGES_FOLDER / host / f"{digest}{PAGE_SUFFIX}"


def archive_page(data_dir: Path, url: str, body: bytes, content_type: str | None, status: int,
                 fetched: datetime) -> Path | None:
    """Keep one fetched article page for replay; None (nothing kept) unless it is a 2xx HTML page."""
    if not 200 <= status < 300 or not looks_like_html(body, content_type or ""):
        return None
    path = page_path(data_dir, url)
    private_folder(archive_root(data_dir), PAGES_FOLDER, path.parent.name)
    header = {"url": url, "status": status, "content_type": content_type or "",
              "fetched": fetched.astimezone(UTC).isoformat()}
    data = json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body
    write_private(path, gzip.compress(data, compresslevel=6, mtime=0))
    return path


def archived_page(data_dir: Path, url: str) -> tuple[bytes, str] | None:
    """(body, content type) of the page kept for `url`, None if none is (or it is unreadable)."""
    path = page_path(data_dir, url)
    try:
        header, _, body = gzip.decompress(path.read_bytes()).partition(b"\n")
        kept = json.loads(header)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        log.warning(kv(event="archived-page-unreadable", path=path, reason=exc))
        return None
    if kept.get("url") != url:  # a hash collision, or a file copied from elsewhere
        return None
    return body, str(kept.get("content_type") or "")


def _archived(day: Path, line: str) -> ArchivedFetch | None:
    try:
        entry = json.loads(line)
        fetch = ArchivedFetch(day / entry["file"], entry["feed"], datetime.fromisoformat(entry["fetched"]),
                              entry.get("content_type"))
    except (ValueError, KeyError) as exc:
        log.warning(kv(event="archive-index-line-skipped", index=day / INDEX_FILE, reason=exc))
        return None
    return fetch if fetch.path.exists() else None


def fetch_of(path: Path) -> ArchivedFetch | None:
    """The index entry of one archived feed file (its feed URL, fetch time, Content-Type), None
    for a file that is not in the collectors' archive layout."""
    return _day_index(path.parent, _mtime(path.parent / INDEX_FILE)).get(path.name)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=8)
def _day_index(day: Path, _modified: float) -> dict[str, ArchivedFetch]:
    """One day's index by file name (cached while the index file is unchanged)."""
    try:
        lines = (day / INDEX_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    fetches = (_archived(day, line) for line in lines if line)
    return {fetch.path.name: fetch for fetch in fetches if fetch is not None}
