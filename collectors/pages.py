"""The page stage: an article's linked page fetched politely, beside feed polling, never in its way.

Polling hands each article whose feed carried only a teaser (`extract.wants_page`) to
`PageStage.submit` and goes on; the stage fetches the page and hands the article back to
`publish` when the page is done or failed, with the page's text (`with_page`) or the
feed's teaser and a reason (`as_teaser`). Nothing is dropped: every article submitted is
published exactly once, as a page or as a teaser.

Politeness, per host (scheme://host:port as in the link):
- at most `page_host_concurrency` requests in flight, and request starts at least
  `page_host_interval_seconds` apart (longer if robots.txt asks a Crawl-delay);
- robots.txt read once per host and cached (collectors/robots.py), honoured for pages;
- 429, and 503 with Retry-After, back off that host only until the time the server
  named (429 without Retry-After: DEFAULT_BACKOFF_SECONDS); the article waits and is tried
  once more when that is within `page_max_wait_seconds`, else goes on as a teaser;
- a 429/503 answer gets one more attempt (PAGE_ATTEMPTS), not a retry policy: when to
  ask again is the host's to say, and it applies to every article of that host at once;
- at most `page_host_queue` articles waiting per host, and none waits longer than
  `page_max_wait_seconds` from its submission for its turn (give or take one request in
  flight before it): beyond either, the article goes on at once as a
  teaser with reason `queue-full`.
Pages are fetched by their own `Fetcher` (its own connection pool, FetchLimits.for_pages)
through the same guarded GET as feeds: size cap after decompression, deadline, redirect
cap, and the address guard with the feed as origin, so a link or a redirect into a
private range is refused before any connection.

Each host's counts (`PageStats`) are what the live page and logs read; a host's state
change (backing off, queue full, robots.txt unavailable, back to normal) is one log line,
a page is none.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from newsmon.collectors.archive import archive_page
from newsmon.collectors.extract import as_teaser, extract_page, with_page
from newsmon.collectors.fetcher import (
    BlockedAddress,
    BlockedRedirect,
    FeedEncodingError,
    FeedFetchError,
    FeedHTTPError,
    FeedTooLarge,
    Fetcher,
    FetchResult,
    FetchTimeout,
    InvalidFeedURL,
    RedirectLoop,
    TooManyRedirects,
)
from newsmon.collectors.robots import ROBOTS_MAX_BYTES, UNAVAILABLE, RobotsCache
from newsmon.schemas.article import Article

from newsmon.core.times import iso_from_epoch
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)

# Reasons (Article.body_reason) decided here; extraction adds not-html, extraction-empty, paywall.
ROBOTS = "robots"
ROBOTS_UNAVAILABLE = "robots-unavailable"
QUEUE_FULL = "queue-full"
TIMEOUT = "timeout"
TOO_LARGE = "too-large"
REDIRECT_PRIVATE = "redirect-private"
ADDRESS_PRIVATE = "address-private"
REDIRECTS = "redirects"
BAD_ENCODING = "bad-encoding"
CONNECTION = "connection"
INVALID_URL = "invalid-url"
STAGE_ERROR = "stage-error"  # an unexpected exception in this stage or in extraction (logged with its traceback)

# Host states (one log line when a host's state changes)
OK, BACKING_OFF, FULL = "ok", "backing-off", "queue-full"

BACKOFF_STATUSES = frozenset({429, 503})
DEFAULT_BACKOFF_SECONDS = 60.0  # a 429 that names no Retry-After
PAGE_ATTEMPTS = 2  # a page answered 429/503 is asked once more after the backoff

Publish = Callable[[str, Article, bool], Awaitable[None]]  # (feed URL, article, last of that feed's waiting)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class WaitTooLong(Exception):
    """The host's turn (queue or backoff) is further off than page_max_wait_seconds; str = reason."""


def reason_for(exc: FeedFetchError) -> str:
    """The body_reason of a page that could not be fetched."""
    if isinstance(exc, FeedHTTPError):
        if exc.status in (403, 404, 429):
            return f"http-{exc.status}"
        return "http-5xx" if exc.status >= 500 else "http-4xx" if exc.status >= 400 else f"http-{exc.status}"
    for kind, reason in ((FetchTimeout, TIMEOUT), (FeedTooLarge, TOO_LARGE), (BlockedRedirect, REDIRECT_PRIVATE),
                         (BlockedAddress, ADDRESS_PRIVATE), (TooManyRedirects, REDIRECTS), (RedirectLoop, REDIRECTS),
                         (FeedEncodingError, BAD_ENCODING), (InvalidFeedURL, INVALID_URL)):
        if isinstance(exc, kind):
            return reason
    return CONNECTION


