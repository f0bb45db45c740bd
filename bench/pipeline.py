"""The pipeline end to end: news.raw -> worker -> searchable in news-articles.

Throughput: a burst of synthetic articles produced as fast as the broker takes them,
timed until every one is searchable. Latency: articles produced at a steady rate, each
timed from its produce acknowledgement to the moment a search finds it.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch, NotFoundError
from newsmon.schemas.article import Article, encode

from newsmon.core.pipeline import LocalPipeline
from newsmon.core.rules import RuleSet, load_rules
from newsmon.settings import Settings

PROBE_SECONDS = 1.0


def searchable_count(es: Elasticsearch, index: str) -> int:
    """Documents a search finds now. No forced refresh: the index refreshes itself every
    second. On noida-db a forced refresh costs O(index size) (0.14 s at 5k documents, 0.74 s
    at 20k), and so does a count (0.08 s at 10k, 0.16 s at 20k), so the throughput probe
    counts once a second (PROBE_SECONDS): five times a second, it kept noida-db's core busy
    by itself once the index held 20k documents, and measured the probe, not the pipeline."""
    try:
        return es.count(index=index)["count"]
    except NotFoundError:  # alias not created yet
        return 0


async def produce(bootstrap: str, topic: str, articles: list[Article], rate: float | None = None) -> dict[str, float]:
    """Send articles; with `rate`, at that many per second. Returns id -> ack time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    acked: dict[str, float] = {}
    started = time.perf_counter()
    try:
        for i, article in enumerate(articles):
            if rate:
                await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            future = await producer.send(topic, encode(article), key=article.id.encode())
            future.add_done_callback(lambda _f, a=article.id: acked.__setitem__(a, time.perf_counter()))
        await producer.flush()
    finally:
        await producer.stop()
    return acked


def indexed_ids(articles: list[Article], rules: RuleSet) -> set[str]:
    """Ids of the `articles` the worker indexes: all but exact copies (same text or URL)."""
    pipeline = LocalPipeline(rules=rules)
    return {article.id for article in articles if not pipeline.run(article)[1].is_exact_copy}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def throughput(settings: Settings, articles: list[Article], timeout: float = 600.0,
               processes: Mapping[str, int] | None = None) -> dict[str, float]:
    """Articles searchable per second after a burst; with `processes` (name -> pid), the CPU
    milliseconds each spent per article meanwhile (`bench` is this process: producing, probing)."""
    es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)
    before = searchable_count(es, settings.index_alias)
    target = before + len(indexed_ids(articles, load_rules(settings.topic_rules)))
    watched = {"bench": os.getpid(), **(processes or {})}
    cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    started = time.perf_counter()
    asyncio.run(produce(settings.kafka_bootstrap_servers, settings.raw_topic, articles))
    produced_s = time.perf_counter() - started
    while searchable_count(es, settings.index_alias) < target and time.perf_counter() - started < timeout:
        time.sleep(PROBE_SECONDS)
    seconds = time.perf_counter() - started
    done = searchable_count(es, settings.index_alias) - before
    figures = {"e2e_articles": done, "e2e_seconds": seconds, "e2e_per_s": done / seconds, "e2e_produce_seconds": produced_s}
    if processes:
        figures.update({f"e2e_cpu_ms_per_article_{name.replace('-', '_')}": (cpu_seconds(pid) - cpu_before[name]) / max(done, 1) * 1e3
                        for name, pid in watched.items()})
    return figures


async def _watch(es: Elasticsearch, index: str, pending: dict[str, float], found: dict[str, float], until: float) -> None:
    while (pending or time.perf_counter() < until) and time.perf_counter() < until + 30:
        ids = list(pending)[:1000]
        if ids:
            hits = await asyncio.to_thread(
                lambda: es.search(index=index, query={"ids": {"values": ids}}, size=len(ids), _source=False)["hits"]["hits"]
            )
            now = time.perf_counter()
            for hit in hits:
                if hit["_id"] in pending:
                    found[hit["_id"]] = now - pending.pop(hit["_id"])
        await asyncio.sleep(0.05)


def latency(settings: Settings, articles: list[Article], rate: float = 100.0) -> dict[str, float]:
    es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)
    pending: dict[str, float] = {}
    found: dict[str, float] = {}
    indexed = indexed_ids(articles, load_rules(settings.topic_rules))

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=0)
        await producer.start()
        until = time.perf_counter() + len(articles) / rate
        watcher = asyncio.create_task(_watch(es, settings.index_alias, pending, found, until))
        started = time.perf_counter()
        for i, article in enumerate(articles):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            await producer.send_and_wait(settings.raw_topic, encode(article), key=article.id.encode())
            if article.id in indexed:
                pending[article.id] = time.perf_counter()
        await producer.stop()
        await watcher

    asyncio.run(run())
    values = sorted(found.values())
    if not values:
        return {"latency_rate_per_s": rate, "latency_found": 0}
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {
        "latency_rate_per_s": rate, "latency_found": len(values), "latency_lost": len(pending),
        "latency_p50_s": statistics.median(values), "latency_p95_s": pick(0.95), "latency_p99_s": pick(0.99),
    }
