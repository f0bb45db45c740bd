"""The collection cycle end to end over loopback HTTP: isolation, backoff, restart safety."""
from __future__ import annotations

import asyncio
import json
import time

from newsmon.collectors.publisher import PublishError
from newsmon.collectors.run import (
    BACKING_OFF,
    COLLECTED,
    FAILED,
    NOT_MODIFIED,
    UNPUBLISHED,
    collect_once,
    poll,
)
from newsmon.collectors.state import STATE_FILE, StateStore

from tests.unit.collectors.conftest import rss, send, static


class ListSink:
    """Collects what a cycle hands over; optionally fails like an unreachable broker."""

    def __init__(self, fail: bool = False) -> None:
        self.articles = []
        self.fail = fail

    async def __call__(self, articles):
        if self.fail:
            raise PublishError("broker unreachable (test)")
        self.articles.extend(articles)

    @property
    def titles(self):
        return sorted(a.title for a in self.articles)


def cycle(settings, feeds, sink, store=None):
    return asyncio.run(collect_once(settings, feeds, sink, store=store))


def test_slow_feed_does_not_delay_the_fast_one(settings, feed_server):
    def slow(handler):
        time.sleep(3)
        send(handler, 200, rss(("s", "Slow")))

    feed_server.routes["/slow"] = slow
    feed_server.routes["/fast"] = static(rss(("f", "Fast")))
    settings = settings.model_copy(update={"fetch_timeout_seconds": 1.0})
    sink = ListSink()
    started = time.monotonic()
    report = cycle(settings, [feed_server.url("/slow"), feed_server.url("/fast")], sink)
    assert time.monotonic() - started < 2.5
    assert [o.status for o in report.outcomes] == [FAILED, COLLECTED]
    assert sink.titles == ["Fast"]


def test_each_bad_feed_is_one_log_line_and_the_run_goes_on(settings, feed_server, caplog):
    feed_server.routes["/ok"] = static(rss(("a", "A")))
    feed_server.routes["/html"] = static(b"<!DOCTYPE html><html><body>hi</body></html>", headers={"Content-Type": "text/html"})
    feed_server.routes["/gone"] = static(b"", 410)
    sink = ListSink()
    report = cycle(settings, [feed_server.url(p) for p in ("/html", "/ok", "/gone")], sink)
    assert report.count(FAILED) == 2 and sink.titles == ["A"]
    errors = [r.getMessage() for r in caplog.records if "event=feed-error" in r.getMessage()]
    assert len(errors) == 2
    assert any("/html" in e and "not a feed: HTML page" in e for e in errors)
    assert any("/gone" in e and "HTTP 410" in e for e in errors)


def test_429_retry_after_postpones_the_feed(settings, feed_server):
    feed_server.routes["/limited"] = static(b"", 429, {"Retry-After": "120"})
    store = StateStore.load(settings.data_dir)
    cycle(settings, [feed_server.url("/limited")], ListSink(), store)
    state = store.feed(feed_server.url("/limited"))
    assert 115 < state.next_fetch - time.time() <= 120
    report = cycle(settings, [feed_server.url("/limited")], ListSink(), store)
    assert report.outcomes[0].status == BACKING_OFF
    assert feed_server.hits("/limited") == 1  # honoured: no second request


def test_500_backs_off_exponentially_and_recovers(settings, feed_server):
    feed_server.routes["/flaky"] = static(b"oops", 500)
    url = feed_server.url("/flaky")
    store = StateStore.load(settings.data_dir)
    cycle(settings, [url], ListSink(), store)
    first_delay = store.feed(url).next_fetch - time.time()
    store.feed(url).next_fetch = 0  # pretend the backoff elapsed
    cycle(settings, [url], ListSink(), store)
    state = store.feed(url)
    assert state.errors == 2 and state.last_error == "HTTP 500 Internal Server Error"
    assert 1.9 < (state.next_fetch - time.time()) / first_delay < 2.1
    feed_server.routes["/flaky"] = static(rss(("a", "A")))
    state.next_fetch = 0
    cycle(settings, [url], ListSink(), store)
    assert state.errors == 0 and state.last_error == ""