def backoff_seconds(exc: FeedHTTPError) -> float | None:
    """How long the host asked us to stay away, or None when the answer asks nothing."""
    if exc.status not in BACKOFF_STATUSES:
        return None
    if exc.retry_after is not None:
        return exc.retry_after
    return DEFAULT_BACKOFF_SECONDS if exc.status == 429 else None


@dataclass
class HostSchedule:
    """When the next request to one host may start. Pure: the caller passes the clock's reading."""

    interval: float
    next_start: float = 0.0
    backoff_until: float = 0.0
    backoff_reason: str = ""

    def delay(self, now: float) -> float:
        """Seconds until a request could start, were it booked now."""
        return max(now, self.next_start, self.backoff_until) - now

    def book(self, now: float) -> float:
        """Book the next start; returns the seconds to wait for it."""
        start = now + self.delay(now)
        self.next_start = start + self.interval
        return start - now

    def back_off(self, now: float, seconds: float, reason: str) -> None:
        self.backoff_until = max(self.backoff_until, now + seconds)
        self.backoff_reason = reason

    def backing_off(self, now: float) -> bool:
        return now < self.backoff_until


@dataclass
class HostStats:
    """One host's counts since the collector started."""

    fetched: int = 0  # page requests sent (robots.txt not counted)
    pages: int = 0  # articles published with the page's text
    teasers: Counter[str] = field(default_factory=Counter)  # articles published as teasers, by reason
    queued: int = 0  # articles waiting for this host now
    state: str = OK
    until: str = ""  # ISO UTC end of the backoff, when backing off
    robots: str = ""  # robots.txt status (robots-read / robots-absent / robots-unavailable)


