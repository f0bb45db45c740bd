"""The collection cycle: every feed fetched, archived, parsed, filtered and sunk concurrently.

Each feed runs as its own task under a semaphore (settings.fetch_concurrency), so a slow or
broken feed costs one slot, never the cycle. A feed's failure is one log line and a
per-feed backoff in the state file; the others carry on. State for a feed advances only
after its sink (Kafka, or stdout) has taken the new articles.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from newsmon.collectors.archive import archive_fetch
from newsmon.collectors.fetcher import FeedFetchError, Fetcher
from newsmon.collectors.normalize import articles_from_bytes
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
) -> CycleReport:
    """One pass over `feeds`; new articles go to `sink` (default: Kafka). The state file is saved at the end."""
    store = StateStore.load(settings.data_dir) if store is None else store
    if sink is None:
        async with Publisher(settings) as publisher:
            return await collect_once(settings, feeds, publisher.publish, store=store, fetcher=fetcher)
    if fetcher is None:
        async with Fetcher(settings) as own_fetcher:
            return await collect_once(settings, feeds, sink, store=store, fetcher=own_fetcher)
    started = time.monotonic()
    slots = asyncio.Semaphore(max(1, settings.fetch_concurrency))

    async def guarded(url: str) -> FeedOutcome:
        async with slots:
            return await collect_feed(url, settings, fetcher, store.feed(url), sink)

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


async def collect_feed(url: str, settings: Settings, fetcher: Fetcher, state: FeedState, sink: Sink) -> FeedOutcome:
    """`collect_one_feed`, and the isolation boundary around it: an error no guard above foresaw
    (a bug, a library raising what it should not) fails and backs off this feed only, in one
    log line, and the cycle and the other feeds go on."""
    try:
        return await collect_one_feed(url, settings, fetcher, state, sink)
    except Exception as exc:  # noqa: BLE001 - the per-feed boundary; CancelledError still stops the cycle
        reason = f"unexpected {type(exc).__name__}: {exc}".splitlines()[0][:300]
        delay = state.record_failure(time.time(), reason)
        log.error(kv(event="feed-error", feed=url, reason=reason, retry_in=f"{delay:.0f}s"))
        return FeedOutcome(url, FAILED, reason=reason)


async def collect_one_feed(url: str, settings: Settings, fetcher: Fetcher, state: FeedState, sink: Sink) -> FeedOutcome:
    """Fetch -> archive -> parse/normalise -> drop seen -> sink -> commit state, for one feed."""
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
    unseen = state.unseen([article.id for article in articles])
    new = list({article.id: article for article in articles if article.id in unseen}.values())
    try:
        if new:
            await sink(new)
    except PublishError as exc:
        log.warning(kv(event="feed-unpublished", feed=url, articles=len(new), reason=str(exc)))
        return FeedOutcome(url, UNPUBLISHED, len(articles), reason=str(exc), counts=outcome.counts)
    state.record_success(time.time(), result.etag, result.last_modified, [article.id for article in articles])
    outcome.entries, outcome.new = len(articles), len(new)
    log.info(kv(event="feed-collected", feed=url, entries=outcome.entries, new=outcome.new,
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
    async with Fetcher(settings) as fetcher:
        while not stop_event.is_set():
            await collect_once(settings, feeds, sink, store=store, fetcher=fetcher)
            try:
                await asyncio.wait_for(stop_event.wait(), settings.poll_interval_seconds)
            except TimeoutError:
                pass  # interval elapsed: next cycle


async def run_collectors(settings: Settings, feeds: Sequence[str], stop_event: asyncio.Event) -> None:
    """What `newsmon up` runs in-process: poll `feeds` and publish to Kafka until `stop_event` is set."""
    async with Publisher(settings, stop_event) as publisher:
        await poll(settings, feeds, publisher.publish, stop_event)
