"""Kafka for every client newsmon creates: connection options from Settings, and one tail reader.

Producers (collectors), consumers (alerts, search tail), admin clients and the Faust worker
must agree on bootstrap servers, TLS and SASL; deriving them here keeps one source of truth
and keeps secrets inside ``SecretStr`` until the very moment a client needs them. Reading a
topic's tail without a consumer group is written once, as `TopicTail`.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from newsmon.settings import Settings

SASL_PROTOCOLS = {"SASL_PLAINTEXT", "SASL_SSL"}
TLS_PROTOCOLS = {"SSL", "SASL_SSL"}


class KafkaSettingsError(ValueError):
    """The settings do not describe a reachable, consistently configured Kafka cluster."""


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    if not settings.kafka_bootstrap_servers:
        raise KafkaSettingsError(
            "no Kafka broker configured: run `newsmon up` (starts the embedded broker) "
            "or set KAFKA_BOOTSTRAP_SERVERS=host:port"
        )
    protocol = settings.kafka_security_protocol.upper()
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in TLS_PROTOCOLS:
        from aiokafka.helpers import create_ssl_context

        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        kwargs["ssl_context"] = create_ssl_context(cafile=cafile)
    if protocol in SASL_PROTOCOLS:
        if not (settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password):
            raise KafkaSettingsError(
                f"security protocol {protocol} needs NEWSMON_KAFKA_SASL_MECHANISM, "
                "NEWSMON_KAFKA_SASL_USERNAME and NEWSMON_KAFKA_SASL_PASSWORD"
            )
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism.upper()
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs


def pace_empty_fetches(seconds: float) -> None:
    """Make every aiokafka consumer of this process wait `seconds` after a fetch that came
    back empty at once, as a broker honouring `fetch_max_wait_ms` would have made it wait.

    Why: noida-db answers an empty fetch immediately, so an idle consumer re-asks in a
    tight loop; measured, an idle worker burnt a whole core (105 % CPU) on fetch requests
    and starved the stream of the GIL under load. A fetch that returns data, or one the
    broker did hold, is not delayed. Idempotent; 0 leaves aiokafka untouched.
    """
    from aiokafka.consumer.fetcher import Fetcher

    original = getattr(Fetcher._proc_fetch_request, "__wrapped__", Fetcher._proc_fetch_request)
    if seconds <= 0:
        Fetcher._proc_fetch_request = original
        return

    @functools.wraps(original)
    async def paced(self, assignment, node_id, request):  # noqa: ANN001 -- aiokafka's own signature
        started = time.monotonic()
        has_data = await original(self, assignment, node_id, request)
        if not has_data and time.monotonic() - started < seconds:
            # Fetcher.close cancels this task and awaits it: like aiokafka's own method, end
            # quietly, or every consumer.stop() raises CancelledError into its caller.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(seconds)
        return has_data

    Fetcher._proc_fetch_request = paced


class TopicTail:
    """Every partition of some topics, read without a consumer group: nothing is committed, no
    group is joined, so a reader never takes records from the worker or a subscriber.

    The one way newsmon reads a topic's tail (the alert log's read-back, the live page, `alerts
    subscribe`, `reprocess`, `up`'s counts and lag). Use as `async with TopicTail(...) as tail:`,
    seek (`seek_back`, `seek_since`, `seek_to`, `seek_end`; the start is the beginning), then
    `read_to_end()` for what is there now or `follow()` for what comes.
    """

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        from aiokafka import AIOKafkaConsumer

        self.topics = topics
        self.consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                                         **kafka_client_kwargs(settings))
        self.partitions: list[TopicPartition] = []
        self.missing: list[str] = []  # topics the broker does not know (yet)

    async def __aenter__(self) -> "TopicTail":
        try:
            await self.consumer.start()  # inside: a broker that cannot be reached leaves no unclosed consumer
            await self._assign()
        except BaseException:
            await self.consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def _assign(self) -> None:
        if any(not self.consumer.partitions_for_topic(t) for t in self.topics):
            await self.consumer._client.force_metadata_update()  # topics created since the client's first look
        self.missing = [t for t in self.topics if not self.consumer.partitions_for_topic(t)]
        self.partitions = [TopicPartition(t, p) for t in self.topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        if self.partitions:
            self.consumer.assign(self.partitions)
            await self.consumer.seek_to_beginning(*self.partitions)

    async def end_offsets(self) -> dict[TopicPartition, int]:
        return await self.consumer.end_offsets(self.partitions) if self.partitions else {}

    def seek_to(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            self.consumer.seek(tp, offset)

    async def seek_back(self, count: int) -> None:
        """Start at the last `count` records of each partition."""
        self.seek_to({tp: max(0, end - count) for tp, end in (await self.end_offsets()).items()})

    async def seek_end(self) -> None:
        if self.partitions:
            await self.consumer.seek_to_end(*self.partitions)

    async def seek_since(self, epoch_ms: int) -> None:
        """Start at the first record written at or after `epoch_ms` (the end where there is none)."""
        if not self.partitions:
            return
        starts = await self.consumer.offsets_for_times({tp: epoch_ms for tp in self.partitions})
        ends = await self.end_offsets()
        self.seek_to({tp: found.offset if found is not None else ends[tp] for tp, found in starts.items()})

    async def positions(self) -> dict[TopicPartition, int]:
        return {tp: await self.consumer.position(tp) for tp in self.partitions}

    async def read_to_end(self) -> AsyncIterator[ConsumerRecord]:
        """The records from the current positions up to the end offsets seen now, then stop."""
        ends = await self.end_offsets()
        behind = {tp for tp, end in ends.items() if await self.consumer.position(tp) < end}
        while behind:
            batches = await self.consumer.getmany(*behind, timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record
            for tp in list(behind):
                if await self.consumer.position(tp) >= ends[tp]:
                    behind.discard(tp)

    async def follow(self, timeout_ms: int = 1000) -> AsyncIterator[list[ConsumerRecord]]:
        """Batches as they arrive, for ever; an empty batch when `timeout_ms` passed without one."""
        while True:
            batches = await self.consumer.getmany(timeout_ms=timeout_ms)
            yield [record for records in batches.values() for record in records]
