"""Archive: raw bytes of each successful fetch, replayable into the same articles offline."""
from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from datetime import datetime, timezone

from newsmon.collectors.archive import (
    archive_fetch,
    articles_from_archive,
    feed_slug,
    iter_archive,
)
from newsmon.collectors.run import collect_once

from tests.unit.collectors.conftest import fixture_bytes, rss, static


def test_each_successful_fetch_is_archived_gzipped_by_day(settings, feed_server):
    body = rss(("a", "A"))
    feed_server.routes["/feed"] = static(body)
    feed_server.routes["/broken"] = static(b"", 500)
    sunk = []

    async def sink(articles):
        sunk.extend(articles)

    asyncio.run(collect_once(settings, [feed_server.url("/feed"), feed_server.url("/broken")], sink))
    (path,) = (settings.data_dir / "archive").glob("*/*/*/*.xml.gz")
    assert path.name.startswith("127-0-0-1-feed-") and path.name.endswith(".xml.gz")
    assert gzip.decompress(path.read_bytes()) == body
    (fetch,) = iter_archive(settings.data_dir)
    assert fetch.feed_url == feed_server.url("/feed")
    assert fetch.content_type == "application/rss+xml; charset=utf-8"
    replayed = list(articles_from_archive(settings.data_dir))
    assert [a.id for a in replayed] == [a.id for a in sunk]
    assert all(a.replay for a in replayed) and replayed[0].fetched == sunk[0].fetched


def test_archive_is_ordered_filterable_and_skips_unparsable_files(tmp_path):
    early = datetime(2025, 11, 8, 23, 59, 59, tzinfo=timezone.utc)
    late = datetime(2025, 11, 9, 0, 0, 1, tzinfo=timezone.utc)
    archive_fetch(tmp_path, "https://b.example.com/rss", fixture_bytes("seeds.rss"), late, None)
    archive_fetch(tmp_path, "https://a.example.com/rss", fixture_bytes("page.html"), early, "text/html")
    archive_fetch(tmp_path, "https://a.example.com/rss", fixture_bytes("atom.xml"), early, None)  # same second
    assert [f.fetched for f in iter_archive(tmp_path)] == [early, early, late]
    assert [f.feed_url for f in iter_archive(tmp_path, since=late)] == ["https://b.example.com/rss"]
    counts = Counter()
    articles = list(articles_from_archive(tmp_path, counts=counts))
    assert len(articles) == 5 + 5 and counts["skip-archive-file"] == 1


def test_feed_slugs_are_readable_and_distinct():
    a, b = feed_slug("https://tass.com/rss/v2.xml"), feed_slug("https://tass.com/rss/v2.xml?lang=en")
    assert a.startswith("tass-com-rss-v2-xml-") and a != b
