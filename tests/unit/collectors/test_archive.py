"""Archive: raw bytes of each accepted fetch (feeds and article pages), private, replayable offline."""
from __future__ import annotations

import asyncio
import gzip
import os
from collections import Counter
from datetime import UTC, datetime

from newsmon.collectors.archive import (
    archive_fetch,
    archive_page,
    archive_root,
    archived_page,
    articles_from_archive,
    feed_slug,
    iter_archive,
    page_path,
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
    early = datetime(2025, 11, 8, 23, 59, 59, tzinfo=UTC)
    late = datetime(2025, 11, 9, 0, 0, 1, tzinfo=UTC)
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


def modes(root):
    """Permission bits of every folder and file under `root`, root included."""
    return {path: path.stat().st_mode & 0o777 for path in [root, *root.rglob("*")]}


def test_archive_files_are_0600_in_0700_folders_whatever_the_umask(tmp_path):
    old_umask = os.umask(0o022)
    try:
        archive_fetch(tmp_path, "https://a.example.com/rss", fixture_bytes("seeds.rss"), datetime.now(UTC), None)
        archive_page(tmp_path, "https://a.example.com/news/1", PAGE, "text/html", 200, datetime.now(UTC))
    finally:
        os.umask(old_umask)
    found = modes(archive_root(tmp_path))
    assert {mode for path, mode in found.items() if path.is_dir()} == {0o700}
    assert {mode for path, mode in found.items() if path.is_file()} == {0o600}
    assert any(path.name == "index.jsonl" for path in found) and any(path.name.endswith(".page.gz") for path in found)


def test_an_older_looser_archive_folder_is_tightened(tmp_path):
    day = archive_root(tmp_path) / "2025" / "11" / "09"
    day.mkdir(parents=True, mode=0o755)
    archive_root(tmp_path).chmod(0o755)
    archive_fetch(tmp_path, "https://a.example.com/rss", b"<rss/>", datetime(2025, 11, 9, tzinfo=UTC), None)
    assert archive_root(tmp_path).stat().st_mode & 0o777 == 0o700 and day.stat().st_mode & 0o777 == 0o700


def test_a_body_refused_as_not_a_feed_is_not_archived(settings, feed_server):
    feed_server.routes["/feed"] = static(fixture_bytes("page.html"), headers={"Content-Type": "text/html"})
    feed_server.routes["/good"] = static(rss(("a", "A")))

    async def sink(articles):
        pass

    report = asyncio.run(collect_once(settings, [feed_server.url("/feed"), feed_server.url("/good")], sink))
    assert {o.feed.rsplit("/", 1)[1]: o.status for o in report.outcomes} == {"feed": "failed", "good": "collected"}
    assert [f.feed_url for f in iter_archive(settings.data_dir)] == [feed_server.url("/good")]


PAGE = b"<!doctype html><html lang=en><head><title>T</title></head><body><p>Body</p></body></html>"


def test_a_page_is_found_again_by_its_url_with_its_content_type(tmp_path):
    fetched = datetime(2025, 11, 9, 8, 0, tzinfo=UTC)
    url = "https://www.tehrantimes.com/news/1/some-slug?x=1"
    path = archive_page(tmp_path, url, PAGE, "text/html; charset=windows-1256", 200, fetched)
    assert path == page_path(tmp_path, url) and path.parent.name == "www-tehrantimes-com"
    assert archived_page(tmp_path, url) == (PAGE, "text/html; charset=windows-1256")
    assert archived_page(tmp_path, url + "&y=2") is None
    newer = PAGE.replace(b"Body", b"Corrected body")
    archive_page(tmp_path, url, newer, "text/html", 200, fetched)  # a refetch replaces the copy whole
    assert archived_page(tmp_path, url) == (newer, "text/html")
    assert not list(path.parent.glob(".*.tmp"))


def test_refused_pages_are_not_archived(tmp_path):
    fetched = datetime(2025, 11, 9, tzinfo=UTC)
    assert archive_page(tmp_path, "https://x.example/404", PAGE, "text/html", 404, fetched) is None
    assert archive_page(tmp_path, "https://x.example/a.pdf", b"%PDF-1.7 ...", "application/pdf", 200, fetched) is None
    assert archive_page(tmp_path, "https://x.example/api", b'{"a": 1}', "application/json", 200, fetched) is None
    assert not (archive_root(tmp_path) / "pages").exists()
    assert archived_page(tmp_path, "https://x.example/404") is None


def test_an_unreadable_page_file_is_no_page(tmp_path):
    url = "https://x.example/news/2"
    path = archive_page(tmp_path, url, PAGE, "text/html", 200, datetime(2025, 11, 9, tzinfo=UTC))
    path.write_bytes(b"not gzip")
    assert archived_page(tmp_path, url) is None
