"""Hand articles to Kafka (topic settings.raw_topic) and return only once the broker acknowledged them.

The collector must not lose articles when the broker is down at start or goes away:
`Publisher.publish` keeps the caller's articles (the caller holds at most
`fetch_concurrency` feeds' worth, so the buffer is bounded), reconnects with exponential
backoff (one log line per retry), and returns only after acks=all. Only then does the
collector mark those items seen. Re-sends after a failure may duplicate a record; the key
is the article id, so the pipeline's exact dedupe drops the copy (at-least-once delivery).

Every record passes the one size guard on its way out, whatever its source (a feed, the
page stage, a replayed line): `sizes.fit_record` cuts it to `RAW_RECORD_MAX_BYTES` with a
marker, and one that cannot be cut (or encoded) goes to news.dlq with the caller's stage and
the reason, acknowledged like the rest. So one record never fails its batch, and the
feed's state advances past it.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from newsmon.collectors.sizes import DEAD_LETTER_PAYLOAD_MAX_BYTES, RAW_RECORD_MAX_BYTES, cut_utf8, fit_record
from newsmon.schemas.article import Article, DeadLetter, encode

from newsmon.core.times import now_iso
from newsmon.kafka import kafka_client_kwargs
from newsmon.log import kv
from newsmon.retry import RetriesExhausted, RetryPolicy, RetryStopped, Transient, is_transient, retry
from newsmon.settings import Settings

log = logging.getLogger(__name__)

PUBLISH_RETRY = RetryPolicy(first=1.0, cap=30.0)  # for ever: a fetched article waits for the broker
# One-shot commands (`collect --once`, `replay`) give up after about a minute: a person is
# waiting for the exit code, and nothing is lost (unseen items are fetched again, a replay re-run).
ONE_SHOT_RETRY = RetryPolicy(first=1.0, cap=15.0, attempts=7)
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


SENT, CUT, DEAD_LETTERED = "sent", "cut", "dead-lettered"


@dataclass(frozen=True)
class Message:
    """One record as it goes out: to the raw topic as it was or cut (`kind`), or to news.dlq."""

    topic: str
    key: bytes
    value: bytes
    kind: str


class Publisher:
    """One shared producer; `publish` is safe to call from many feed tasks at once.

    `stage` names the caller on the dead letters ("collect", "replay")."""

    def __init__(self, settings: Settings, stop_event: asyncio.Event | None = None, stage: str = "collect",
                 policy: RetryPolicy = PUBLISH_RETRY) -> None:
        self.topic = settings.raw_topic
        self.policy = policy
        self.dlq_topic = settings.dlq_topic
        self.stage = stage
        self._client_kwargs = kafka_client_kwargs(settings)  # raises KafkaSettingsError before any I/O
        self._stop = stop_event or asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.acknowledged = 0  # articles acknowledged on the raw topic, cut ones included
        self.cut = 0  # of those, cut to the record size
        self.dead_lettered = 0  # articles acknowledged on news.dlq instead
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
        """Return once every article is acknowledged, on the raw topic or (too large even cut,
        or not encodable) on news.dlq; retry through broker outages."""
        pending = [self.message(article) for article in articles]

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
            await retry(self.policy, attempt, what="broker unreachable", stop=self._stop,
                        bootstrap=self._client_kwargs["bootstrap_servers"],
                        hint="is `newsmon up` running? else set KAFKA_BOOTSTRAP_SERVERS")
        except KafkaError as exc:  # is_transient said it will not heal
            raise PublishError(f"broker refused {len(pending)} articles: {exc}") from None
        except RetriesExhausted as exc:
            raise PublishError(f"broker at {self._client_kwargs['bootstrap_servers']} unreachable: {exc}") from None
        except RetryStopped:
            raise PublishError("collector stopping before the broker acknowledged; items stay unseen and are re-fetched") from None

    def message(self, article: Article) -> Message:
        """`article` as the record to send: as it is when it fits, else cut to fit, else a dead letter."""
        try:
            value = encode(article)
            if len(value) <= RAW_RECORD_MAX_BYTES:
                return Message(self.topic, article.id.encode(), value, SENT)
            fit = fit_record(article)
        except UnicodeEncodeError as exc:  # a lone surrogate that no parser replaced
            return self._dead_letter(article, f"not encodable as UTF-8: {exc}")
        if fit is None:
            return self._dead_letter(article, f"record of {len(value)} bytes over the {RAW_RECORD_MAX_BYTES} "
                                              "byte cap even without its body and teaser")
        cut = encode(fit)
        log.warning(kv(event="record-cut", stage=self.stage, id=article.id, url=article.url,
                       bytes=len(value), cut_to=len(cut)))
        return Message(self.topic, article.id.encode(), cut, CUT)

    def _dead_letter(self, article: Article, reason: str) -> Message:
        payload = json.dumps(msgspec.to_builtins(article))  # ASCII escapes: encodes whatever the article holds
        kept = cut_utf8(payload, DEAD_LETTER_PAYLOAD_MAX_BYTES)
        if len(kept) < len(payload):
            reason += f"; payload cut to its first {len(kept)} of {len(payload)} bytes"
        log.warning(kv(event="dead-lettered", stage=self.stage, id=article.id[:100], url=article.url[:200], reason=reason))
        record = DeadLetter(stage=self.stage, reason=reason, payload=kept, created=now_iso())
        return Message(self.dlq_topic, self.stage.encode(), encode(record), DEAD_LETTERED)

    async def _send(self, producer: AIOKafkaProducer, messages: list[Message]) -> list[Message]:
        """Send all messages; return the ones whose delivery failed with a retriable error."""
        deliveries = [await producer.send(m.topic, value=m.value, key=m.key) for m in messages]
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        failed = []
        for message, result in zip(messages, results):
            if isinstance(result, KafkaError) and not is_transient(result):
                raise result
            if isinstance(result, BaseException):
                failed.append(message)
                continue
            self.acknowledged += message.kind != DEAD_LETTERED
            self.cut += message.kind == CUT
            self.dead_lettered += message.kind == DEAD_LETTERED
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
