"""Poisoned feeds and archives against the real broker (issue 16): each bad entry, feed, line or
disk write costs only itself. Feeds come from a loopback HTTP server written here; news.raw and
news.dlq are read back from noida-db. Only the disk is simulated: the state file's write raises
ENOSPC (no tiny tmpfs here), by a patch of `os.fdopen` that touches that file alone."""
from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest
from newsmon.collectors.normalize import SKIP_BAD_LINK
from newsmon.collectors.publisher import Publisher
from newsmon.collectors.run import BACKING_OFF, COLLECTED, FAILED, collect_once
from newsmon.collectors.sizes import CUT_MARKER, CUT_REASON, KAFKA_MESSAGE_MAX_BYTES, RAW_RECORD_MAX_BYTES
from newsmon.collectors.state import STATE_FILE, StateStore
from newsmon.schemas.article import Article, DeadLetter, decode_article, encode

from newsmon.kafka import TopicTail
from newsmon.settings import Settings
from tests.integration.helpers import clean_env, newsmon
from tests.loopback import serve

pytestmark = pytest.mark.integration

# Written for these tests: "A test report on the port of Bushehr and the nuclear talks." (two bytes a letter)
PERSIAN = "گزارش آزمایشی درباره‌ی بندر بوشهر و گفتگوهای هسته‌ای. "
PUBLISHED = "Sat, 08 Nov 2025 10:{:02d}:00 GMT"


def item(link: str, title: str, body: str = "", minute: int = 0, encoded: str = "") -> str:
    content = f"<content:encoded><![CDATA[{encoded}]]></content:encoded>" if encoded else ""
    return (f"<item><title>{title}</title><link>{link}</link><description><![CDATA[{body or 'Body of ' + title}]]>"
            f"</description>{content}<pubDate>{PUBLISHED.format(minute)}</pubDate></item>")


def rss(items: list[str], title: str = "Loopback") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{title}</title>{''.join(items)}</channel></rss>").encode()


def good_items(host: str, count: int, start: int = 0) -> tuple[list[str], list[str]]:
    """`count` plain items on `host` and their links."""
    links = [f"https://{host}/news/{n}" for n in range(start, start + count)]
    return [item(link, f"{host} story {n}", minute=n) for n, link in enumerate(links, start)], links


class FeedSite:
    """Routes path -> (status, headers, body), changeable while the server runs."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                status, headers, body = site.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in {"Content-Type": "application/rss+xml; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.handler = Handler

    def feed(self, path: str, body: bytes) -> None:
        self.routes[path] = (200, {}, body)


@pytest.fixture
def site():
    feeds = FeedSite()
    with serve(feeds.handler) as base:
        feeds.base = base
        yield feeds


def settings_for(servers, unique: str, tmp_path: Path) -> Settings:
    return Settings(kafka_bootstrap_servers=servers.kafka, raw_topic=f"news.raw.{unique}", dlq_topic=f"news.dlq.{unique}",
                    data_dir=tmp_path / "data", full_text="never", fetch_timeout_seconds=10.0)


async def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every record value on `topic` now (publish returned after acks=all, so all of them)."""
    async with TopicTail(settings, [topic]) as tail:
        return [record.value async for record in tail.read_to_end()]


def raw_articles(settings: Settings) -> list[Article]:
    return [decode_article(value) for value in asyncio.run(read_topic(settings, settings.raw_topic))]


def dead_letters(settings: Settings) -> list[DeadLetter]:
    decoder = msgspec.json.Decoder(DeadLetter)
    return [decoder.decode(value) for value in asyncio.run(read_topic(settings, settings.dlq_topic))]


def cycle(settings: Settings, feeds: list[str], store: StateStore):
    async def run():
        async with Publisher(settings) as publisher:
            report = await collect_once(settings, feeds, publisher.publish, store=store)
            return report, publisher

    return asyncio.run(run())


