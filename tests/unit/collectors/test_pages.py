"""The page stage's politeness on a fake clock: per-host interval and concurrency, robots.txt,
Retry-After backoff of one host only, the queue cap, and that every article comes out once."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from newsmon.collectors.archive import archived_page
from newsmon.collectors.extract import FULL_TEXT_OFF
from newsmon.collectors.fetcher import (
    BlockedAddress,
    BlockedRedirect,
    FeedHTTPError,
    FeedTooLarge,
    FetchResult,
    FetchTimeout,
    InvalidFeedURL,
)
from newsmon.collectors.pages import (
    BACKING_OFF,
    HostSchedule,
    PageStage,
    backoff_seconds,
    reason_for,
    shard_feeds,
)
from newsmon.collectors.run import collect_once, publish_page
from newsmon.collectors.state import StateStore
from newsmon.schemas.article import Article

from newsmon.settings import Settings
from tests.unit.collectors.conftest import static

FEED = "http://127.0.0.1:9/rss"
WORDS = ("Negotiators from both capitals met again on Thursday to discuss the reactor fuel schedule, "
         "and officials said the talks had moved forward on inspections, on the timetable for deliveries "
         "and on the financing of the second unit. ") * 8
ARTICLE_HTML = (f"<html lang='en'><head><title>Talks resume</title></head><body><nav>Home | World | Sport</nav>"
                f"<article><h1>Talks resume</h1><p>{WORDS}</p><p>{WORDS}</p></article>"
                "<footer>Copyright</footer></body></html>").encode()


class FakeClock:
    """Virtual seconds: time jumps to the earliest sleeper's wake-up once every task is waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        await woken

    async def run(self, work):
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(200):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                wake, _, woken = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                woken.set_result(None)
        return task.result()


