"""Stage 2, sequenced: copy groups and events on the single-partition news.dedupe topic.

Every article meets every earlier one here, whatever partition or worker it was
collected on, so a duplicate can never hide from its original. Persistent state is one
Faust table of per-cluster records backed by a changelog topic, written once per touched
story per round (newsmon/core/dedupe_records.py); the lookups and the LSH index are
derived from it and rebuilt after recovery or a new partition assignment. Events
(newsmon/core/events.py) are decided right after each article's copy group, in the same
sequence, with their own table of one record per story, flushed once per round. A round is
the batches queued on news.dedupe (up to PAYLOADS_PER_ROUND), decided as one.

Exact copies at another URL are not forwarded (they only count toward their story).
Everything else goes on to news.articles as one batch per partition, each article on the
partition its story id hashes to (as if keyed by it, so every report and copy of an event
meets one alert table) together with the updated documents of its stories.

A kill -9 re-delivers every batch after the last offset commit, and the tables come back
with whatever of their writes reached the broker. So that a re-delivered article lands in
the story it was indexed and alerted under, whatever the state became since (a merge, a
lost write), nothing is sent on before the state that decided it is on the broker: the
copy groups and stories are written and acknowledged first, then the batch's story
assignments (newsmon/core/assignments.py: one record per round, so an assignment is only
ever recovered together with the story records it points to), then the articles go out.
A re-delivered article is given its remembered story; only a new one is decided.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import faust
import msgspec
from newsmon.schemas.article import Article, Story, decode_batch, encode, pack
from newsmon.streams.health import Health
from newsmon.streams.topics import RECORD_ERRORS, Topics, dead_letter, json_table, partitioner

from newsmon.core.assignments import StoryAssignments
from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.dedupe_records import ClusterRecords
from newsmon.core.events import DAY, EventClusterer, EventConfig
from newsmon.core.pipeline import assign_event, dedupe
from newsmon.log import kv
from newsmon.retry import describe
from newsmon.settings import Settings

log = logging.getLogger(__name__)
EXPIRE_EVERY_SECONDS = 600.0
# Batches decided together, with one wait for the broker's acknowledgements between state and
# output: under a burst the tagging stage sends many small batches (one per partition per
# stream_batch_seconds), and two acknowledgement round trips each made the wait, not the work,
# the stage's pace.
PAYLOADS_PER_ROUND = 32
STAGE = "dedupe"


def decide_all(articles: list[Article], deduper: Deduper, now: float, clusterer: EventClusterer,
               assignments: StoryAssignments) -> tuple[list[Article], dict[str, Story], list[tuple[Article, str]]]:
    """The articles to index (all but exact copies), each touched story's document (once,
    as it stands after the batch), and the articles that could not be decided, with why (for
    news.dlq; the others go on). An article assigned before gets the story it was given."""
    decided: list[Article] = []
    touched: set[str] = set()
    refused: list[tuple[Article, str]] = []
    for article in articles:
        try:
            article, decision = dedupe(article, deduper, now)
            if remembered := assignments.get(article.id):
                article = msgspec.structs.replace(article, story_id=remembered)
                touched.update((remembered,) if remembered in clusterer.live else ())  # its document again
            else:
                article, event = assign_event(article, clusterer, deduper, now)
                assignments.add(article.id, article.story_id)
                touched.update(event.touched)
        except RECORD_ERRORS as exc:
            refused.append((article, describe(exc)))
            continue
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
    records = json_table(app, "dedupe-clusters", partitions=1, acked=True)
    event_records = json_table(app, "events-stories", partitions=1, acked=True)
    assignment_records = json_table(app, "events-assignments", partitions=1, acked=True)
    config = DedupeConfig(window_days=settings.dedupe_window_days)
    event_config = EventConfig(window_days=settings.events_window_days)
    partition_of = partitioner(topics.articles.partitions or app.conf.topic_partitions)
    current: dict[str, object] = {"generation": None, "expired_at": 0.0}

    def deduper_for(generation: int) -> tuple[Deduper, ClusterRecords, EventClusterer, StoryAssignments]:
        """The deduper, the event clusterer and the assignments over the recovered records, derived
        again whenever partitions were (re)assigned: events only arrive once the tables are recovered."""
        if current["generation"] != generation:
            state = ClusterRecords(records)
            deduper = Deduper(config, seen=state.seen, signatures=state.signatures, stories=state.stories)
            deduper.rebuild()
            clusterer = EventClusterer(event_config, event_records)
            assignments = StoryAssignments(assignment_records, horizon_seconds=settings.events_window_days * DAY)
            current.update(generation=generation, deduper=deduper, state=state, clusterer=clusterer, assignments=assignments)
            log.info(kv(event="dedupe-state-rebuilt", stories=len(state.stories), representatives=len(state.signatures),
                        events=len(clusterer.live), assigned=len(assignments.index)))
        return current["deduper"], current["state"], current["clusterer"], current["assignments"]

    @app.agent(topics.dedupe, name="newsmon.dedupe")
    async def cluster(stream: faust.StreamT) -> None:
        async for payloads in stream.take(PAYLOADS_PER_ROUND, within=settings.stream_batch_seconds):
            now = time.time()
            deduper, state, clusterer, assignments = deduper_for(app.consumer_generation_id)
            if now - current["expired_at"] > EXPIRE_EVERY_SECONDS:
                dropped = deduper.expire(now) + clusterer.expire() + assignments.expire()
                current["expired_at"] = now
                if dropped:
                    log.info(kv(event="dedupe-expired", entries=dropped))
            articles: list[Article] = []
            for payload in payloads:
                try:
                    articles += decode_batch(payload).articles
                except RECORD_ERRORS as exc:
                    await dead_letter(topics, STAGE, f"undecodable batch: {describe(exc)}", payload)
            decided, touched, refused = decide_all(articles, deduper, now, clusterer, assignments)
            for article, reason in refused:
                await dead_letter(topics, STAGE, f"undecidable article {article.id}: {reason}", encode(article))
            state.flush()  # one changelog message per copy group the batch touched ...
            clusterer.flush()  # ... and one per event,
            await asyncio.gather(records.acked(), event_records.acked())  # on the broker ...
            assignments.flush(now)  # ... before the one record of the batch's assignments that points to them,
            await assignment_records.acked()  # on the broker before any article goes out
            for partition, (outgoing, summaries) in split_by_partition(decided, touched, partition_of).items():
                for message in pack(outgoing, settings.stream_batch_bytes, summaries):
                    await topics.articles.send(value=message, partition=partition)
            health.ok(STAGE)
