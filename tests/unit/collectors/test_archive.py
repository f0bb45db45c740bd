"""Archive: raw bytes of each accepted fetch (feeds and article pages), private, replayable offline."""
from __future__ import annotations

import asyncio
import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from newsmon.collectors.archive import (
    archive_fetch,
    archive_page,
    archive_root,
    archived_page,
    feed_slug,
    fetch_of,
    page_path,
)
from newsmon.collectors.extract import extract_page, with_page
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.replay import (
    PageReplay,
    Rejection,
    archive_files,
    read_archive,
    reextracted,
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
    fetch = fetch_of(path)
    assert fetch.feed_url == feed_server.url("/feed")
    assert fetch.content_type == "application/rss+xml; charset=utf-8"
    (only,) = archive_files([settings.data_dir / "archive"])  # the day's index.jsonl is not replayed
    replayed = list(read_archive(only))
    assert [a.id for a in replayed] == [a.id for a in sunk]
    assert all(a.replay for a in replayed)
    assert [(a.feed, a.fetched) for a in replayed] == [(a.feed, a.fetched) for a in sunk]  # as live, not the file's


def test_archive_replays_in_day_order_and_rejects_unparsable_files(tmp_path):
    early = datetime(2025, 11, 8, 23, 59, 59, tzinfo=UTC)
    late = datetime(2025, 11, 9, 0, 0, 1, tzinfo=UTC)
    archive_fetch(tmp_path, "https://b.example.com/rss", fixture_bytes("seeds.rss"), late, None)
    archive_fetch(tmp_path, "https://a.example.com/rss", fixture_bytes("page.html"), early, "text/html")
    archive_fetch(tmp_path, "https://a.example.com/rss", fixture_bytes("atom.xml"), early, None)  # same second
    files = list(archive_files([archive_root(tmp_path)]))
    assert [fetch_of(f).fetched for f in files] == [early, early, late]
    items = [item for f in files for item in read_archive(f)]
    rejected = [item for item in items if isinstance(item, Rejection)]
    assert len(items) - len(rejected) == 5 + 5 and len(rejected) == 1 and "not a feed" in rejected[0].reason


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
    assert [fetch_of(f).feed_url for f in archive_files([archive_root(settings.data_dir)])] == [feed_server.url("/good")]


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


def teaser_feed(*links: str) -> bytes:
    items = "".join(f"<item><title>Story {i}</title><link>{link}</link><description>A two-line teaser.</description>"
                    f"<pubDate>Sun, 09 Nov 2025 07:00:00 GMT</pubDate></item>" for i, link in enumerate(links))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_replay_re_extracts_an_archived_page_with_the_same_functions_as_live(tmp_path):
    fetched = datetime(2025, 11, 9, 8, 0, tzinfo=UTC)
    kept, gone = "https://www.tehrantimes.com/news/1", "https://www.tehrantimes.com/news/2"
    feed = teaser_feed(kept, gone)
    archive_fetch(tmp_path, "https://www.tehrantimes.com/rss", feed, fetched, "application/rss+xml")
    page_bytes = fixture_page("en-agency.html")
    archive_page(tmp_path, kept, page_bytes, "text/html; charset=utf-8", 200, fetched)
    (path,) = archive_files([archive_root(tmp_path)])

    replayed = {a.url: a for a in read_archive(path, PageReplay(tmp_path, "auto", 150))}
    live = articles_from_bytes(feed, "https://www.tehrantimes.com/rss", fetched, content_type="application/rss+xml")[0]
    expected = with_page(live, extract_page(page_bytes, kept, "text/html; charset=utf-8"))
    assert replayed[kept].content == expected.content and replayed[kept].body_source == "page"
    assert replayed[kept].summary == "A two-line teaser." and replayed[kept].canonical_link == expected.canonical_link
    assert (replayed[gone].body_source, replayed[gone].body_reason) == ("teaser", "not-archived")
    plain = {a.url: a for a in read_archive(path, PageReplay(tmp_path, "never", 150))}
    assert (plain[kept].content, plain[kept].body_reason) == ("A two-line teaser.", "full-text-off")


def fixture_page(name: str) -> bytes:
    return (Path(__file__).resolve().parents[2] / "fixtures" / "pages" / name).read_bytes()


def test_reextract_redoes_archived_pages_with_the_current_extractor(tmp_path):
    fetched = datetime(2025, 11, 9, 8, 0, tzinfo=UTC)
    url = "https://www.tehrantimes.com/news/1"
    archive_page(tmp_path, url, fixture_page("fa-agency.html"), "text/html", 200, fetched)
    (teaser,) = articles_from_bytes(teaser_feed(url), "https://www.tehrantimes.com/rss", fetched)
    old_extractor = with_page(teaser, extract_page(b"<html><body><p>" + b"old words " * 30 + b"</p></body></html>", url))
    assert old_extractor.body_source == "page" and old_extractor.summary == "A two-line teaser."
    again = reextracted(old_extractor, tmp_path)
    expected = Path(__file__).resolve().parents[2] / "fixtures" / "pages" / "fa-agency.txt"
    assert again.content.split() == expected.read_text(encoding="utf-8").split()
    assert (again.body_source, again.summary, again.id) == ("page", "A two-line teaser.", teaser.id)
    failed_before = with_page(teaser, extract_page(b"<html><body><p>tiny</p></body></html>", url))
    assert failed_before.body_reason == "extraction-empty" and reextracted(failed_before, tmp_path).body_source == "page"
    assert reextracted(msgspec.structs.replace(teaser, body_source="feed"), tmp_path) is None
    assert reextracted(msgspec.structs.replace(old_extractor, url=url + "?other"), tmp_path) is None