@pytest.fixture(autouse=True)
def inline_threads(monkeypatch):
    """Extraction and archiving run inline, so virtual time never moves while a thread works."""
    async def inline(function, *args, **kwargs):
        return function(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", inline)


class FakeSite:
    """Answers Fetcher.get from a table of url -> FetchResult or exception; records (time, url)."""

    def __init__(self, clock: FakeClock, answers: dict[str, object] | None = None, hold: float = 0.0) -> None:
        self.clock = clock
        self.answers = answers or {}
        self.hold = hold  # real seconds a request stays in flight
        self.calls: list[tuple[float, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def get(self, url: str, *, origin: str, max_bytes: int | None = None) -> FetchResult:
        self.calls.append((self.clock(), url))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.hold)
            answer = self.answers.get(url)
            if answer is None:
                if url.endswith("/robots.txt"):
                    raise FeedHTTPError(404, "Not Found")
                answer = FetchResult(url, url, 200, ARTICLE_HTML, content_type="text/html; charset=utf-8")
            if callable(answer):
                answer = answer()
            if isinstance(answer, Exception):
                raise answer
            return answer
        finally:
            self.in_flight -= 1

    def starts(self, host: str) -> list[float]:
        return [when for when, url in self.calls if f"//{host}/" in url and not url.endswith("/robots.txt")]


def article(host: str, n: int) -> Article:
    return Article(id=f"{host}-{n}", url=f"http://{host}/news/{n}", title=f"Story {n}",
                   summary="A teaser of one sentence.", content="A teaser of one sentence.", feed=FEED)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, archive=False, page_host_concurrency=2, page_host_interval_seconds=1.0,
                    page_max_wait_seconds=60.0, page_host_queue=100)


def run_stage(settings, site, clock, articles):
    published: list[Article] = []

    async def publish(feed: str, done: Article, last: bool) -> None:
        published.append(done)

    async def go():
        stage = PageStage(settings, site, publish, clock=clock, sleep=clock.sleep)
        for item in articles:
            stage.submit(FEED, item)
        await clock.run(stage.drain())
        assert stage.pending(FEED) == set()
        return stage

    stage = asyncio.run(go())
    return {a.id: a for a in published}, stage, published


def gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [round(b - a, 6) for a, b in itertools.pairwise(ordered)]


def test_schedule_spaces_starts_by_the_interval_and_a_backoff_pushes_them_out():
    schedule = HostSchedule(interval=1.0)
    assert [schedule.book(0.0) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert schedule.delay(10.0) == 0.0
    schedule.back_off(10.0, 30.0, "http-429")
    assert schedule.backing_off(20.0) and not schedule.backing_off(40.0)
    assert schedule.book(20.0) == 20.0 and schedule.book(20.0) == 21.0


def test_reasons_name_what_failed():
    assert reason_for(FeedHTTPError(404, "Not Found")) == "http-404"
    assert reason_for(FeedHTTPError(502, "Bad Gateway")) == "http-5xx"
    assert reason_for(FeedHTTPError(410, "Gone")) == "http-4xx"
    assert reason_for(FetchTimeout("slow")) == "timeout"
    assert reason_for(FeedTooLarge("big")) == "too-large"
    assert reason_for(BlockedRedirect("to 10.1.2.3")) == "redirect-private"
    assert reason_for(BlockedAddress("10.1.2.3")) == "address-private"
    assert reason_for(InvalidFeedURL("not a valid http(s) URL: http://h:99999/")) == "invalid-url"
    assert backoff_seconds(FeedHTTPError(429, "", retry_after=7)) == 7
    assert backoff_seconds(FeedHTTPError(429, "")) == 60
    assert backoff_seconds(FeedHTTPError(503, "")) is None  # a 503 that asks nothing is a failure, not a backoff
    assert backoff_seconds(FeedHTTPError(500, "", retry_after=7)) is None


def test_one_host_is_asked_at_most_once_a_second_and_another_host_is_not_held_up(settings):
    clock = FakeClock()
    site = FakeSite(clock)
    items = [article("a.test", n) for n in range(5)] + [article("b.test", n) for n in range(2)]
    by_id, _, published = run_stage(settings, site, clock, items)
    assert len(published) == 7 and set(by_id) == {item.id for item in items}
    assert all(done.body_source == "page" and "reactor fuel schedule" in done.content for done in published)
    assert all(done.summary == "A teaser of one sentence." for done in published)
    assert min(gaps(site.starts("a.test"))) >= 1.0
    assert min(site.starts("b.test")) <= 1.0  # b's first page did not wait behind a's queue


def test_no_more_than_the_host_concurrency_is_in_flight(settings):
    clock = FakeClock()
    site = FakeSite(clock, hold=0.02)
    run_stage(settings.model_copy(update={"page_host_interval_seconds": 0.0}), site, clock,
              [article("a.test", n) for n in range(6)])
    assert site.most_in_flight == 2


def test_retry_after_backs_off_that_host_only_and_the_page_is_asked_once_more(settings):
    clock = FakeClock()
    answers = iter([FeedHTTPError(429, "Too Many Requests", retry_after=5.0)])
    site = FakeSite(clock, {"http://a.test/news/0": lambda: next(answers, None) or FetchResult(
        "http://a.test/news/0", "http://a.test/news/0", 200, ARTICLE_HTML, content_type="text/html")})
    by_id, stage, _ = run_stage(settings, site, clock, [article("a.test", 0), article("a.test", 1),
                                                       article("b.test", 0), article("b.test", 1)])
    assert by_id["a.test-0"].body_source == "page"  # asked again after the backoff
    assert [url for _, url in site.calls].count("http://a.test/news/0") == 2
    a_times = {url: when for when, url in site.calls}
    assert a_times["http://a.test/news/1"] >= 5.0 and site.calls[-1][0] >= 5.0
    assert max(site.starts("b.test")) < 5.0  # b went on meanwhile
    assert stage.stats.hosts["a.test"].teasers == {}


def test_a_backoff_longer_than_the_wait_cap_makes_teasers_without_asking_again(settings):
    clock = FakeClock()
    site = FakeSite(clock, {"http://a.test/news/0": FeedHTTPError(429, "Too Many Requests", retry_after=3600.0)})
    by_id, stage, _ = run_stage(settings.model_copy(update={"page_host_concurrency": 1}), site, clock,
                                [article("a.test", n) for n in range(4)])
    assert {done.body_reason for done in by_id.values()} == {"http-429"}
    assert {done.body_source for done in by_id.values()} == {"teaser"}
    assert site.starts("a.test") == [1.0]  # after robots.txt at 0; the three others never reached the host
    assert stage.stats.hosts["a.test"].state == BACKING_OFF and "a.test" in stage.stats.backing_off()
    assert stage.stats.snapshot()["a.test"]["teasers"] == {"http-429": 4}


def test_robots_disallow_and_crawl_delay_are_honoured_and_robots_is_read_once(settings):
    clock = FakeClock()
    robots = b"User-agent: newsmon\nDisallow: /news/private\nCrawl-delay: 3\n\nUser-agent: *\nDisallow: /\n"
    site = FakeSite(clock, {"http://a.test/robots.txt": FetchResult("", "", 200, robots, content_type="text/plain")})
    items = [article("a.test", n) for n in range(3)] + [
        Article(id="private", url="http://a.test/news/private-1", title="P", summary="T.", feed=FEED)]
    by_id, stage, _ = run_stage(settings, site, clock, items)
    assert by_id["private"].body_reason == "robots" and by_id["private"].content == ""
    assert "http://a.test/news/private-1" not in [url for _, url in site.calls]
    assert [url for _, url in site.calls].count("http://a.test/robots.txt") == 1
    assert min(gaps(site.starts("a.test"))) >= 3.0
    assert stage.stats.hosts["a.test"].robots == "robots-read"


def test_an_unreachable_robots_txt_fetches_no_page(settings):
    clock = FakeClock()
    site = FakeSite(clock, {"http://a.test/robots.txt": FeedHTTPError(503, "Service Unavailable")})
    by_id, _, _ = run_stage(settings, site, clock, [article("a.test", 0), article("a.test", 1)])
    assert {done.body_reason for done in by_id.values()} == {"robots-unavailable"}
    assert site.starts("a.test") == []


def test_a_full_host_queue_publishes_teasers_at_once_and_loses_nothing(settings):
    clock = FakeClock()
    site = FakeSite(clock)
    items = [article("a.test", n) for n in range(5)]
    by_id, stage, published = run_stage(settings.model_copy(update={"page_host_queue": 2}), site, clock, items)
    assert len(published) == 5 and set(by_id) == {item.id for item in items}
    assert sorted(done.body_source for done in published) == ["page", "page", "teaser", "teaser", "teaser"]
    assert stage.stats.hosts["a.test"].teasers == {"queue-full": 3}


def test_a_host_whose_queue_is_longer_than_the_wait_cap_gives_teasers(settings):
    clock = FakeClock()
    site = FakeSite(clock)
    by_id, _, _ = run_stage(settings.model_copy(update={"page_max_wait_seconds": 3.5, "page_host_concurrency": 1}),
                            site, clock, [article("a.test", n) for n in range(6)])
    reasons = sorted(done.body_reason for done in by_id.values())
    assert reasons == ["", "", "", "queue-full", "queue-full", "queue-full"]  # robots.txt at 0, pages at 1, 2, 3
    assert site.starts("a.test") == [1.0, 2.0, 3.0]


def test_fetch_failures_become_teasers_with_their_reason(settings):
    clock = FakeClock()
    site = FakeSite(clock, {
        "http://a.test/news/0": FeedHTTPError(404, "Not Found"),
        "http://a.test/news/1": FetchTimeout("no complete response within 15s"),
        "http://a.test/news/2": FetchResult("", "", 200, b"%PDF-1.7 binary", content_type="application/pdf"),
        "http://a.test/news/3": BlockedRedirect("redirect to internal address http://10.1.2.3/"),
    })
    by_id, _, _ = run_stage(settings, site, clock, [article("a.test", n) for n in range(4)])
    assert [by_id[f"a.test-{n}"].body_reason for n in range(4)] == ["http-404", "timeout", "not-html", "redirect-private"]
    assert all(by_id[f"a.test-{n}"].content == "A teaser of one sentence." for n in range(4))


def test_fetched_pages_are_archived_when_archiving_is_on(settings, tmp_path):
    clock = FakeClock()
    site = FakeSite(clock)
    run_stage(settings.model_copy(update={"archive": True}), site, clock, [article("a.test", 0)])
    assert archived_page(tmp_path, "http://a.test/news/0")[0] == ARTICLE_HTML


# --- wired into the collection cycle (collectors/run.py) -----------------------------------

def teaser_feed(base: str, *slugs: str) -> bytes:
    items = "".join(f"<item><title>Story {s}</title><link>{base}/news/{s}</link><guid>{s}</guid>"
                    f"<description>A teaser of one sentence.</description></item>" for s in slugs)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def page_settings(settings_fixture):
    return settings_fixture.model_copy(update={"full_text": "auto", "page_host_interval_seconds": 0.05,
                                               "archive": False})


def test_collect_once_returns_after_the_pages_and_remembers_them_once_published(settings, feed_server):
    base = feed_server.url("")
    feed_server.routes["/rss"] = static(teaser_feed(base, "a", "b"), headers={"ETag": '"v1"'})
    feed_server.routes["/news/a"] = static(ARTICLE_HTML, headers={"Content-Type": "text/html; charset=utf-8"})
    sink: list[Article] = []

    async def take(articles):
        sink.extend(articles)

    store = StateStore(None)
    report = asyncio.run(collect_once(page_settings(settings), [feed_server.url("/rss")], take, store=store))
    by_title = {a.title: a for a in sink}
    assert report.new == 2 and set(by_title) == {"Story a", "Story b"}
    assert by_title["Story a"].body_source == "page" and "reactor fuel schedule" in by_title["Story a"].content
    assert (by_title["Story b"].body_source, by_title["Story b"].body_reason) == ("teaser", "http-404")
    state = store.feed(feed_server.url("/rss"))
    assert sorted(state.seen) == sorted(a.id for a in sink) and state.etag == '"v1"'
    assert feed_server.hits("/robots.txt") == 1


def test_an_article_waiting_for_its_page_is_not_seen_nor_handed_over_twice(settings, feed_server):
    base = feed_server.url("")
    feed_server.routes["/rss"] = static(teaser_feed(base, "a"), headers={"ETag": '"v1"'})
    sink: list[Article] = []

    async def take(articles):
        sink.extend(articles)

    class HeldSite(FakeSite):
        release = None

        async def get(self, url, *, origin, max_bytes=None):
            if not url.endswith("/robots.txt"):
                await self.release.wait()
            return await super().get(url, origin=origin, max_bytes=max_bytes)

    async def go():
        settings_ = page_settings(settings)
        store = StateStore(None)
        site = HeldSite(FakeClock())
        site.release = asyncio.Event()
        stage = PageStage(settings_, site, publish_page(take, store))
        feed = feed_server.url("/rss")
        for _ in range(2):  # two polls while the page is held
            await collect_once(settings_, [feed], take, store=store, pages=stage)
        state = store.feed(feed)
        during = (list(sink), set(state.seen), state.etag, stage.pending(feed))
        site.release.set()
        await stage.drain()
        return during, store.feed(feed)

    (published, seen, etag, pending), state = asyncio.run(go())
    assert published == [] and seen == set() and etag is None and len(pending) == 1
    assert [a.title for a in sink] == ["Story a"] and state.seen == [sink[0].id]
    assert state.etag == '"v1"' and state.held_etag is None  # advanced with the last waiting article


# --- scale-out and the command line -------------------------------------------------------

def test_shards_split_the_feeds_by_host_and_cover_each_once():
    feeds = [f"https://{host}/{path}" for host in ("www.a.example", "b.example", "c.example", "d.example")
             for path in ("rss", "world.xml")] + ["https://a.example/other"]
    shards = [shard_feeds(feeds, index, 3) for index in (1, 2, 3)]
    assert sorted(feed for shard in shards for feed in shard) == sorted(feeds)
    shard_of = {feed: n for n, shard in enumerate(shards) for feed in shard}
    for host in ("a.example", "b.example", "c.example", "d.example"):  # www.a.example and a.example are one host
        assert len({n for feed, n in shard_of.items() if feed.split("/")[2].removeprefix("www.") == host}) == 1
    assert len(set(shard_of.values())) > 1, "four hosts, three shards: not all in one"


def test_no_full_text_fetches_no_page_and_a_bad_shard_is_a_usage_error(tmp_path, feed_server):
    feed_server.routes["/rss"] = static(teaser_feed(feed_server.url(""), "a"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")} | {
        "NEWSMON_DATA_DIR": str(tmp_path), "NEWSMON_CONFIG": os.devnull, "NEWSMON_FULL_TEXT": "auto"}
    command = [sys.executable, "-m", "newsmon.cli", "collect", "--once", "--stdout", "--feed", feed_server.url("/rss")]
    done = subprocess.run([*command, "--no-full-text", "--shard", "1/1"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (record["body_source"], record["body_reason"]) == ("teaser", FULL_TEXT_OFF)
    assert feed_server.hits("/news/a") == 0 and feed_server.hits("/robots.txt") == 0
    bad = subprocess.run([*command, "--shard", "4/3"], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2 and "expected K/N" in bad.stderr