def test_restart_publishes_only_new_items(settings, feed_server):
    url = feed_server.url("/feed")
    feed_server.routes["/feed"] = static(rss(("a", "A"), ("b", "B")))
    first = ListSink()
    cycle(settings, [url], first)  # loads and saves the state file under data_dir
    assert first.titles == ["A", "B"]
    assert json.loads((settings.data_dir / STATE_FILE).read_text())[url]["seen"]

    feed_server.routes["/feed"] = static(rss(("c", "C"), ("a", "A"), ("b", "B")))  # C appeared while down
    second = ListSink()
    cycle(settings, [url], second)  # a fresh StateStore: as after a process restart
    assert second.titles == ["C"]


def test_unacknowledged_articles_are_not_marked_seen(settings, feed_server):
    url = feed_server.url("/feed")
    feed_server.routes["/feed"] = static(rss(("a", "A")), headers={"ETag": '"v1"'})
    report = cycle(settings, [url], ListSink(fail=True))
    assert report.outcomes[0].status == UNPUBLISHED
    state = StateStore.load(settings.data_dir).feed(url)
    assert state.seen == [] and state.etag is None  # neither seen ids nor validators advanced
    retry = ListSink()
    cycle(settings, [url], retry)
    assert retry.titles == ["A"]
    assert "if-none-match" not in feed_server.requests["/feed"][1]


def test_not_modified_feed_sinks_nothing(settings, feed_server):
    def conditional(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            send(handler, 304)
        else:
            send(handler, 200, rss(("a", "A")), {"ETag": '"v1"'})

    feed_server.routes["/feed"] = conditional
    url = feed_server.url("/feed")
    cycle(settings, [url], ListSink())
    sink = ListSink()
    report = cycle(settings, [url], sink)
    assert report.outcomes[0].status == NOT_MODIFIED and sink.articles == []


def test_duplicate_entries_in_one_feed_are_sunk_once(settings, feed_server):
    feed_server.routes["/feed"] = static(rss(("a", "A"), ("a", "A")))
    sink = ListSink()
    cycle(settings, [feed_server.url("/feed")], sink)
    assert sink.titles == ["A"]


def test_poll_repeats_until_stopped(settings, feed_server):
    feed_server.routes["/feed"] = static(rss(("a", "A")))

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(poll(settings, [feed_server.url("/feed")], ListSink(), stop))
        while feed_server.hits("/feed") < 3:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(go())
    assert feed_server.hits("/feed") >= 3


def test_an_unexpected_error_in_one_feed_fails_and_backs_off_that_feed_only(settings, feed_server, monkeypatch, caplog):
    import newsmon.collectors.run as run

    real = run.articles_from_bytes

    def buggy(data, url, *args, **kwargs):  # a library raising what it should not, for one feed
        if url.endswith("/buggy"):
            raise TypeError("'NoneType' object is not subscriptable")
        return real(data, url, *args, **kwargs)

    monkeypatch.setattr(run, "articles_from_bytes", buggy)
    feed_server.routes["/buggy"] = static(rss(("b", "Buggy")))
    feed_server.routes["/fine"] = static(rss(("f", "Fine")))
    store, sink = StateStore(None), ListSink()
    report = cycle(settings, [feed_server.url("/buggy"), feed_server.url("/fine")], sink, store)
    assert [o.status for o in report.outcomes] == [FAILED, COLLECTED] and sink.titles == ["Fine"]
    assert report.outcomes[0].reason == "unexpected TypeError: 'NoneType' object is not subscriptable"
    assert caplog.text.count("event=feed-error") == 1 and "Traceback" not in caplog.text
    again = cycle(settings, [feed_server.url("/buggy"), feed_server.url("/fine")], sink, store)
    assert [o.status for o in again.outcomes] == [BACKING_OFF, COLLECTED]


def test_a_full_disk_for_the_raw_archive_costs_the_copy_not_the_articles(settings, feed_server, monkeypatch):
    import errno

    import newsmon.collectors.run as run

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run, "archive_fetch", full)
    feed_server.routes["/feed"] = static(rss(("a", "Kept"), ("b", "Also kept")))
    sink = ListSink()
    (outcome,) = cycle(settings.model_copy(update={"archive": True}), [feed_server.url("/feed")], sink).outcomes
    assert outcome.status == COLLECTED and outcome.counts["archive-failed"] == 1
    assert sink.titles == ["Also kept", "Kept"]
