"""Read back the story alerts already on alerts.<topic>, so a crash cannot make one repeat.

The alert stage writes an alert and then its "already alerted" table entry: two writes with
no transaction between them (Tansu has no Kafka transactions at all), so a SIGKILL can keep
the alert and lose the entry. The alert topics are the one record that cannot be split
that way, so before the stage decides anything for a new partition assignment (a restart
is one) it reads them up to their end offsets and hands every alert to the caller. Alerts
are few, and each read starts where the previous one stopped.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec
from aiokafka import TopicPartition
from newsmon.schemas.article import ALERT_DECODER, Alert

from newsmon.kafka import TopicTail
from newsmon.log import kv
from newsmon.retry import RetryPolicy, retry
from newsmon.settings import Settings

log = logging.getLogger(__name__)
ALERT_LOG_RETRY = RetryPolicy(first=1.0, cap=15.0)  # for ever: deciding without the log could repeat alerts


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
        await retry(ALERT_LOG_RETRY, lambda: self.read(remember), what="alert log unreadable")
        self.generation = generation

    async def read(self, remember: Callable[[Alert], None]) -> None:
        """Read from the stored positions (or the beginning) up to the end offsets seen at the start."""
        started = time.monotonic()
        count = 0
        async with TopicTail(self.settings, self.names) as tail:
            tail.seek_to({tp: self.positions[tp] for tp in tail.partitions if tp in self.positions})
            async for record in tail.read_to_end():
                count += self.take(record.value, remember)
            self.positions.update(await tail.positions())
        log.info(kv(event="alert-log-read", alerts=count, partitions=len(self.positions),
                    seconds=round(time.monotonic() - started, 3)))

    @staticmethod
    def take(value: bytes, remember: Callable[[Alert], None]) -> int:
        try:
            alert = ALERT_DECODER.decode(value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning(kv(event="alert-log-skipped", reason=exc))
            return 0
        remember(alert)
        return 1
