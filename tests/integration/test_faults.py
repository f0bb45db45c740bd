"""Faults on the real embedded servers: nothing lost, nothing duplicated.

Each test drives the pieces of `newsmon up` (newsmon.stack.Stack) directly so it can break
one of them on purpose: SIGKILL the Faust worker mid-stream, stop the Kafka broker or the
Elasticsearch server for a while (SIGTERM, then restart on the same data dir and port),
restart a collector. The outcome is always read back from the servers themselves:
documents in Elasticsearch, records in Kafka topics. Figures are printed for RELIABILITY.md.
"""
from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import Elasticsearch
from newsmon.bench.corpus import synthetic_articles
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.run import collect_once, run_collectors
from newsmon.schemas.article import ALERT_DECODER, DeadLetter, decode_batch, encode

from newsmon.core.rules import load_rules
from newsmon.embedded import Server, free_port, noida
from newsmon.settings import Settings
from newsmon.stack import Stack, ensure_topics, wait_drained
from tests.integration.helpers import es_count, settle, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("faults")]

TOPIC_IDS = load_rules(None).topics
ARTICLES = "news-articles"
DEAD_LETTER = "news.dlq"
DEAD_LETTER_DECODER = msgspec.json.Decoder(DeadLetter)


# ---- the stack, piece by piece -------------------------------------------------------------

@contextmanager
def running_stack(data_dir: Path, *, split: bool = False) -> Iterator[tuple[Stack, Server]]:
    """Servers + topics + worker on free ports; yields the stack and the Elasticsearch server.

    `split` runs Elasticsearch in its own noida process, so Kafka and Elasticsearch can be
    stopped independently (otherwise one noida serves both).
    """
    settings = Settings(
        data_dir=data_dir, kafka_bootstrap_servers=None, elasticsearch_url=None,
        embedded_kafka_port=free_port(), embedded_elasticsearch_port=free_port(), web_port=free_port(),
    )
    stack = Stack(settings)
    try:
        if split:
            es_port = settings.embedded_elasticsearch_port
            stack.servers.append(noida(data_dir / "noida-es", 0, es_port, "elasticsearch").start())
            stack.settings = settings.model_copy(update={"elasticsearch_url": f"http://127.0.0.1:{es_port}"})
        stack.start_servers()
        asyncio.run(stack.wait_reachable())
        asyncio.run(ensure_topics(stack.settings, TOPIC_IDS))
        stack.start_worker()
        yield stack, stack.servers[0]
    finally:
        stack.stop()


def kafka_server(stack: Stack) -> Server:
    return stack.servers[-1]  # started last by Stack.start_servers


def worker_log(stack: Stack) -> str:
    return (stack.settings.data_dir / "logs" / "worker.log").read_text(errors="replace")[-4000:]


def restart(server: Server) -> None:
    """Start a stopped server again: same binary, data dir and ports."""
    wait_for(lambda: not any(_port_busy(p) for p in server.ports), timeout=15, what=f"{server.name} ports released")
    server.start()


def _port_busy(port: int) -> bool:
    from newsmon.embedded import port_open

    return port_open(port)


# ---- reading outcomes back ------------------------------------------------------------------

def indexed_ids(es: Elasticsearch, limit: int) -> list[str]:
    es.indices.refresh(index=ARTICLES)
    hits = es.search(index=ARTICLES, size=limit + 100, source=False, query={"match_all": {}})["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def indexed_pairs(es: Elasticsearch, limit: int) -> set[tuple[str, str]]:
    """(topic, story id) of every indexed article that carries topics: one event alert each.
    Every article must sit in exactly one story."""
    hits = es.search(index=ARTICLES, size=limit + 100, source=["topics", "story_id"],
                     query={"match_all": {}})["hits"]["hits"]
    assert all(hit["_source"].get("story_id") for hit in hits), "an indexed article without a story"
    return {(topic, hit["_source"]["story_id"]) for hit in hits for topic in hit["_source"].get("topics", [])}


async def read_topics(bootstrap: str, topics: list[str]) -> list:
    """Every record currently in `topics`, read from the beginning by a group-less consumer."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records = []
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batches = await consumer.getmany(timeout_ms=500)
                records.extend(record for batch in batches.values() for record in batch)
        return records
    finally:
        await consumer.stop()


async def uncommitted_articles(settings: Settings) -> int:
    """Articles in the news.articles batches past the worker group's committed offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.worker_group)
    finally:
        await admin.close()
    records = await read_topics(settings.kafka_bootstrap_servers, [settings.articles_topic])
    since = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == settings.articles_topic}
    return sum(len(decode_batch(r.value).articles) for r in records if r.offset >= since.get(r.partition, 0))


