"""Every Kafka topic the worker reads or writes, declared once.

Values travel as raw bytes (msgspec JSON from schemas/; the internal hops carry `Batch`es),
decoded by the stages themselves, record by record: a record that does not decode or cannot
be processed (RECORD_ERRORS) goes to the dead-letter topic with its stage, the reason and its
original bytes instead of crashing the agent, and the rest of its batch goes on. Every name
comes from Settings.
"""
from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import faust
import msgspec
from aiokafka.partitioner import DefaultPartitioner
from newsmon.schemas.article import DeadLetter, encode

from newsmon.core.times import now_iso
from newsmon.log import kv
from newsmon.retry import describe
from newsmon.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
MAX_REASON_CHARS = 2000
# What the content of one record can make pure code raise: such a record goes to news.dlq,
# the rest of its batch goes on. Broker and server failures are not among them: those are retried.
RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError, msgspec.MsgspecError)


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
        dedupe=topic(settings.dedupe_topic, partitions=1),
        articles=topic(settings.articles_topic),
        volume=topic(settings.volume_topic, partitions=1),
        dlq=topic(settings.dlq_topic),
        alerts={t: topic(settings.alerts_topic(t)) for t in topic_ids},
    )


def partitioner(count: int) -> Callable[[str], int]:
    """The partition (of `count`) Kafka's default partitioner picks for a message keyed `key`.

    A batch sent to that partition lands where each of its records would have gone alone,
    so stateful stages still see every record of one key on one partition."""
    partitions = list(range(count))
    return lambda key: DefaultPartitioner()(key.encode(), partitions, partitions)


def json_table(app: faust.App, name: str, partitions: int | None = None, acked: bool = False) -> faust.Table:
    """A changelog-backed table with JSON keys and values (state the core logic keeps);
    with `acked`, an AckedTable, whose writes the stage can wait for."""
    schema = faust.Schema(key_serializer="json", value_serializer="json")
    if not acked:
        return app.Table(name, partitions=partitions, schema=schema)
    # use_partitioner: the acked stage writes after deciding a round of several events, outside any
    # one event's iteration, where Faust cannot take the partition from the current event; its
    # table has one partition, so the producer's partitioner picks the one the event would have.
    return app.tables.add(AckedTable(app, name=name, partitions=partitions, schema=schema, beacon=app.tables.beacon,
                                     use_partitioner=True))


class AckedTable(faust.Table):
    """A table whose changelog writes can be awaited.

    Faust hands a table write to its producer buffer and returns; the write reaches the broker
    some time later, in no fixed order with the messages the stage sends itself. A stage that
    must never let its output get ahead of its state (a SIGKILL in between would leave output
    the recovered state knows nothing of) waits for `acked()` before it sends."""

    def __init__(self, app: faust.App, **kwargs: object) -> None:
        super().__init__(app, **kwargs)
        self.unacked: list[asyncio.Future] = []

    def send_changelog(self, *args: object, **kwargs: object) -> faust.types.FutureMessage:
        future = super().send_changelog(*args, **kwargs)
        self.unacked.append(future)
        return future

    async def acked(self) -> int:
        """Wait until the broker acknowledged every changelog write made so far; returns how many."""
        waiting, self.unacked = self.unacked, []
        if waiting:
            await asyncio.gather(*waiting)
        return len(waiting)


async def dead_letter(topics: Topics, stage: str, reason: str, payload: bytes | str) -> None:
    """Send a record that a stage cannot handle to news.dlq, with why and its original bytes."""
    record = DeadLetter(stage=stage, reason=reason[:MAX_REASON_CHARS], created=now_iso(), **payload_fields(payload))
    await topics.dlq.send(key=stage.encode(), value=encode(record))
    log.warning(kv(event="dead-lettered", stage=stage, reason=reason[:200]))


def payload_fields(payload: bytes | str) -> dict[str, str]:
    """The payload as text when it is UTF-8, else as base64: the dead letter keeps every byte."""
    if isinstance(payload, str):
        return {"payload": payload}
    try:
        return {"payload": payload.decode("utf-8")}
    except UnicodeDecodeError:
        return {"payload": base64.b64encode(payload).decode("ascii"), "payload_encoding": "base64"}


def isolate(items: list[T], process_all: Callable[[list[T]], list[R]]) -> tuple[list[R], list[tuple[T, str]]]:
    """`process_all(items)`; when one item makes it raise, the results of the others, in order,
    and each failing item with why. Halves are tried apart, so one poisoned item in n costs
    about 2·log2(n) extra calls and a clean batch none."""
    try:
        return process_all(items), []
    except RECORD_ERRORS as exc:
        if len(items) <= 1:
            return [], [(item, describe(exc)) for item in items]
    half = len(items) // 2
    first, first_refused = isolate(items[:half], process_all)
    second, second_refused = isolate(items[half:], process_all)
    return first + second, first_refused + second_refused