class PageStats:
    """Per-host counters; `snapshot()` is the JSON-ready view the live page and metrics read."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostStats] = {}

    def host(self, name: str) -> HostStats:
        return self.hosts.setdefault(name, HostStats())

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {name: {"fetched": s.fetched, "pages": s.pages, "teasers": dict(s.teasers), "queued": s.queued,
                       "state": s.state, "until": s.until, "robots": s.robots}
                for name, s in sorted(self.hosts.items())}

    def backing_off(self) -> dict[str, str]:
        """Hosts backing off now, with until when."""
        return {name: s.until for name, s in self.hosts.items() if s.state == BACKING_OFF}


@dataclass
class Host:
    name: str
    schedule: HostSchedule
    slots: asyncio.Semaphore
    stats: HostStats


class PageStage:
    """Fetch linked pages politely and publish each article once its page is done or failed."""

    def __init__(self, settings: Settings, fetcher: Fetcher, publish: Publish, *,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.publish = publish
        self.clock = clock
        self.sleep = sleep
        self.stats = PageStats()
        self.robots = RobotsCache(settings.robots_ttl_seconds, clock)
        self._hosts: dict[str, Host] = {}
        self._pending: dict[str, set[str]] = {}  # feed URL -> ids of its articles in the stage
        self._tasks: set[asyncio.Task[None]] = set()

    def pending(self, feed: str) -> set[str]:
        """Ids of `feed`'s articles still waiting for their page (not yet published)."""
        return set(self._pending.get(feed, ()))

    def submit(self, feed: str, article: Article) -> None:
        """Queue `article` for its page; a full host queue publishes it as a teaser (queue-full) instead."""
        host = self._host(article.url)
        self._pending.setdefault(feed, set()).add(article.id)
        if host.stats.queued >= self.settings.page_host_queue:
            self._set_state(host, FULL, queued=host.stats.queued)
            self._start(self._finish(feed, host, as_teaser(article, QUEUE_FULL)))
            return
        host.stats.queued += 1
        self._start(self._run(feed, host, article))

    async def drain(self) -> None:
        """Wait until every submitted article has been published."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def close(self) -> None:
        """Cancel what is still waiting (those articles stay unseen and come back next poll)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- one article ------------------------------------------------------------------

    def _start(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, feed: str, host: Host, article: Article) -> None:
        deadline = self.clock() + self.settings.page_max_wait_seconds
        try:
            done = await self._page_article(feed, host, article, deadline)
        except WaitTooLong as waited:
            done = as_teaser(article, str(waited))
        except Exception:  # a bug here must cost the page, never the article
            log.exception(kv(event="page-stage-error", url=article.url))
            done = as_teaser(article, STAGE_ERROR)
        finally:
            host.stats.queued -= 1
        await self._finish(feed, host, done)

    async def _finish(self, feed: str, host: Host, article: Article) -> None:
        if article.body_source == "page":
            host.stats.pages += 1
        else:
            host.stats.teasers[article.body_reason] += 1
        waiting = self._pending.get(feed, set())
        try:
            await self.publish(feed, article, not waiting - {article.id})
        finally:
            waiting.discard(article.id)

    async def _page_article(self, feed: str, host: Host, article: Article, deadline: float) -> Article:
        agent = self.settings.user_agent
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            async with host.slots:
                rules = await self.robots.rules(article.url, lambda url: self._robots_txt(host, url, feed, deadline))
                self._note_robots(host, rules.status, rules.note)
                if not rules.allows(article.url, agent):
                    return as_teaser(article, ROBOTS_UNAVAILABLE if rules.status == UNAVAILABLE else ROBOTS)
                host.schedule.interval = max(self.settings.page_host_interval_seconds, rules.crawl_delay(agent))
                await self._turn(host, deadline)
                fetched = datetime.now(UTC)
                host.stats.fetched += 1
                try:
                    result = await self.fetcher.get(article.url, origin=feed)
                except FeedHTTPError as exc:
                    if self._backed_off(host, exc) and attempt < PAGE_ATTEMPTS:
                        continue  # the next attempt waits in _turn for the host's backoff to end
                    return as_teaser(article, reason_for(exc))
                except FeedFetchError as exc:
                    return as_teaser(article, reason_for(exc))
            self._set_state(host, OK)
            return await self._extracted(article, result, fetched)
        raise AssertionError("unreachable: the last attempt returns")

    async def _robots_txt(self, host: Host, url: str, feed: str, deadline: float) -> FetchResult:
        await self._turn(host, deadline)
        return await self.fetcher.get(url, origin=feed, max_bytes=ROBOTS_MAX_BYTES)

    async def _turn(self, host: Host, deadline: float) -> None:
        """Wait for this host's next start (interval and backoff); WaitTooLong if it comes after `deadline`."""
        while True:
            now = self.clock()
            if now + host.schedule.delay(now) > deadline:
                reason = host.schedule.backoff_reason if host.schedule.backing_off(now) else QUEUE_FULL
                raise WaitTooLong(reason)
            await self.sleep(host.schedule.book(now))
            if not host.schedule.backing_off(self.clock()):  # a backoff may have begun while we waited
                return

    def _backed_off(self, host: Host, exc: FeedHTTPError) -> bool:
        """Back the host off when the answer asks it; True if this article may wait for it."""
        seconds = backoff_seconds(exc)
        if seconds is None:
            return False
        host.schedule.back_off(self.clock(), seconds, reason_for(exc))
        host.stats.until = iso_from_epoch(time.time() + seconds)
        self._set_state(host, BACKING_OFF, status=exc.status, retry_in=f"{seconds:.0f}s", until=host.stats.until)
        return seconds <= self.settings.page_max_wait_seconds

    async def _extracted(self, article: Article, result: FetchResult, fetched: datetime) -> Article:
        content_type = result.content_type or ""
        if self.settings.archive:
            try:
                await asyncio.to_thread(archive_page, self.settings.data_dir, article.url, result.body, content_type,
                                        result.status, fetched)
            except OSError as exc:  # a full disk costs the archive copy, not the article
                log.warning(kv(event="page-archive-failed", url=article.url, reason=exc))
        page = await asyncio.to_thread(extract_page, result.body, result.final_url, content_type)
        return with_page(article, page)

    # --- hosts --------------------------------------------------------------------------

    def _host(self, url: str) -> Host:
        name = urlsplit(url).netloc.lower()
        host = self._hosts.get(name)
        if host is None:
            host = Host(name, HostSchedule(self.settings.page_host_interval_seconds),
                        asyncio.Semaphore(max(1, self.settings.page_host_concurrency)), self.stats.host(name))
            self._hosts[name] = host
        return host

    def _set_state(self, host: Host, state: str, **detail: object) -> None:
        if host.stats.state == state:
            return
        previous, host.stats.state = host.stats.state, state
        if state != BACKING_OFF:
            host.stats.until = ""
        log.log(logging.INFO if state == OK else logging.WARNING,
                kv(event=f"page-host-{state}", host=host.name, was=previous, **detail))

    def _note_robots(self, host: Host, status: str, note: str) -> None:
        if host.stats.robots != status:
            host.stats.robots = status
            log.log(logging.WARNING if status == UNAVAILABLE else logging.INFO,
                    kv(event=f"page-host-{status}", host=host.name, detail=note))


# --- scale-out ------------------------------------------------------------------------------

def shard_key(feed: str) -> str:
    """The host a feed is sharded by: its host name without a leading www."""
    host = (urlsplit(feed).hostname or "").lower()
    return host.removeprefix("www.")


def shard_feeds(feeds: list[str], index: int, count: int) -> list[str]:
    """The feeds collector `index` of `count` (1-based) polls: every feed of one host goes to
    one collector, so that host's article pages are fetched, and its limits kept, in one process."""
    def shard(feed: str) -> int:
        digest = hashlib.blake2b(shard_key(feed).encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % count + 1

    return [feed for feed in feeds if shard(feed) == index]
