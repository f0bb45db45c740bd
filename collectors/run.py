"""The collection cycle: every feed fetched, archived, parsed, filtered and sunk concurrently.

Each feed runs as its own task under a semaphore (settings.fetch_concurrency), so a slow or
broken feed costs one slot, never the cycle. A feed's failure is one log line and a
per-feed backoff in the state file; the others carry on. State for a feed advances only
after its sink (Kafka, or stdout) has taken the new articles.

Articles whose feed carried only a teaser (`extract.wants_page`) go to the page stage
(collectors/pages.py) and polling goes on at once; the stage publishes each one when its
page is done or failed, and only then is it remembered as seen (`FeedState.remember`).
Until then it stays out of `seen`, a later poll does not hand it over twice
(`PageStage.pending`), and the feed's validators are held back until the last waiting
article is published, so a crash while articles wait loses none of them. `collect_once` returns after the page stage drained.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from newsmon.collectors.archive import archive_fetch
from newsmon.collectors.extract import wants_page, without_page
from newsmon.collectors.fetcher import FeedFetchError, Fetcher, FetchLimits
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.pages import PageStage, Publish
from newsmon.collectors.parser import FeedParseError
from newsmon.collectors.publisher import Publisher, PublishError
from newsmon.collectors.state import FeedState, StateStore
from newsmon.schemas.article import Article

from newsmon.core.times import iso_from_epoch
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)

Sink = Callable[[list[Article]], Awaitable[None]]

COLLECTED = "collected"
NOT_MODIFIED = "not-modified"
BACKING_OFF = "backing-off"
FAILED = "failed"
UNPUBLISHED = "unpublished"
ARCHIVE_FAILED = "archive-failed"


@dataclass
class FeedOutcome:
    feed: str
    status: str
    entries: int = 0  # usable articles in the feed
    new: int = 0  # articles handed to the sink
    reason: str = ""
    counts: Counter[str] = field(default_factory=Counter)  # entries repaired or skipped, by reason


@dataclass
class CycleReport:
    outcomes: list[FeedOutcome]
    seconds: float
    state_error: str = ""  # why the state file could not be saved ("" when it was)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)

    @property
    def counts(self) -> Counter[str]:
        return sum((outcome.counts for outcome in self.outcomes), Counter())


async def collect_once(
    settings: Settings,
    feeds: Sequence[str],
    sink: Sink | None = None,
    *,
    store: StateStore | None = None,
    fetcher: Fetcher | None = None,
    pages: PageStage | None = None,
) -> CycleReport:
    """One pass over `feeds`; new articles go to `sink` (default: Kafka). The state file is saved at the end.

    Without `pages` (the polling loop passes its own), the pass has its own page stage and
    returns once every article waiting for its page was published."""
    store = StateStore.load(settings.data_dir) if store is None else store
    if sink is None:
        async with Publisher(settings) as publisher:
            return await collect_once(settings, feeds, publisher.publish, store=store, fetcher=fetcher)
    if fetcher is None:
        async with Fetcher(settings) as own_fetcher:
            return await collect_once(settings, feeds, sink, store=store, fetcher=own_fetcher, pages=pages)
    if pages is None and settings.full_text != "never":
        async with page_stage(settings, sink, store) as own_pages:
            report = await collect_once(settings, feeds, sink, store=store, fetcher=fetcher, pages=own_pages)
            await own_pages.drain()
        report.state_error = save_state(store) or report.state_error  # what the pages published
        return report
    started = time.monotonic()
    slots = asyncio.Semaphore(max(1, settings.fetch_concurrency))

    async def guarded(url: str) -> FeedOutcome:
        async with slots:
            return await collect_feed(url, settings, fetcher, store.feed(url), sink, pages)

    try:
        outcomes = await asyncio.gather(*(guarded(url) for url in dict.fromkeys(feeds)))
    finally:
        state_error = save_state(store)  # keep what was acknowledged even if the cycle is cancelled
    report = CycleReport(list(outcomes), time.monotonic() - started, state_error)
    log.info(kv(event="collect-cycle", feeds=len(outcomes), collected=report.count(COLLECTED),
                not_modified=report.count(NOT_MODIFIED), failed=report.count(FAILED),
                backing_off=report.count(BACKING_OFF), new=report.new, seconds=report.seconds))
    return report


def save_state(store: StateStore) -> str:
    """Save the feeds' state; a full or read-only disk is one line and the reason returned, not a
    stopped collector: the state stays in memory for the next cycle, and a restart before a
    successful save re-sends the items since the last one (deduped downstream by id)."""
    try:
        store.save()
    except OSError as exc:
        log.error(kv(event="state-not-saved", path=store.path, reason=exc.strerror or exc,
                     detail="kept in memory; retried after the next cycle"))
        return f"{store.path}: {exc.strerror or exc}"
    return ""


async def collect_feed(url: str, settings: Settings, fetcher: Fetcher, state: FeedState, sink: Sink,
                       pages: PageStage | None = None) -> FeedOutcome:
    """`collect_one_feed`, and the isolation boundary around it: an error no guard above foresaw
    (a bug, a library raising what it should not) fails and backs off this feed only, in one
    log line, and the cycle and the other feeds go on."""
    try:
        return await collect_one_feed(url, settings, fetcher, state, sink, pages)
    except Exception as exc:  # noqa: BLE001 - the per-feed boundary; CancelledError still stops the cycle
        reason = f"unexpected {type(exc).__name__}: {exc}".splitlines()[0][:300]
        delay = state.record_failure(time.time(), reason)
        log.error(kv(event="feed-error", feed=url, reason=reason, retry_in=f"{delay:.0f}s"))
        return FeedOutcome(url, FAILED, reason=reason)


async def collect_one_feed(url: str, settings: Settings, fetcher: Fetcher, state: FeedState, sink: Sink,
                           pages: PageStage | None = None) -> FeedOutcome:
    """Fetch -> archive -> parse/normalise -> drop seen -> sink (teasers: to the page stage) -> commit state."""
    now = time.time()
    if not state.due(now):
        until = iso_from_epoch(state.next_fetch)
        return FeedOutcome(url, BACKING_OFF, reason=f"backing off until {until} after: {state.last_error}")
    fetched = datetime.now(timezone.utc)
    try:
        result = await fetcher.fetch(url, state.etag, state.last_modified)
        if result.not_modified:
            state.record_not_modified(now)
            log.info(kv(event="feed-not-modified", feed=url))
            return FeedOutcome(url, NOT_MODIFIED)
        outcome = FeedOutcome(url, COLLECTED)
        articles = await asyncio.to_thread(articles_from_bytes, result.body, url, fetched,
                                           content_type=result.content_type, counts=outcome.counts)
        if settings.archive:  # after parsing: a body refused as "not a feed" is not kept
            await keep_raw(settings, url, result.body, fetched, result.content_type, outcome.counts)
    except (FeedFetchError, FeedParseError) as exc:
        delay = state.record_failure(now, str(exc), getattr(exc, "retry_after", None))
        log.warning(kv(event="feed-error", feed=url, reason=str(exc), retry_in=f"{delay:.0f}s"))
        return FeedOutcome(url, FAILED, reason=str(exc))
    waiting = pages.pending(url) if pages else set()  # handed to the page stage by an earlier poll
    unseen = state.unseen([article.id for article in articles]) - waiting
    new = list({article.id: article for article in articles if article.id in unseen}.values())
    paged = [article for article in new if pages and wants_page(article, settings.full_text,
                                                                 settings.full_text_min_words)]
    held = waiting | {article.id for article in paged}
    direct = [without_page(article, settings.full_text_min_words) for article in new if article.id not in held]
    try:
        if direct:
            await sink(direct)
    except PublishError as exc:
        log.warning(kv(event="feed-unpublished", feed=url, articles=len(direct), reason=str(exc)))
        return FeedOutcome(url, UNPUBLISHED, len(articles), reason=str(exc), counts=outcome.counts)
    for article in paged:
        pages.submit(url, article)
    if held:  # the validators wait for the last of these articles (see the module docstring)
        state.hold_validators(result.etag, result.last_modified)
    validators = (None, None) if held else (result.etag, result.last_modified)
    state.record_success(time.time(), *validators, [article.id for article in articles if article.id not in held])
    outcome.entries, outcome.new = len(articles), len(new)
    log.info(kv(event="feed-collected", feed=url, entries=outcome.entries, new=outcome.new, to_pages=len(paged),
                **{key.replace("-", "_"): value for key, value in sorted(outcome.counts.items())}))
    return outcome


async def keep_raw(settings: Settings, url: str, body: bytes, fetched: datetime, content_type: str | None,
                   counts: Counter[str]) -> None:
    """Archive the raw bytes; a full disk costs the archive copy, not the collection."""
    try:
        await asyncio.to_thread(archive_fetch, settings.data_dir, url, body, fetched, content_type)
    except OSError as exc:
        counts[ARCHIVE_FAILED] += 1
        log.warning(kv(event="archive-failed", feed=url, reason=exc))


async def poll(settings: Settings, feeds: Sequence[str], sink: Sink, stop_event: asyncio.Event,
               store: StateStore | None = None) -> None:
    """Run cycles every settings.poll_interval_seconds until `stop_event` is set."""
    store = StateStore.load(settings.data_dir) if store is None else store
    async with Fetcher(settings) as fetcher, page_stage(settings, sink, store) as pages:
        while not stop_event.is_set():
            await collect_once(settings, feeds, sink, store=store, fetcher=fetcher, pages=pages)
            try:
                await asyncio.wait_for(stop_event.wait(), settings.poll_interval_seconds)
            except TimeoutError:
                pass  # interval elapsed: next cycle
    save_state(store)  # what the page stage published since the last cycle


@asynccontextmanager
async def page_stage(settings: Settings, sink: Sink, store: StateStore) -> AsyncIterator[PageStage | None]:
    """The page stage with its own fetcher (None when full_text is "never"); on exit, articles
    still waiting are cancelled: they stay unseen and the next poll hands them over again."""
    if settings.full_text == "never":
        yield None
        return
    async with Fetcher(settings, limits=FetchLimits.for_pages(settings)) as page_fetcher:
        stage = PageStage(settings, page_fetcher, publish_page(sink, store))
        try:
            yield stage
        finally:
            await stage.close()


def publish_page(sink: Sink, store: StateStore) -> Publish:
    """Publish an article the page stage is done with, then remember it as seen; the feed's held
    validators advance with the last waiting article, unless one of them failed to publish."""
    async def publish(feed: str, article: Article, last: bool) -> None:
        state = store.feed(feed)
        try:
            await sink([article])
        except PublishError as exc:  # stays unseen: the next poll of its feed hands it over again
            log.warning(kv(event="page-article-unpublished", feed=feed, url=article.url, reason=str(exc)))
            state.release_validators(advance=False)
            return
        state.remember([article.id])
        if last:
            state.release_validators(advance=True)

    return publish


async def run_collectors(settings: Settings, feeds: Sequence[str], stop_event: asyncio.Event) -> None:
    """What `newsmon up` runs in-process: poll `feeds` and publish to Kafka until `stop_event` is set."""
    async with Publisher(settings, stop_event) as publisher:
        await poll(settings, feeds, publisher.publish, stop_event)
