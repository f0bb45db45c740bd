"""Hostile feeds the other collector tests leave out, over real loopback HTTP.

A body trickled past the deadline, redirects from a public feed to every kind of internal
address (cloud metadata, private ranges, IPv6 loopback, a name resolving inside), broken and
unknown compression, a deflate bomb, oversize entries, and a title full of terminal control
sequences that must reach the `newsmon alerts` line as harmless text.
"""
from __future__ import annotations

import asyncio
import io
import time
import zlib
from datetime import datetime, timezone

import pytest
from newsmon.collectors.fetcher import (
    BlockedRedirect,
    FeedEncodingError,
    FeedTooLarge,
    Fetcher,
    FetchTimeout,
)
from newsmon.collectors.normalize import (
    MAX_CONTENT_CHARS,
    MAX_TITLE_CHARS,
    articles_from_bytes,
)
from newsmon.collectors.publisher import CUT, Publisher
from newsmon.collectors.sizes import CUT_MARKER, CUT_REASON, RAW_RECORD_MAX_BYTES
from newsmon.schemas.article import Alert, decode_article
from rich.console import Console

from newsmon.cli.alerts import render
from newsmon.settings import Settings
from tests.unit.collectors.conftest import rss, static

FETCHED = datetime(2025, 11, 8, 12, tzinfo=timezone.utc)


def fetch(settings, url, **kwargs):
    async def go():
        async with Fetcher(settings, **kwargs) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


async def public_names(host: str) -> list[str]:
    """Resolver hook: 'inside.example' resolves to a private address, every other name to a public one."""
    return ["10.1.2.3"] if host == "inside.example" else ["93.184.216.34"]


def test_body_trickled_past_the_deadline_times_out(settings, feed_server):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(40):  # headers at once, then a byte every 0.1 s: a slow-loris feed
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(0.1)

    feed_server.routes["/trickle"] = trickle
    settings = settings.model_copy(update={"fetch_timeout_seconds": 1.0})
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(settings, feed_server.url("/trickle"))
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://10.0.0.5/admin",  # private range
    "http://[::1]:8080/",  # IPv6 loopback
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://inside.example/feed",  # a name that resolves to a private address
])
def test_public_feed_may_not_redirect_inside(settings, feed_server, target):
    feed_server.routes["/feed"] = static(b"", 302, {"Location": target})
    with pytest.raises(BlockedRedirect, match="internal address"):
        fetch(settings, feed_server.url("/feed", host="localhost"), resolver=public_names)


def test_corrupt_gzip_is_a_readable_error(settings, feed_server):
    feed_server.routes["/bad"] = static(b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FeedEncodingError, match="corrupt compressed body"):
        fetch(settings, feed_server.url("/bad"))


def test_unknown_content_encoding_is_refused(settings, feed_server):
    feed_server.routes["/br"] = static(b"\x0b\x02\x80", headers={"Content-Encoding": "br"})
    with pytest.raises(FeedEncodingError, match="unsupported Content-Encoding 'br'"):
        fetch(settings, feed_server.url("/br"))


def test_deflate_bomb_is_stopped_at_the_decompressed_cap(settings, feed_server):
    bomb = zlib.compress(b"\0" * (32 * 1024 * 1024), 9)
    assert len(bomb) < settings.max_feed_bytes
    feed_server.routes["/deflate"] = static(bomb, headers={"Content-Encoding": "deflate"})
    with pytest.raises(FeedTooLarge, match="after decompression"):
        fetch(settings, feed_server.url("/deflate"))


def test_oversize_entries_are_cut_to_the_caps():
    huge_title = "Bushehr " * (MAX_TITLE_CHARS // 4)
    feed = rss(("big", huge_title)).replace(b"Body of", b"<![CDATA[" + b"x" * (MAX_CONTENT_CHARS + 10) + b"]]> Body of")
    (article,) = articles_from_bytes(feed, "https://loop.example.com/rss", FETCHED)
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(article.content) <= MAX_CONTENT_CHARS, "no more work than the record can keep"
    message = Publisher(Settings(kafka_bootstrap_servers="127.0.0.1:1")).message(article)  # the one size guard
    sent = decode_article(message.value)
    assert message.kind == CUT and len(message.value) <= RAW_RECORD_MAX_BYTES
    assert sent.content.endswith(CUT_MARKER) and sent.body_reason == CUT_REASON


def test_terminal_control_sequences_in_a_title_reach_the_alert_line_as_plain_text():
    title = "Snapback \x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ [bold red]FAKE[/] \u202edesrever"
    feed = rss(("esc", "placeholder")).replace(b"placeholder", title.encode())
    (article,) = articles_from_bytes(feed, "https://loop.example.com/rss", FETCHED)
    assert "\x1b" in article.title, "the feed does deliver the escape sequences (else this test proves nothing)"
    alert = Alert(kind="story", topic="snapback", title=article.title, url=article.url, source="evil\x1b[31m",
                  published="2025-11-08T10:00:00Z")
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system=None, width=400).print(render(alert))
    line = out.getvalue()
    assert "\x1b" not in line and "\u202e" not in line
    assert "[bold red]FAKE[/]" in line, "feed markup is printed literally, not applied"