async def count_records(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
        return sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
    finally:
        await consumer.stop()


def story_alerts(settings: Settings) -> Counter:
    records = asyncio.run(read_topics(settings.kafka_bootstrap_servers, [settings.alerts_topic(t) for t in TOPIC_IDS]))
    alerts = [ALERT_DECODER.decode(record.value) for record in records]
    return Counter((alert.topic, alert.story_id) for alert in alerts if alert.kind == "story")


async def publish_raw(settings: Settings, articles: list, per_second: float) -> None:
    """Straight to news.raw, keyed by article id, paced like a live stream."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for article in articles:
            await producer.send_and_wait(settings.raw_topic, encode(article), key=article.id.encode())
            await asyncio.sleep(1 / per_second)
    finally:
        await producer.stop()


def assert_exactly_indexed(es: Elasticsearch, expected: set[str]) -> None:
    count = settle(lambda: es_count(es, ARTICLES), checks=3, interval=1.5, timeout=60)
    ids = indexed_ids(es, len(expected))
    doubled = [i for i, n in Counter(ids).items() if n > 1]
    assert count == len(expected), f"{count} documents for {len(expected)} articles"
    assert set(ids) == expected and not doubled, f"lost {len(expected - set(ids))}, doubled {len(doubled)}"


# ---- 1. the worker is SIGKILLed mid-stream --------------------------------------------------

TOPIC_SENTENCES = (
    "Diplomats weighed the snapback mechanism of Resolution 2231.",
    "Engineers returned to the Bushehr nuclear power plant.",
    "Freight moved along the North-South Transport Corridor.",
)


def on_topic(articles: list) -> list:
    """Each article names a monitored topic, so most stories alert and the kill lands among
    alerts in flight, however the bench corpus spreads its topics."""
    return [msgspec.structs.replace(a, content=f"<p>{TOPIC_SENTENCES[i % 3]}</p>{a.content}") for i, a in enumerate(articles)]


def test_worker_sigkill_mid_stream_loses_nothing_and_doubles_nothing(tmp_path):
    articles = on_topic(list(synthetic_articles(400, seed=11)))
    expected = {a.id for a in articles}  # synthetic copies are near-duplicates: every one is indexed

    with running_stack(tmp_path / "state") as (stack, _):
        settings = stack.settings
        es = Elasticsearch(settings.elasticsearch_url)

        async def stream_and_kill() -> int:
            publishing = asyncio.create_task(publish_raw(settings, articles, per_second=40))
            while await asyncio.to_thread(es_count, es, ARTICLES) < len(articles) // 4:
                stack.check_worker()
                await asyncio.sleep(0.2)
            stack.worker.kill()  # SIGKILL: no shutdown, no final commit, no producer flush
            stack.worker.wait()
            at_kill = await asyncio.to_thread(es_count, es, ARTICLES)
            await publishing
            stack.start_worker()
            return at_kill

        at_kill = asyncio.run(stream_and_kill())
        assert at_kill < len(articles), "the kill must land mid-stream"
        wait_for(lambda: es_count(es, ARTICLES) >= len(expected), timeout=60, interval=1,
                 what=f"{len(expected)} documents after the restart\n{worker_log(stack)}")
        assert asyncio.run(wait_drained(settings, stack, timeout=30))
        assert_exactly_indexed(es, expected)
        pairs = indexed_pairs(es, len(expected))
        alerts = story_alerts(settings)
        doubled = [pair for pair, n in alerts.items() if n > 1]
        print(f"\nworker-sigkill: in={len(articles)} indexed_at_kill={at_kill} out={len(expected)} "
              f"stories_with_topics={len(pairs)} story_alerts={sum(alerts.values())} duplicated_story_alerts={len(doubled)}")
        assert set(alerts) == pairs, f"missing {len(pairs - set(alerts))}, unexpected {len(set(alerts) - pairs)}"
        assert not doubled, f"{len(doubled)} story alerts re-sent after SIGKILL, e.g. {doubled[:3]}"


# ---- 2. the Kafka broker stops for a while ------------------------------------------------

def test_broker_outage_loses_no_fetched_article(tmp_path):
    with ChangingFeed() as feed, running_stack(tmp_path / "state", split=True) as (stack, _):
        settings = stack.settings.model_copy(update={"poll_interval_seconds": 1.0, "archive": False})
        es = Elasticsearch(settings.elasticsearch_url)
        broker = kafka_server(stack)
        feed.add(10)

        async def collect_through_outage() -> None:
            stop = asyncio.Event()
            collecting = asyncio.create_task(run_collectors(settings, [feed.url], stop))
            await asyncio.to_thread(wait_for, lambda: es_count(es, ARTICLES) >= 10, 60, 0.5, "first 10 indexed")
            await asyncio.to_thread(broker.stop)  # SIGTERM: the broker saves and goes away
            feed.add(10)  # fetched while the broker is down: must wait in the collector, not vanish
            fetched_at = len(feed.requests)
            await asyncio.to_thread(wait_for, lambda: len(feed.requests) > fetched_at, 10, 0.2, "fetch during the outage")
            await asyncio.sleep(5)
            stack.check_worker()
            await asyncio.to_thread(restart, broker)
            await asyncio.to_thread(wait_for, lambda: es_count(es, ARTICLES) >= 20, 75, 1.0,
                                    f"all 20 indexed after the broker restart\n{worker_log(stack)}")
            stop.set()
            await collecting

        asyncio.run(collect_through_outage())
        stack.check_worker()
        expected = {a.id for a in articles_from_bytes(feed.render()[0], feed.url, datetime.now(timezone.utc))}
        assert_exactly_indexed(es, expected)
        print(f"\nbroker-outage: fetched={len(expected)} (10 during the outage) out={len(expected)} lost=0 doubled=0")


# ---- 3. Elasticsearch stops for a while; a poison document ----------------------------------

def test_elasticsearch_outage_backs_off_commits_nothing_and_dead_letters_poison(tmp_path):
    warmup, later, (odd,) = (list(synthetic_articles(n, seed=seed, copy_ratio=0)) for n, seed in ((20, 21), (80, 22), (1, 23)))
    poison = msgspec.structs.replace(odd, id="poison-1", published="2025-11-08 10:00:00Z")  # Python reads it, the date mapping does not
    stream = later[:40] + [poison] + later[40:]
    with running_stack(tmp_path / "state", split=True) as (stack, es_server):
        settings = stack.settings
        es = Elasticsearch(settings.elasticsearch_url)
        asyncio.run(publish_raw(settings, warmup, per_second=200))
        wait_for(lambda: es_count(es, ARTICLES) >= len(warmup), timeout=60, what="warm-up indexed")

        es_server.stop()  # SIGTERM, restarted below on the same data dir and port
        asyncio.run(publish_raw(settings, stream, per_second=200))
        time.sleep(8)
        stack.check_worker()
        lag = asyncio.run(uncommitted_articles(settings))
        assert lag >= len(stream), f"offsets committed for unindexed articles ({lag} uncommitted)"
        restart(es_server)

        expected = {a.id for a in warmup + later}
        wait_for(lambda: es_count(es, ARTICLES) >= len(expected), timeout=75, interval=1,
                 what=f"catch-up after the outage\n{worker_log(stack)}")
        assert asyncio.run(wait_drained(settings, stack, timeout=30))
        assert_exactly_indexed(es, expected)
        letters = [DEAD_LETTER_DECODER.decode(r.value) for r in asyncio.run(read_topics(settings.kafka_bootstrap_servers, [DEAD_LETTER]))]
        assert [(d.stage, msgspec.json.decode(d.payload)["id"]) for d in letters] == [("indexing", "poison-1")]
        assert "published" in letters[0].reason
        print(f"\nes-outage: in={len(stream) + len(warmup)} lag_during_outage={lag} out={len(expected)} "
              f"dead_lettered=1 reason={letters[0].reason[:80]!r}")


# ---- 4. a collector restart -----------------------------------------------------------------

class ChangingFeed:
    """A loopback RSS feed whose items a test adds; ETag and Last-Modified change with them."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.requests: list[dict[str, str]] = []
        self.stamp = time.time() - 3600
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                feed.requests.append(dict(self.headers))
                body, etag = feed.render()
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(feed.stamp, usegmt=True))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/rss"

    def add(self, count: int) -> None:
        start = len(self.items)
        self.items += [f"Loopback report {n}: talks on the North-South Transport Corridor" for n in range(start, start + count)]
        self.stamp += 60

    def render(self) -> tuple[bytes, str]:
        entries = "".join(
            f"<item><title>{title}</title><link>https://loop.example.com/news/{n}</link>"
            f"<description>Report number {n} on the corridor.</description>"
            f"<pubDate>{formatdate(self.stamp - 60 * n, usegmt=True)}</pubDate></item>"
            for n, title in enumerate(self.items)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Loop</title>{entries}</channel></rss>'.encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def __enter__(self) -> "ChangingFeed":
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_collector_restart_publishes_exactly_the_new_items(servers, unique, tmp_path):
    settings = Settings(kafka_bootstrap_servers=servers.kafka, raw_topic=f"news.raw.{unique}",
                        data_dir=tmp_path / "collector", fetch_timeout_seconds=5.0)
    with ChangingFeed() as feed:
        feed.add(8)
        first = asyncio.run(collect_once(settings, [feed.url]))  # each run loads the state file afresh:
        unchanged = asyncio.run(collect_once(settings, [feed.url]))  # a restarted collector
        feed.add(5)  # published while the collector is down
        after_restart = asyncio.run(collect_once(settings, [feed.url]))
        in_topic = asyncio.run(count_records(servers.kafka, settings.raw_topic))
    print(f"\ncollector-restart: feed_items={len(feed.items)} published={first.new}+{unchanged.new}+{after_restart.new} "
          f"records_in_topic={in_topic}")
    assert (first.new, unchanged.new, after_restart.new) == (8, 0, 5)
    assert feed.requests[1].get("If-None-Match"), "the restarted collector sent its saved ETag"
    assert in_topic == 13
