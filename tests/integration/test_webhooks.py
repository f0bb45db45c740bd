"""Webhook deliveries end to end: `newsmon up` on a sample feed, real loopback receivers.

One receiver fails its first attempts with HTTP 500 and then accepts, one speaks the
Slack format for one topic, one never accepts. Every alert on the alert topics must reach
the first exactly once with a valid signature, the Slack one must get its topic only, and
what the dead one never took must be on news.dlq, while the pipeline indexes as usual.
"""
from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from elasticsearch import Elasticsearch
from newsmon.schemas.article import ALERT_DECODER, Alert

from newsmon.core.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    delivery_id,
    verify,
)
from tests.conftest import REPO
from tests.integration.helpers import (
    es_count,
    running_up,
    serve_directory,
    settle,
    wait_for,
)
from tests.loopback import Trickle, serve

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("up")]

SECRET = "receiver-shared-secret"
FAILING_FIRST = 3
ATTEMPTS = 6


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """Answers 500 to the first FAILING_FIRST posts on /json, 503 always on /dead, else 200."""

    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            earlier = sum(1 for p in self.posts if p.path == path)
            status = 503 if path == "/dead" else 500 if path == "/json" and earlier < FAILING_FIRST else 200
            self.posts.append(Post(path, headers, body, status))
            return status

    def taken(self, path: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.path == path and p.status == 200]


@contextmanager
def receiving() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(receiver.answer(self.path, dict(self.headers), body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    with serve(Handler) as url:
        yield url, receiver


async def read_all(bootstrap: str, names: list[str]) -> list[tuple[str, bytes]]:
    """Every message now in the given topics, without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(n, p) for n in names for p in sorted(consumer.partitions_for_topic(n) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[str, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend((r.topic, r.value) for r in batch)
        return records
    finally:
        await consumer.stop()


def alerts_now(bootstrap: str) -> list[Alert]:
    names = ["alerts.snapback", "alerts.bushehr", "alerts.north-south-corridor"]
    return [ALERT_DECODER.decode(value) for _, value in asyncio.run(read_all(bootstrap, names))]


def test_each_alert_delivered_once_signed_despite_failures(tmp_path):
    with receiving() as (hooks, receiver):
        webhooks = [
            {"url": f"{hooks}/json", "secret": SECRET},
            {"url": f"{hooks}/slack", "topics": ["bushehr"], "format": "slack"},
            {"url": f"{hooks}/dead", "topics": ["north-south-corridor"]},
        ]
        with serve_directory(REPO / "newsmon" / "samples" / "feeds") as base, \
                running_up(tmp_path / "state", "--feed", f"{base}/gulf-daily.xml", NEWSMON_POLL_INTERVAL_SECONDS="3600",
                           NEWSMON_WEBHOOKS=json.dumps(webhooks), NEWSMON_WEBHOOK_ATTEMPTS=str(ATTEMPTS),
                           NEWSMON_WEBHOOK_BACKOFF_SECONDS="0.1") as stack:
            es = Elasticsearch(stack.elasticsearch)
            wait_for(lambda: es_count(es, "news-articles") >= 7, timeout=180, what="the feed's articles indexed")
            wait_for(lambda: receiver.taken("/json"), timeout=120, what="a first accepted delivery")
            settle(lambda: (len(receiver.taken("/json")), len(receiver.posts)), checks=4, interval=2.0)
            alerts = alerts_now(stack.kafka)
            dead_letters = [orjson.loads(v) for _, v in asyncio.run(read_all(stack.kafka, ["news.dlq"]))]

    expected = {delivery_id(a) for a in alerts}
    assert len(expected) == len(alerts) >= 3, "one alert per topic and story on the alert topics"

    posted = [p for p in receiver.posts if p.path == "/json"]
    assert [p.status for p in posted[:FAILING_FIRST]] == [500] * FAILING_FIRST, "the receiver failed the first attempts"
    for post in posted:  # every attempt carries a valid signature of its exact body
        assert verify(post.body, SECRET, post.headers[SIGNATURE_HEADER])
        assert orjson.loads(post.body)["delivery_id"] == post.headers[DELIVERY_HEADER]
    taken = [p.headers[DELIVERY_HEADER] for p in receiver.taken("/json")]
    assert sorted(taken) == sorted(expected), "each alert accepted exactly once, none missing"

    slack = receiver.taken("/slack")
    bushehr = {delivery_id(a) for a in alerts if a.topic == "bushehr"}
    assert sorted(p.headers[DELIVERY_HEADER] for p in slack) == sorted(bushehr) and bushehr
    for post in slack:
        payload = orjson.loads(post.body)
        assert set(payload) == {"text", "blocks"} and payload["text"].startswith("[bushehr] ")
        assert post.headers[TOPIC_HEADER] == "bushehr" and SIGNATURE_HEADER not in post.headers

    corridor = [a for a in alerts if a.topic == "north-south-corridor"]
    dead_posts = [p for p in receiver.posts if p.path == "/dead"]
    assert corridor and len(dead_posts) == ATTEMPTS * len(corridor), "the retry budget, then given up"
    given_up = [d for d in dead_letters if d["stage"] == "deliveries"]
    assert sorted(ALERT_DECODER.decode(d["payload"]).cluster_id for d in given_up) == sorted(a.cluster_id for a in corridor)
    assert all(f"HTTP 503 after {ATTEMPTS} attempt(s)" in d["reason"] for d in given_up)


def test_a_trickling_receiver_is_cut_at_the_deadline_and_delays_only_itself():
    import time

    import httpx
    from newsmon.streams.deliveries import DeliveryFailed, Deliverer

    from newsmon.settings import Settings, WebhookTarget

    alert = Alert(kind="story", topic="bushehr", title="t", cluster_id="c1", created="2025-10-14T08:01:00Z")
    settings = Settings(webhook_timeout_seconds=1.0, webhook_attempts=2, webhook_backoff_seconds=0.1)

    async def both(slow_url: str, fast_url: str) -> tuple[float, float, BaseException | None]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(settings.webhook_timeout_seconds)) as client:
            slow = Deliverer(settings, None, client, WebhookTarget(url=slow_url))
            fast = Deliverer(settings, None, client, WebhookTarget(url=fast_url))
            started = time.monotonic()

            async def timed(deliverer: Deliverer) -> float:
                try:
                    await deliverer.deliver(alert)
                except DeliveryFailed as exc:
                    timed.error = exc
                return time.monotonic() - started

            timed.error = None
            slow_took, fast_took = await asyncio.gather(timed(slow), timed(fast))
            return slow_took, fast_took, timed.error

    with serve(Trickle) as slow_base, receiving() as (fast_base, receiver):
        slow_took, fast_took, error = asyncio.run(both(f"{slow_base}/hook", f"{fast_base}/slack"))
    print(f"\ntrickling-webhook: slow_gave_up_after={slow_took:.2f}s fast_delivered_after={fast_took:.2f}s")
    assert isinstance(error, DeliveryFailed) and "2 attempt(s)" in str(error)
    assert slow_took < 4.0, "two attempts of 1 s each and one 0.1 s wait, not 30 s of trickle"
    assert fast_took < 1.0 and len(receiver.taken("/slack")) == 1, "the other target is not held up"
