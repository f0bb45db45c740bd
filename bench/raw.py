"""Raw limits of this machine's servers, with bare clients and the pipeline's own documents.

The pipeline cannot beat these, so its figures are read as a ratio to the slowest one. Kafka
gets the articles as collectors publish them; Elasticsearch gets them as the sink indexes
them (normalised, tagged, clustered: twice the bytes, and analysed in three languages).
"""
from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from elasticsearch import Elasticsearch, helpers
from newsmon.schemas.article import Article, encode

from newsmon.core.pipeline import LocalPipeline
from newsmon.core.rules import RuleSet
from newsmon.core.times import now_iso
from newsmon.es.sink import ENCODER, document_of
from newsmon.es.templates import load_template


async def kafka_produce_consume(bootstrap: str, payloads: list[bytes], partitions: int = 4) -> dict[str, float]:
    """Produce and consume `payloads` on a topic of their own, deleted afterwards: the pipeline
    figures that follow must not pay for it (noida-db re-saves everything it stores after writes)."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
        return {"kafka_produce_per_s": await _produce(bootstrap, topic, payloads),
                "kafka_consume_per_s": await _consume(bootstrap, topic, partitions, len(payloads))}
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def _produce(bootstrap: str, topic: str, payloads: list[bytes]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, p, key=str(i).encode()) for i, p in enumerate(payloads)]
    await producer.flush()
    await asyncio.gather(*futures)
    seconds = time.perf_counter() - started
    await producer.stop()
    return len(payloads) / seconds


async def _consume(bootstrap: str, topic: str, partitions: int, expected: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=16 << 20)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    started, received = time.perf_counter(), 0
    while received < expected:
        batch = await consumer.getmany(timeout_ms=2000, max_records=10_000)
        if not batch:
            break
        received += sum(len(records) for records in batch.values())
    seconds = time.perf_counter() - started
    await consumer.stop()
    return received / seconds


def es_bulk(url: str, documents: list[tuple[str, bytes]], chunk: int = 500) -> dict[str, float]:
    """Bulk rates of the documents the pipeline indexes: into an index of default mappings, and
    into one with the pipeline's own settings and mappings (title, summary and text analysed
    as English, Russian and Persian), which is the limit the pipeline's indexing can reach."""
    client = Elasticsearch(url, request_timeout=120)
    mappings = load_template("news-articles-mappings.component.json")["template"]["mappings"]
    settings = load_template("news-articles-analysis.component.json")["template"]["settings"]
    rates = {}
    for name, body in (("es_bulk_plain_per_s", {}), ("es_bulk_per_s", {"mappings": mappings, "settings": settings})):
        index = f"bench-raw-{uuid.uuid4().hex[:8]}"
        client.indices.create(index=index, **body)
        actions = ({"_index": index, "_id": doc_id, "_source": source.decode()} for doc_id, source in documents)
        started = time.perf_counter()
        ok, _ = helpers.bulk(client, actions, chunk_size=chunk, refresh=False, stats_only=True)
        rates[name] = ok / (time.perf_counter() - started)
        client.indices.delete(index=index, ignore_unavailable=True)
    return rates


def indexed_documents(articles: list[Article], rules: RuleSet) -> list[tuple[str, bytes]]:
    """(id, source) of each article as the pipeline's sink writes it: normalised, tagged, clustered."""
    pipeline = LocalPipeline(rules=rules)
    return [(a.id, ENCODER.encode({**document_of(a), "indexed": now_iso()})) for a, _ in map(pipeline.run, articles)]


def measure(bootstrap: str, es_url: str, articles: list[Article], rules: RuleSet) -> dict[str, float]:
    payloads = [encode(a) for a in articles]
    figures = asyncio.run(kafka_produce_consume(bootstrap, payloads))
    documents = indexed_documents(articles, rules)
    figures.update(es_bulk(es_url, documents))
    figures["slowest_raw_per_s"] = min(figures.values())
    figures["avg_doc_bytes"] = sum(map(len, payloads)) / len(payloads)
    figures["avg_indexed_doc_bytes"] = sum(len(source) for _, source in documents) / len(documents)
    return figures
