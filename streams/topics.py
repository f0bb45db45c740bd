"""Every Kafka topic the worker reads or writes, declared once.

Values travel as raw bytes (msgspec JSON from schemas/; the internal hops carry `Batch`es),
decoded by the stages themselves: a record that does not decode goes to the dead-letter
topic with the reason instead of crashing the agent.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import faust
from aiokafka.partitioner import DefaultPartitioner
from newsmon.schemas.article import DeadLetter, encode

from newsmon.core.times import now_iso
from newsmon.settings import Settings


@dataclass(frozen=True)
class Topics:
    raw: faust.TopicT  # collectors -> worker, keyed by article id
    dedupe: faust.TopicT  # batches of normalised + tagged articles, ONE partition: the sequenced dedupe stage
    articles: faust.TopicT  # batches of decided articles + their story summaries, partitioned by cluster id
    volume: faust.TopicT  # per-topic article events for breaking-volume detection, one partition
    dlq: faust.TopicT  # rejected records with the reason
    alerts: dict[str, faust.TopicT]  # alerts.<topic-id>, one per rule-file topic


def declare_topics(app: faust.App, settings: Settings, topic_ids: list[str]) -> Topics:
    def topic(name: str, partitions: int | None = None) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions, value_serializer="raw", key_serializer="raw")

    return Topics(
        raw=topic(settings.raw_topic),
        dedupe=topic("news.dedupe", partitions=1),
        articles=topic(settings.articles_topic),
        volume=topic("news.volume", partitions=1),
        dlq=topic(settings.dlq_topic),
        alerts={t: topic(settings.alerts_topic(t)) for t in topic_ids},
    )


def partitioner(count: int) -> Callable[[str], int]:
    """The partition (of `count`) Kafka's default partitioner picks for a message keyed `key`.

    A batch sent to that partition lands where each of its records would have gone alone,
    so stateful stages still see every record of one key on one partition."""
    partitions = list(range(count))
    return lambda key: DefaultPartitioner()(key.encode(), partitions, partitions)


def json_table(app: faust.App, name: str, partitions: int | None = None) -> faust.Table:
    """A changelog-backed table with JSON keys and values (state the core logic keeps)."""
    schema = faust.Schema(key_serializer="json", value_serializer="json")
    return app.Table(name, partitions=partitions, schema=schema)


async def dead_letter(topics: Topics, stage: str, reason: str, payload: bytes | str) -> None:
    """Send a record that a stage cannot handle to news.dlq, with why."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    record = DeadLetter(stage=stage, reason=reason, payload=text, created=now_iso())
    await topics.dlq.send(key=stage.encode(), value=encode(record))
