"""Read back the story alerts already on alerts.<topic>, so a crash cannot make one repeat.

The alert stage writes an alert and then its "already alerted" table entry: two writes with
no transaction between them (Tansu has no Kafka transactions at all), so a SIGKILL can keep
the alert and lose the entry. The alert topics are the one record that cannot be split
that way, so before the stage decides anything for a new partition assignment (a restart
is one) it reads them up to their end offsets and hands every alert to the caller. Alerts
are few, and each read starts where the previous one stopped.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from newsmon.schemas.article import ALERT_DECODER, Alert

from newsmon.kafka import kafka_client_kwargs
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0)


class AlertLog:
    """The alert topics, read up to their end once per consumer generation."""

    def __init__(self, settings: Settings, names: list[str]) -> None:
        self.settings, self.names = settings, names
        self.positions: dict[TopicPartition, int] = {}  # next offset to read, per alert partition
        self.generation: int | None = None  # the consumer generation the log was last read for

    async def recall(self, generation: int, remember: Callable[[Alert], None]) -> None:
        """Hand every alert not yet read to `remember`, unless this generation was read already.

        Waits for the broker as long as it takes: deciding without the log could repeat alerts.
        """
        if generation == self.generation:
            return
        for attempt in itertools.count(1):
            try:
                await self.read(remember)
            except KafkaError as exc:
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
                log.warning(kv(event="alert-log-unreadable", error=exc, attempt=attempt, retry_in=delay))
                await asyncio.sleep(delay)
                continue
            self.generation = generation
            return

    async def read(self, remember: Callable[[Alert], None]) -> None:
        """Read from the stored positions (or the beginning) up to the end offsets seen at the start."""
        started = time.monotonic()
        consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                                    **kafka_client_kwargs(self.settings))
        await consumer.start()
        try:
            partitions = [TopicPartition(n, p) for n in self.names for p in sorted(consumer.partitions_for_topic(n) or ())]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, self.positions.get(tp, 0))
            ends = await consumer.end_offsets(partitions)
            count = await self.drain(consumer, ends, remember)
        finally:
            await consumer.stop()
        log.info(kv(event="alert-log-read", alerts=count, partitions=len(partitions),
                    seconds=round(time.monotonic() - started, 3)))

    async def drain(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
                    remember: Callable[[Alert], None]) -> int:
        count = 0
        behind = {tp for tp, end in ends.items() if self.positions.get(tp, 0) < end}
        while behind:
            batches = await consumer.getmany(*behind, timeout_ms=500)
            for records in batches.values():
                for record in records:
                    count += self.take(record.value, remember)
            for tp in list(behind):
                self.positions[tp] = await consumer.position(tp)
                if self.positions[tp] >= ends[tp]:
                    behind.discard(tp)
        return count

    @staticmethod
    def take(value: bytes, remember: Callable[[Alert], None]) -> int:
        try:
            alert = ALERT_DECODER.decode(value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning(kv(event="alert-log-skipped", reason=exc))
            return 0
        remember(alert)
        return 1