def test_poisoned_feeds_cost_only_their_bad_entries_and_the_next_cycle_goes_on(servers, unique, tmp_path, site, caplog):
    settings = settings_for(servers, unique, tmp_path)
    surrogate_items, surrogate_links = good_items("surrogate.example.com", 4)
    surrogate_items[1] = surrogate_items[1].replace("story 1", "story 1 &#xD800; lone surrogate")
    site.feed("/surrogate", rss(surrogate_items))
    bad_link_items, bad_link_links = good_items("links.example.com", 4)
    site.feed("/bad-link", rss(bad_link_items[:2] + [item("http://[oops/x", "Not a URL")] + bad_link_items[2:]))
    site.routes["/moved"] = (302, {"Location": "http://127.0.0.1:99999/feed"}, b"")
    big_items, big_links = good_items("big.example.com", 10)
    big_link = "https://big.example.com/news/huge"
    huge = item(big_link, "A huge item", body=PERSIAN * 6000, minute=30, encoded=PERSIAN * 6000)  # 2 x ~600 KB
    site.feed("/big", rss(big_items[:4] + [huge] + big_items[4:]))
    clean_items, clean_links = good_items("clean.example.com", 3)
    site.feed("/clean", rss(clean_items))
    feeds = [f"{site.base}{path}" for path in ("/surrogate", "/bad-link", "/moved", "/big", "/clean")]
    expected = surrogate_links + bad_link_links + big_links + [big_link] + clean_links

    store = StateStore.load(settings.data_dir)
    report, publisher = cycle(settings, feeds, store)
    outcomes = {o.feed.removeprefix(site.base): o for o in report.outcomes}
    arrived = raw_articles(settings)

    assert Counter(a.url for a in arrived) == Counter(expected), "every good entry of every feed, exactly once"
    assert [o.status for o in outcomes.values()] == [COLLECTED, COLLECTED, FAILED, COLLECTED, COLLECTED]
    (repaired,) = [a for a in arrived if "lone surrogate" in a.title]
    assert "\ufffd" in repaired.title and "&#" not in repaired.title
    assert outcomes["/bad-link"].counts[SKIP_BAD_LINK] == 1 and outcomes["/bad-link"].new == 4
    assert "not a valid http(s) URL: http://127.0.0.1:99999/feed" in outcomes["/moved"].reason
    assert "event=feed-error" in caplog.text and "99999" in caplog.text
    (big,) = [a for a in arrived if a.url == big_link]
    huge_bytes = len((PERSIAN * 6000).encode()) * 2
    assert huge_bytes > KAFKA_MESSAGE_MAX_BYTES, "the item as fed is over the broker's limit"
    assert len(encode(big)) <= RAW_RECORD_MAX_BYTES and big.body_reason == CUT_REASON
    assert big.content.endswith(CUT_MARKER) and big.content.startswith(PERSIAN * 100)
    assert outcomes["/big"].new == 11 and publisher.cut == 1 and publisher.acknowledged == len(expected)
    assert f"event=record-cut stage=collect id={big.id} url={big_link}" in caplog.text
    assert report.state_error == "" and dead_letters(settings) == []

    # Next cycle, from the saved state: nothing re-sent, the bad feed backs off, new items flow.
    more_bad_link, more_bad_link_links = good_items("links.example.com", 1, start=10)
    site.feed("/bad-link", rss(bad_link_items[:2] + [item("http://[oops/x", "Not a URL")] + bad_link_items[2:] + more_bad_link))
    more_clean, more_clean_links = good_items("clean.example.com", 1, start=10)
    site.feed("/clean", rss(clean_items + more_clean))
    again, _ = cycle(settings, feeds, StateStore.load(settings.data_dir))
    statuses = {o.feed.removeprefix(site.base): o.status for o in again.outcomes}
    arrived = raw_articles(settings)

    assert statuses == {"/surrogate": COLLECTED, "/bad-link": COLLECTED, "/moved": BACKING_OFF, "/big": COLLECTED,
                        "/clean": COLLECTED}
    assert again.new == 2 and Counter(a.url for a in arrived) == Counter(expected + more_bad_link_links + more_clean_links)
    print(f"\ncollector-poison: feeds={len(feeds)} good={len(expected)} arrived_once={len(expected)} "
          f"skipped_bad_link=1 failed_feeds=1 cut=1 (fed {huge_bytes} bytes, sent {len(encode(big))}) "
          f"second_cycle_new={again.new}")


