"""Alert deliveries beyond Kafka: POST each alerts.<topic> message to the configured webhooks.

Runs as a worker task with its OWN consumer group (`newsmon.deliveries`) and offsets, not
inside the alerts stage: a slow or dead receiver delays only further deliveries, never the
pipeline. A message's offset is committed after every target took it, or gave up after
the retry budget and was recorded on news.dlq, so each alert is delivered once (receivers
see the same X-Newsmon-Delivery id on retries and after a crash between POST and commit).
Several workers share the group, so Kafka hands each alert partition to one of them.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter

import faust
import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from newsmon.schemas.article import ALERT_DECODER, Alert
from newsmon.streams.topics import Topics, dead_letter

from newsmon.core.webhooks import (
    WebhookError,
    build_request,
    retry_delays,
    retryable,
    target_host,
    wants,
)
from newsmon.kafka import kafka_client_kwargs
from newsmon.log import kv
from newsmon.settings import Settings, WebhookTarget

log = logging.getLogger(__name__)
GROUP = "newsmon.deliveries"


class DeliveryFailed(RuntimeError):
    """A webhook did not take an alert within the retry budget (or refused it for good)."""


class Deliverer:
    """Posts alerts to webhook targets with retries and backoff; counts what happened."""

    def __init__(self, settings: Settings, topics: Topics, client: httpx.AsyncClient) -> None:
        self.settings, self.topics, self.client = settings, topics, client
        self.counts: Counter[str] = Counter()

    async def handle(self, record: ConsumerRecord) -> None:
        """Deliver one alerts.<topic> message to every target that wants its topic."""
        try:
            alert = ALERT_DECODER.decode(record.value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.counts["undecodable"] += 1
            await dead_letter(self.topics, "deliveries", f"undecodable alert: {exc}", record.value)
            return
        targets = [t for t in self.settings.webhooks if wants(t, alert.topic)]
        await asyncio.gather(*(self.deliver_or_record(t, alert, record.value) for t in targets))

    async def deliver_or_record(self, target: WebhookTarget, alert: Alert, payload: bytes) -> None:
        try:
            attempts = await self.deliver(target, alert)
        except (DeliveryFailed, WebhookError) as exc:
            self.counts["gave-up"] += 1
            log.error(kv(event="webhook-gave-up", target=target_host(target.url), topic=alert.topic, error=exc))
            await dead_letter(self.topics, "deliveries", f"webhook {target_host(target.url)}: {exc}", payload)
            return
        self.counts["delivered"] += 1
        log.info(kv(event="webhook-delivered", target=target_host(target.url), topic=alert.topic, kind=alert.kind, attempts=attempts))

    async def deliver(self, target: WebhookTarget, alert: Alert) -> int:
        """POST until a 2xx; returns the attempts it took. Raises DeliveryFailed when out of budget."""
        request = build_request(target, alert)
        delays = retry_delays(self.settings.webhook_attempts, self.settings.webhook_backoff_seconds)
        for attempt in range(1, len(delays) + 2):
            status, reason = await self.post(request.url, request.body, request.headers)
            if status is not None and 200 <= status < 300:
                return attempt
            if not retryable(status) or attempt > len(delays):
                raise DeliveryFailed(f"{reason} after {attempt} attempt(s)")
            self.counts["retries"] += 1
            log.warning(kv(event="webhook-retry", target=target_host(target.url), topic=alert.topic, attempt=attempt,
                           reason=reason, retry_in=delays[attempt - 1]))
            await asyncio.sleep(delays[attempt - 1])
        raise AssertionError("unreachable: the loop returns or raises")

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        """(HTTP status or None on a network error, a short reason for logs and the DLQ)."""
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, f"HTTP {response.status_code}"


async def run_deliveries(settings: Settings, topics: Topics, instance_id: str) -> None:
    """Consume the alert topics in the deliveries group; commit each message once handled.

    `instance_id` is a static group membership id, as the worker's own: a restarted worker
    takes its place back at once, where noida-db would keep a killed member as group leader.
    """
    names = [settings.alerts_topic(t) for t in topics.alerts]
    consumer = AIOKafkaConsumer(
        *names, group_id=GROUP, group_instance_id=instance_id, enable_auto_commit=False, auto_offset_reset="earliest",
        **kafka_client_kwargs(settings),
    )
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        deliverer = Deliverer(settings, topics, client)
        await consumer.start()
        log.info(kv(event="deliveries-started", group=GROUP, targets=len(settings.webhooks), topics=",".join(names)))
        try:
            async for record in consumer:
                await deliverer.handle(record)
                await consumer.commit({TopicPartition(record.topic, record.partition): OffsetAndMetadata(record.offset + 1, "")})
        finally:
            await consumer.stop()
            log.info(kv(event="deliveries-stopped", **deliverer.counts))


def register(app: faust.App, topics: Topics, settings: Settings) -> None:
    if not settings.webhooks:
        return

    @app.task
    async def deliver_alerts() -> None:
        await run_deliveries(settings, topics, f"{app.conf.consumer_group_instance_id}-deliveries")
