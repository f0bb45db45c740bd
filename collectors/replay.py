"""Read historical articles from archive paths for `newsmon replay`.

Accepts JSON-lines files and RSS/Atom XML files, gzipped or not, and folders of them
(the collectors' own archive included). Feed files go through the same
`articles_from_bytes` as live collection. Anything unreadable becomes a `Rejection` with
file and line, so the replay goes on and nothing vanishes silently.
"""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import orjson
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.parser import FeedParseError
from newsmon.schemas.article import Article

from newsmon.core.pipeline import article_from_record

JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
FEED_SUFFIXES = {".xml", ".rss", ".atom"}


@dataclass(frozen=True)
class Rejection:
    path: Path
    line: int | None  # None: the whole file
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.reason}"


def archive_files(paths: list[Path]) -> Iterator[Path]:
    """Every replayable file under `paths`, in name order (dated layouts replay in date order)."""
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if _kind(candidate) or not path.is_dir():
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


def read_archive(path: Path) -> Iterator[Article | Rejection]:
    """The articles of one file, marked as replayed, or the reasons they could not be read."""
    kind = _kind(path)
    if kind is None:
        yield Rejection(path, None, "not a replayable file (expected .jsonl, .json, .xml, .rss, .atom, optionally .gz)")
        return
    try:
        data = read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield Rejection(path, None, f"unreadable: {exc}")
        return
    if kind == "json":
        yield from _json_lines(path, data)
        return
    fetched = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    try:
        articles = articles_from_bytes(data, path.resolve().as_uri(), fetched)
    except FeedParseError as exc:
        yield Rejection(path, None, str(exc))
        return
    for article in articles:
        yield msgspec.structs.replace(article, replay=True)


def _json_lines(path: Path, data: bytes) -> Iterator[Article | Rejection]:
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield article_from_record(orjson.loads(line), replay=True)
        except (orjson.JSONDecodeError, ValueError, msgspec.ValidationError) as exc:
            yield Rejection(path, number, f"bad JSON line: {exc}")
