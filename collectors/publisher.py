"""Hand articles to Kafka (topic settings.raw_topic) and return only once the broker acknowledged them.

The collector must not lose articles when the broker is down at start or goes away:
`Publisher.publish` keeps the caller's articles (the caller holds at most
`fetch_concurrency` feeds' worth, so the buffer is bounded), reconnects with exponential
backoff (one log line per retry), and returns only after acks=all. Only then does the
collector mark those items seen. Re-sends after a failure may duplicate a record; the key
is the article id, so the pipeline's exact dedupe drops the copy (at-least-once delivery).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from newsmon.schemas.article import Article, encode

from newsmon.kafka import kafka_client_kwargs
from newsmon.retry import RetryPolicy, RetryStopped, Transient, is_transient, retry
from newsmon.settings import Settings

log = logging.getLogger(__name__)

PUBLISH_RETRY = RetryPolicy(first=1.0, cap=30.0)  # for ever: a fetched article waits for the broker
PRODUCER_OPTIONS = {
    "acks": "all",
    "linger_ms": 20,  # batch the burst of one feed's articles into few requests
    "max_batch_size": 256 * 1024,
    "request_timeout_ms": 15_000,
    "retry_backoff_ms": 250,
    # Idempotence needs InitProducerId, which Tansu does not implement; the id key makes
    # our own re-sends harmless instead.
    "enable_idempotence": False,
}


class _OutageNoise(logging.Filter):
    """Drops aiokafka's per-attempt connection errors (several a second while a broker is down):
    the Publisher reports each of its own retries as one line instead."""

    PREFIXES = ("Unable connect", "Unable to update metadata", "Got error produce response")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.PREFIXES)


_OUTAGE_NOISE = _OutageNoise()


def quiet_outage_noise() -> None:
    for name in ("aiokafka", "aiokafka.producer.sender"):  # logger filters do not apply to child loggers
        logger = logging.getLogger(name)
        if _OUTAGE_NOISE not in logger.filters:
            logger.addFilter(_OUTAGE_NOISE)


class PublishError(Exception):
    """Articles were not acknowledged: a non-retriable broker error, or the collector is stopping."""


class Unacknowledged(Transient):
    """Some articles of a send were not acknowledged: reconnect and send them again."""


class Publisher:
    """One shared producer; `publish` is safe to call from many feed tasks at once."""

    def __init__(self, settings: Settings, stop_event: asyncio.Event | None = None) -> None:
        self.topic = settings.raw_topic
        self._client_kwargs = kafka_client_kwargs(settings)  # raises KafkaSettingsError before any I/O
        self._stop = stop_event or asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.acknowledged = 0
        quiet_outage_noise()

    async def __aenter__(self) -> "Publisher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def publish(self, articles: Sequence[Article]) -> None:
        """Return once every article is acknowledged; retry through broker outages."""
        pending = list(articles)

        async def attempt() -> None:
            nonlocal pending
            producer = await self._started()
            try:
                pending = await self._send(producer, pending)
            finally:
                if pending:
                    await self._discard(producer)  # the next try reconnects
            if pending:
                raise Unacknowledged(f"{len(pending)} articles not acknowledged")

        try:
            await retry(PUBLISH_RETRY, attempt, what="broker unreachable", stop=self._stop,
                        bootstrap=self._client_kwargs["bootstrap_servers"],
                        hint="is `newsmon up` running? else set KAFKA_BOOTSTRAP_SERVERS")
        except KafkaError as exc:  # is_transient said it will not heal
            raise PublishError(f"broker refused {len(pending)} articles: {exc}") from None
        except RetryStopped:
            raise PublishError("collector stopping before the broker acknowledged; items stay unseen and are re-fetched") from None

    async def _send(self, producer: AIOKafkaProducer, articles: list[Article]) -> list[Article]:
        """Send all articles; return the ones whose delivery failed with a retriable error."""
        deliveries = [
            await producer.send(self.topic, value=encode(article), key=article.id.encode())
            for article in articles
        ]
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        failed = []
        for article, result in zip(articles, results):
            if isinstance(result, KafkaError) and not is_transient(result):
                raise result
            if isinstance(result, BaseException):
                failed.append(article)
        self.acknowledged += len(articles) - len(failed)
        return failed

    async def _started(self) -> AIOKafkaProducer:
        """The running producer, connecting first if there is none (KafkaError if it cannot)."""
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(**self._client_kwargs, **PRODUCER_OPTIONS)
                try:
                    await producer.start()
                except KafkaError:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        """Drop a producer that failed to deliver, so the next attempt reconnects (once for all callers)."""
        async with self._lock:
            if self._producer is not producer:
                return  # another feed task already replaced it
            self._producer = None
        await producer.stop()
