"""Alert deliveries beyond Kafka: POST each alerts.<topic> message to the configured webhooks.

Runs as worker tasks, not inside the alerts stage, and ONE PER TARGET, each with its own
consumer group (`<worker_group>.deliveries.<target key>`) and offsets: a slow or dead
receiver delays only its own deliveries, never another target's and never the pipeline.
Each attempt has a total deadline (`webhook_timeout_seconds` over connect, send and the
whole answer: a receiver trickling its body byte by byte is cut there) and the attempts of
one alert follow the target's RetryPolicy. A message's offset is committed once the target
took it, or gave up on it (refused for good, or out of attempts) and it was recorded on
news.dlq, so each alert is delivered once per target (receivers see the same
X-Newsmon-Delivery id on retries and after a crash between POST and commit). Several workers
share each group, so Kafka hands each alert partition to one of them. A task that fails
(the broker gone at start, a commit refused in a rebalance) is logged, shown on /health and
restarted with backoff.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter

import faust
import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from newsmon.schemas.article import ALERT_DECODER, Alert
from newsmon.streams.health import Health, supervise
from newsmon.streams.topics import Topics, dead_letter

from newsmon.core.webhooks import WebhookError, WebhookRequest, build_request, target_host, wants
from newsmon.kafka import kafka_client_kwargs
from newsmon.log import kv
from newsmon.retry import RetriesExhausted, RetryPolicy, describe, retry
from newsmon.settings import Settings, WebhookTarget

log = logging.getLogger(__name__)
STAGE = "deliveries"


class DeliveryFailed(RuntimeError):
    """A webhook did not take an alert within the retry budget (or refused it for good)."""


def delivery_policy(settings: Settings) -> RetryPolicy:
    """`webhook_attempts` tries per alert and target, the first retry after `webhook_backoff_seconds`."""
    return RetryPolicy(first=settings.webhook_backoff_seconds, cap=60.0, attempts=settings.webhook_attempts)


def target_key(target: WebhookTarget) -> str:
    """Stable per target URL, and says nothing of it (URLs may carry secrets)."""
    return hashlib.sha256(target.url.encode()).hexdigest()[:10]


def stage_name(target: WebhookTarget) -> str:
    return f"{STAGE}:{target_host(target.url)}:{target_key(target)}"


def short(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "no complete answer before the deadline"
    return describe(exc)


class Deliverer:
    """Posts alerts to one webhook target with a deadline per attempt and retries; counts what happened."""

    def __init__(self, settings: Settings, topics: Topics, client: httpx.AsyncClient, target: WebhookTarget) -> None:
        self.settings, self.topics, self.client, self.target = settings, topics, client, target
        self.policy = delivery_policy(settings)
        self.counts: Counter[str] = Counter()

    async def handle(self, record: ConsumerRecord) -> None:
        """Deliver one alerts.<topic> message to the target, or record on news.dlq why not."""
        try:
            alert = ALERT_DECODER.decode(record.value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.counts["undecodable"] += 1
            await dead_letter(self.topics, STAGE, f"undecodable alert: {exc}", record.value)
            return
        if not wants(self.target, alert.topic):
            return
        host = target_host(self.target.url)
        try:
            attempts = await self.deliver(alert)
        except (DeliveryFailed, WebhookError) as exc:
            self.counts["gave-up"] += 1
            log.error(kv(event="webhook-gave-up", target=host, topic=alert.topic, error=exc))
            await dead_letter(self.topics, STAGE, f"webhook {host}: {exc}", record.value)
            return
        self.counts["delivered"] += 1
        log.info(kv(event="webhook-delivered", target=host, topic=alert.topic, kind=alert.kind, attempts=attempts))

    async def deliver(self, alert: Alert) -> int:
        """POST until a 2xx; returns the attempts it took. Raises DeliveryFailed when refused or out of budget."""
        request = build_request(self.target, alert)
        tries = 0

        async def attempt() -> None:
            nonlocal tries
            tries += 1
            await self.post(request)

        def counted(exc: Exception, failures: int) -> None:
            self.counts["retries"] += 1

        try:
            await retry(self.policy, attempt, what=f"webhook {target_host(self.target.url)} did not take the alert",
                        on_retry=counted, topic=alert.topic)
        except RetriesExhausted as exc:
            raise DeliveryFailed(f"{short(exc.__cause__)} after {tries} attempt(s)") from None
        except (httpx.HTTPError, OSError) as exc:  # refused for good (4xx, 3xx, a URL httpx cannot use)
            raise DeliveryFailed(f"{short(exc)} after {tries} attempt(s)") from None
        return tries

    async def post(self, request: WebhookRequest) -> None:
        """One attempt, the whole exchange within the deadline; HTTPStatusError unless 2xx."""
        async with asyncio.timeout(self.settings.webhook_timeout_seconds):
            response = await self.client.post(request.url, content=request.body, headers=request.headers)
        if not response.is_success:
            raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)


async def run_target(settings: Settings, topics: Topics, target: WebhookTarget, instance_id: str, health: Health) -> None:
    """Consume the target's alert topics in its own group; commit each message once handled.

    `instance_id` is a static group membership id, as the worker's own: a restarted worker
    takes its place back at once, where noida-db would keep a killed member as group leader.
    """
    names = [settings.alerts_topic(t) for t in topics.alerts if wants(target, t)]
    if not names:
        return
    group = f"{settings.worker_group}.deliveries.{target_key(target)}"
    consumer = AIOKafkaConsumer(
        *names, group_id=group, group_instance_id=f"{instance_id}-deliveries-{target_key(target)}",
        enable_auto_commit=False, auto_offset_reset="earliest", **kafka_client_kwargs(settings),
    )
    stage = stage_name(target)
    async with httpx.AsyncClient(timeout=httpx.Timeout(settings.webhook_timeout_seconds), follow_redirects=False) as client:
        deliverer = Deliverer(settings, topics, client, target)
        try:
            await consumer.start()
            log.info(kv(event="deliveries-started", group=group, target=target_host(target.url), topics=",".join(names)))
            health.ok(stage)
            async for record in consumer:
                await deliverer.handle(record)
                await consumer.commit({TopicPartition(record.topic, record.partition): OffsetAndMetadata(record.offset + 1, "")})
                health.ok(stage)
        finally:
            await consumer.stop()
            log.info(kv(event="deliveries-stopped", target=target_host(target.url), **deliverer.counts))


def register(app: faust.App, topics: Topics, settings: Settings, health: Health) -> None:
    if not settings.webhooks:
        return

    @app.task
    async def deliver_alerts() -> None:
        instance_id = app.conf.consumer_group_instance_id
        await asyncio.gather(*(
            supervise(health, stage_name(target), lambda target=target: run_target(settings, topics, target, instance_id, health))
            for target in settings.webhooks
        ))