FULL_DISK_PATCH = '''
import errno, os
_fdopen = os.fdopen
class _FullDisk:
    def __init__(self, handle): self.handle = handle
    def __enter__(self): return self
    def __exit__(self, *exc): self.handle.close()
    def write(self, data): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    def __getattr__(self, name): return getattr(self.handle, name)
def _fdopen_on_a_full_disk(fd, *args, **kwargs):
    handle = _fdopen(fd, *args, **kwargs)
    state_file = os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".state-")
    return _FullDisk(handle) if state_file else handle
'''


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on writing the state file fails with ENOSPC (and nothing else does)."""
    scope: dict = {}
    exec(FULL_DISK_PATCH, scope)  # noqa: S102 - the same patch the subprocess below installs
    monkeypatch.setattr(os, "fdopen", scope["_fdopen_on_a_full_disk"])


def test_a_full_disk_for_the_state_file_loses_and_repeats_nothing(servers, unique, tmp_path, site, caplog, monkeypatch):
    settings = settings_for(servers, unique, tmp_path)
    items, links = good_items("disk.example.com", 5)
    site.feed("/feed", rss(items))
    feeds = [f"{site.base}/feed"]
    store = StateStore.load(settings.data_dir)
    state_path = settings.data_dir / STATE_FILE

    disk_full(monkeypatch)
    first, _ = cycle(settings, feeds, store)
    assert "No space left on device" in first.state_error and first.new == 5
    assert "event=state-not-saved" in caplog.text and "kept in memory" in caplog.text
    assert not state_path.exists() and not list(settings.data_dir.glob(".state-*")), "no half-written file left"
    more, more_links = good_items("disk.example.com", 2, start=5)
    site.feed("/feed", rss(items + more))
    second, _ = cycle(settings, feeds, store)  # the same collector, disk still full: the state in memory counts
    assert second.new == 2 and second.state_error

    monkeypatch.undo()  # space again
    third, _ = cycle(settings, feeds, store)
    assert third.new == 0 and third.state_error == ""
    assert state_path.stat().st_mode & 0o777 == 0o600
    fourth, _ = cycle(settings, feeds, StateStore.load(settings.data_dir))  # a restart reads what was saved
    assert fourth.new == 0
    assert Counter(a.url for a in raw_articles(settings)) == Counter(links + more_links), "each exactly once"

    # `newsmon collect --once` on a full disk: its articles are published, one line, exit 1, no traceback.
    env = clean_env(KAFKA_BOOTSTRAP_SERVERS=servers.kafka, NEWSMON_RAW_TOPIC=f"news.raw.cli.{unique}",
                    NEWSMON_DATA_DIR=str(tmp_path / "cli-data"), NEWSMON_FULL_TEXT="never")
    code = FULL_DISK_PATCH + "os.fdopen = _fdopen_on_a_full_disk\nfrom newsmon.cli import main\nraise SystemExit(main(['collect', '--once', '--feed', %r]))" % feeds[0]
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    cli_settings = settings.model_copy(update={"raw_topic": f"news.raw.cli.{unique}"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.count("event=state-not-saved") == 1 and "Traceback" not in proc.stderr
    assert Counter(a.url for a in raw_articles(cli_settings)) == Counter(links + more_links)
    print(f"\nstate-enospc: cycles=4 published={len(links) + len(more_links)} resent=0 "
          f"cli_exit={proc.returncode}")


def replay_archive(path: Path) -> tuple[list[str], str, str]:
    """20 good lines, one >1 MB line whose body can be cut, one whose title cannot, and bad lines
    (no or malformed `published`, not JSON, no url) among them; returns the good links and the two big ones."""
    def line(n: int, **fields) -> bytes:
        record = {"url": f"https://replay.example.com/news/{n}", "title": f"Replayed story {n}",
                  "content": f"Body of replayed story {n}.", "published": f"2025-11-08T10:{n:02d}:00Z", **fields}
        return msgspec.json.encode(record)

    good = [line(n) for n in range(20)]
    cuttable = line(40, content=PERSIAN * 11_000)  # ~1.2 MB
    uncuttable = line(41, title="Bushehr " * 140_000)  # ~1.1 MB of title: nothing to cut
    bad = [line(50, published=""), b'{"url": "https://replay.example.com/news/51", "title": "no date"}',
           line(52, published="last Tuesday"), line(53, published="2025-13-45T99:00:00Z"),
           b"{this is not json", b'{"title": "no url", "published": "2025-11-08T10:00:00Z"}']
    lines = good[:5] + bad[:3] + [cuttable] + good[5:12] + bad[3:] + [uncuttable] + good[12:]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return ([f"https://replay.example.com/news/{n}" for n in range(20)], "https://replay.example.com/news/40",
            "https://replay.example.com/news/41")


@pytest.mark.parametrize("speed", ["max", "600"])
def test_replay_of_an_oversized_line_and_bad_published_lines_costs_only_those_lines(servers, unique, tmp_path, speed):
    archive = tmp_path / "archive.jsonl"
    good, cuttable, uncuttable = replay_archive(archive)
    assert max(len(line) for line in archive.read_bytes().splitlines()) > KAFKA_MESSAGE_MAX_BYTES
    settings = settings_for(servers, unique, tmp_path)
    env = clean_env(KAFKA_BOOTSTRAP_SERVERS=servers.kafka, NEWSMON_RAW_TOPIC=settings.raw_topic,
                    NEWSMON_DLQ_TOPIC=settings.dlq_topic, NEWSMON_DATA_DIR=str(settings.data_dir))
    proc = newsmon("replay", "--speed", speed, str(archive), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=180)

    assert proc.returncode == 0, err[-3000:]
    assert out.splitlines()[-1] == ("replay summary: read 22, published 21, pages re-extracted 0, cut to size 1, "
                                    "dead-lettered 1, rejected 6 (bad-published 2, no-published 2, no-url 1, not-json 1)")
    assert err.count("replay: rejected ") == 6 and "Traceback" not in err
    assert f"{archive}:8: published 'last Tuesday' is not an ISO 8601 time" in err
    arrived = raw_articles(settings)
    assert Counter(a.url for a in arrived) == Counter(good + [cuttable]), "every good line exactly once"
    (cut,) = [a for a in arrived if a.url == cuttable]
    assert cut.content.endswith(CUT_MARKER) and cut.content.startswith(PERSIAN * 100) and cut.body_reason == CUT_REASON
    assert len(encode(cut)) <= RAW_RECORD_MAX_BYTES
    (letter,) = dead_letters(settings)
    assert letter.stage == "replay" and "byte cap even without its body and teaser" in letter.reason
    assert letter.payload.startswith('{"id": "') and f'"url": "{uncuttable}"' in letter.payload
    assert "payload cut to its first" in letter.reason
    assert all(a.replay for a in arrived)
    print(f"\nreplay-poison speed={speed}: lines=29 published={len(arrived)} cut=1 (line {len(archive.read_bytes().splitlines()[8])} "
          f"bytes, sent {len(encode(cut))}) dead_lettered=1 rejected=6")
