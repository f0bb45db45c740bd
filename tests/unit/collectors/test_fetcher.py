"""Fetcher against a real loopback HTTP server: validators, deadlines, caps, redirects, status codes."""
from __future__ import annotations

import asyncio
import gzip
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from newsmon.collectors.fetcher import (
    BlockedAddress,
    BlockedRedirect,
    FeedFileError,
    FeedHTTPError,
    FeedTooLarge,
    Fetcher,
    FetchLimits,
    FetchTimeout,
    RedirectLoop,
    TooManyRedirects,
    parse_retry_after,
)

from tests.unit.collectors.conftest import FEEDS, rss, send, static


def fetch(settings, url, **kwargs):
    async def go():
        async with Fetcher(settings, **kwargs) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


def test_conditional_get_sends_validators_and_returns_not_modified(settings, feed_server):
    body = rss(("a", "A"))

    def conditional(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            send(handler, 304)
        else:
            send(handler, 200, body, {"ETag": '"v1"', "Last-Modified": "Sat, 08 Nov 2025 10:00:00 GMT"})

    feed_server.routes["/feed"] = conditional

    async def go():
        async with Fetcher(settings) as fetcher:
            first = await fetcher.fetch(feed_server.url("/feed"))
            second = await fetcher.fetch(feed_server.url("/feed"), first.etag, first.last_modified)
            return first, second

    first, second = asyncio.run(go())
    assert (first.status, first.body, first.etag) == (200, body, '"v1"')
    assert second.not_modified and second.body == b""
    sent = feed_server.requests["/feed"][1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Sat, 08 Nov 2025 10:00:00 GMT"


def test_slow_server_times_out(settings, feed_server):
    def slow(handler):
        time.sleep(3)
        send(handler, 200, rss())

    feed_server.routes["/slow"] = slow
    settings = settings.model_copy(update={"fetch_timeout_seconds": 0.5})
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match="no complete response within"):
        fetch(settings, feed_server.url("/slow"))
    assert time.monotonic() - started < 2


def test_timeout_is_capped_at_30_seconds(settings):
    fetcher = Fetcher(settings.model_copy(update={"fetch_timeout_seconds": 600}))
    assert fetcher.timeout == 30
    asyncio.run(fetcher.client.aclose())


def test_declared_size_over_cap_is_refused(settings, feed_server):
    feed_server.routes["/big"] = static(b"<" + b"x" * (settings.max_feed_bytes + 10))
    with pytest.raises(FeedTooLarge, match="Content-Length"):
        fetch(settings, feed_server.url("/big"))


def test_streamed_size_over_cap_is_refused_without_content_length(settings, feed_server):
    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<" * 65536
        for _ in range(10):  # 640 KiB against a 256 KiB cap
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.wfile.write(b"0\r\n\r\n")

    feed_server.routes["/chunked"] = chunked
    with pytest.raises(FeedTooLarge, match="exceeds"):
        fetch(settings, feed_server.url("/chunked"))


def test_gzip_bomb_is_stopped_at_the_decompressed_cap(settings, feed_server):
    bomb = gzip.compress(b"\0" * (32 * 1024 * 1024))  # 32 MiB of zeros in ~32 KiB
    assert len(bomb) < settings.max_feed_bytes
    feed_server.routes["/bomb"] = static(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FeedTooLarge, match="after decompression"):
        fetch(settings, feed_server.url("/bomb"))


def test_gzip_body_is_decoded(settings, feed_server):
    body = rss(("a", "A"))
    feed_server.routes["/gz"] = static(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert fetch(settings, feed_server.url("/gz")).body == body
    assert feed_server.requests["/gz"][0]["accept-encoding"] == "gzip, deflate"


def test_redirects_are_followed_up_to_the_cap(settings, feed_server):
    for n in range(5):
        feed_server.routes[f"/r{n}"] = static(b"", 302, {"Location": f"/r{n + 1}"})
    feed_server.routes["/r5"] = static(rss())
    assert fetch(settings, feed_server.url("/r2")).final_url == feed_server.url("/r5")
    with pytest.raises(TooManyRedirects, match="more than 3 redirects"):
        fetch(settings, feed_server.url("/r0"))


def test_redirect_loop_is_detected(settings, feed_server):
    feed_server.routes["/a"] = static(b"", 301, {"Location": "/b"})
    feed_server.routes["/b"] = static(b"", 301, {"Location": "/a"})
    with pytest.raises(RedirectLoop, match="redirect loop"):
        fetch(settings, feed_server.url("/a"))


async def pretend_public(host: str) -> list[str]:
    """Resolver hook: every *name* is a public address; IP literals are never resolved."""
    return ["93.184.216.34"]


def test_public_host_redirecting_to_loopback_is_refused(settings, feed_server):
    feed_server.routes["/feed"] = static(b"", 302, {"Location": feed_server.url("/internal")})
    feed_server.routes["/internal"] = static(rss())
    with pytest.raises(BlockedRedirect, match="internal address"):
        fetch(settings, feed_server.url("/feed", host="localhost"), resolver=pretend_public)
    assert feed_server.hits("/internal") == 0


def test_feed_configured_on_a_private_address_may_redirect_internally(settings, feed_server):
    feed_server.routes["/feed"] = static(b"", 302, {"Location": feed_server.url("/internal")})
    feed_server.routes["/internal"] = static(rss(("a", "A")))
    assert fetch(settings, feed_server.url("/feed")).status == 200


def test_redirect_to_file_url_is_refused(settings, feed_server):
    feed_server.routes["/feed"] = static(b"", 302, {"Location": "file:///etc/passwd"})
    with pytest.raises(BlockedRedirect, match="non-HTTP"):
        fetch(settings, feed_server.url("/feed"))


def test_429_carries_retry_after(settings, feed_server):
    feed_server.routes["/limited"] = static(b"slow down", 429, {"Retry-After": "120"})
    with pytest.raises(FeedHTTPError, match="HTTP 429") as caught:
        fetch(settings, feed_server.url("/limited"))
    assert caught.value.status == 429 and caught.value.retry_after == 120


def test_retry_after_accepts_http_dates():
    now = datetime(2025, 11, 8, 10, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert parse_retry_after(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None


def test_file_urls_are_read_and_missing_files_reported(settings, tmp_path):
    result = fetch(settings, (FEEDS / "seeds.rss").as_uri())
    assert result.status == 200 and b"<rss" in result.body and result.last_modified
    with pytest.raises(FeedFileError, match="cannot read"):
        fetch(settings, (tmp_path / "absent.xml").as_uri())


def test_unchanged_file_is_not_modified(settings):
    url = (FEEDS / "seeds.rss").as_uri()

    async def go():
        async with Fetcher(settings) as fetcher:
            first = await fetcher.fetch(url)
            return await fetcher.fetch(url, None, first.last_modified)

    assert asyncio.run(go()).not_modified


def get(settings, url, origin, **kwargs):
    async def go():
        async with Fetcher(settings, **kwargs) as fetcher:
            return await fetcher.get(url, origin=origin)

    return asyncio.run(go())


def test_a_page_linked_from_a_loopback_feed_may_be_on_loopback(settings, feed_server):
    feed_server.routes["/page"] = static(b"<html><p>x</p></html>", headers={"Content-Type": "text/html"})
    result = get(settings, feed_server.url("/page"), origin=feed_server.url("/feed"),
                 limits=FetchLimits.for_pages(settings))
    assert result.body == b"<html><p>x</p></html>" and result.content_type == "text/html"
    assert feed_server.requests["/page"][0]["accept"].startswith("text/html")


def test_a_page_on_loopback_linked_from_a_public_feed_is_refused_before_connecting(settings, feed_server):
    feed_server.routes["/page"] = static(b"<html></html>")
    with pytest.raises(BlockedAddress, match="internal address") as caught:
        get(settings, feed_server.url("/page"), origin="https://news.example.com/rss", resolver=pretend_public)
    assert not isinstance(caught.value, BlockedRedirect)
    assert feed_server.hits("/page") == 0


@pytest.mark.parametrize("target", ["http://10.1.2.3/news/1", "http://192.168.0.7/", "http://172.20.0.1/",
                                    "http://169.254.169.254/latest/meta-data/"])
def test_a_loopback_feed_may_not_reach_a_private_range(settings, target):
    async def never_resolve(host: str) -> list[str]:
        raise AssertionError(f"{host} is an address literal: nothing to resolve")

    with pytest.raises(BlockedAddress, match=r"internal address .*\(internal\) refused"):
        get(settings, target, origin="http://127.0.0.1:8080/rss", resolver=never_resolve)


def test_a_page_redirecting_to_a_private_address_is_refused_after_the_hop(settings, feed_server):
    feed_server.routes["/page"] = static(b"", 302, {"Location": "http://10.1.2.3/article"})
    with pytest.raises(BlockedRedirect, match="redirect to internal address http://10.1.2.3/article"):
        get(settings, feed_server.url("/page"), origin=feed_server.url("/feed"))
    assert feed_server.hits("/page") == 1


def test_page_limits_cap_pages_at_max_page_bytes(settings, feed_server):
    settings = settings.model_copy(update={"max_page_bytes": 1000})
    feed_server.routes["/big"] = static(b"<p>" + b"x" * 2000, headers={"Content-Type": "text/html"})
    with pytest.raises(FeedTooLarge, match="exceeds 1000 bytes"):
        get(settings, feed_server.url("/big"), origin=feed_server.url("/feed"), limits=FetchLimits.for_pages(settings))
    assert get(settings, feed_server.url("/big"), origin=feed_server.url("/feed")).status == 200  # the feed cap
