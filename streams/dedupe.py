"""Stage 2, sequenced: copy groups and events on the single-partition news.dedupe topic.

Every article meets every earlier one here, whatever partition or worker it was
collected on, so a duplicate can never hide from its original. Persistent state is one
Faust table of per-cluster records backed by a changelog topic, written once per touched
story per batch (newsmon/core/dedupe_records.py); the lookups and the LSH index are
derived from it and rebuilt after recovery or a new partition assignment. Events
(newsmon/core/events.py) are decided right after each article's copy group, in the same
sequence, with their own table of one record per story, flushed once per batch.

Exact copies at another URL are not forwarded (they only count toward their story).
Everything else goes on to news.articles as one batch per partition, each article on the
partition its story id hashes to (as if keyed by it, so every report and copy of an event
meets one alert table) together with the updated documents of its stories.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

import faust
import msgspec
from newsmon.schemas.article import Article, Story, decode_batch, encode, pack
from newsmon.streams.health import Health
from newsmon.streams.topics import RECORD_ERRORS, Topics, dead_letter, json_table, partitioner

from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.dedupe_records import ClusterRecords
from newsmon.core.events import EventClusterer, EventConfig
from newsmon.core.pipeline import assign_event, dedupe
from newsmon.log import kv
from newsmon.retry import describe
from newsmon.settings import Settings

log = logging.getLogger(__name__)
EXPIRE_EVERY_SECONDS = 600.0
STAGE = "dedupe"


def decide_all(articles: list[Article], deduper: Deduper, now: float, clusterer: EventClusterer
               ) -> tuple[list[Article], dict[str, Story], list[tuple[Article, str]]]:
    """The articles to index (all but exact copies), each touched story's document (once,
    as it stands after the batch), and the articles that could not be decided, with why (for
    news.dlq; the others go on)."""
    decided: list[Article] = []
    touched: set[str] = set()
    refused: list[tuple[Article, str]] = []
    for article in articles:
        try:
            article, decision = dedupe(article, deduper, now)
            article, event = assign_event(article, clusterer, deduper, now)
        except RECORD_ERRORS as exc:
            refused.append((article, describe(exc)))
            continue
        touched.update(event.touched)
        if not decision.is_exact_copy:
            decided.append(article)
    return decided, {story_id: story_of(clusterer, story_id) for story_id in touched}, refused


def split_by_partition(
    articles: list[Article], stories: dict[str, Story], partition_of: Callable[[str], int]
) -> dict[int, tuple[list[Article], list[Story]]]:
    """Articles and stories grouped by the partition their story id hashes to, order kept."""
    groups: dict[int, tuple[list[Article], list[Story]]] = defaultdict(lambda: ([], []))
    for article in articles:
        groups[partition_of(article.story_id)][0].append(article)
    for story_id, story in stories.items():
        groups[partition_of(story_id)][1].append(story)
    return dict(groups)


def story_of(clusterer: EventClusterer, story_id: str) -> Story:
    """The story document to index: the event's counts, outlets, languages and topics."""
    return msgspec.convert(clusterer.story(story_id), Story)


def register(app: faust.App, topics: Topics, settings: Settings, health: Health) -> None:
    health.expect(STAGE)
    records = json_table(app, "dedupe-clusters", partitions=1)
    event_records = json_table(app, "events-stories", partitions=1)
    config = DedupeConfig(window_days=settings.dedupe_window_days)
    event_config = EventConfig(window_days=settings.events_window_days)
    partition_of = partitioner(topics.articles.partitions or app.conf.topic_partitions)
    current: dict[str, object] = {"generation": None, "expired_at": 0.0}

    def deduper_for(generation: int) -> tuple[Deduper, ClusterRecords, EventClusterer]:
        """The deduper and the event clusterer over the recovered records, derived again
        whenever partitions were (re)assigned: events only arrive once the tables are recovered."""
        if current["generation"] != generation:
            state = ClusterRecords(records)
            deduper = Deduper(config, seen=state.seen, signatures=state.signatures, stories=state.stories)
            deduper.rebuild()
            clusterer = EventClusterer(event_config, event_records)
            current.update(generation=generation, deduper=deduper, state=state, clusterer=clusterer)
            log.info(kv(event="dedupe-state-rebuilt", stories=len(state.stories), representatives=len(state.signatures),
                        events=len(clusterer.live)))
        return current["deduper"], current["state"], current["clusterer"]

    @app.agent(topics.dedupe, name="newsmon.dedupe")
    async def cluster(stream: faust.StreamT) -> None:
        async for payload in stream:
            now = time.time()
            deduper, state, clusterer = deduper_for(app.consumer_generation_id)
            if now - current["expired_at"] > EXPIRE_EVERY_SECONDS:
                dropped = deduper.expire(now) + clusterer.expire()
                current["expired_at"] = now
                if dropped:
                    log.info(kv(event="dedupe-expired", entries=dropped))
            try:
                batch = decode_batch(payload)
            except RECORD_ERRORS as exc:
                await dead_letter(topics, STAGE, f"undecodable batch: {describe(exc)}", payload)
                continue
            decided, touched, refused = decide_all(batch.articles, deduper, now, clusterer)
            for article, reason in refused:
                await dead_letter(topics, STAGE, f"undecidable article {article.id}: {reason}", encode(article))
            state.flush()  # one changelog message per copy group the batch touched ...
            clusterer.flush()  # ... and one per event
            for partition, (articles, summaries) in split_by_partition(decided, touched, partition_of).items():
                for message in pack(articles, settings.stream_batch_bytes, summaries):
                    await topics.articles.send(value=message, partition=partition)
            health.ok(STAGE)
