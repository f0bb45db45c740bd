"""Raw limits of this machine's servers, with bare clients and the pipeline's own documents.

The pipeline cannot beat these, so its figures are read as a ratio to the slowest one. Kafka
gets the articles as collectors publish them; Elasticsearch gets them as the sink indexes
them (normalised, tagged, clustered: twice the bytes, and each text analysed once, in its own
language). Beside it, the same articles are indexed the way they were before per-language
analysis (every text analysed as English, Russian and Persian), so the report shows what that
change bought.
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
from newsmon.es.templates import ANALYSED_FIELDS, analysed_copy, load_template

# Before per-language analysis: title, summary and text analysed in English, plus .ru and .fa sub-fields.
THREE_ANALYZERS = {"type": "text", "analyzer": "news_english", "fields": {
    "ru": {"type": "text", "analyzer": "news_russian"}, "fa": {"type": "text", "analyzer": "news_persian"}}}


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


def three_analyzer_mappings(mappings: dict) -> dict:
    """The pipeline's mappings as they were with every text analysed in three languages."""
    kept = {name: spec for name, spec in mappings["properties"].items() if not name.startswith(tuple(f"{f}_" for f in ANALYSED_FIELDS))}
    return {"dynamic": "strict", "properties": {**kept, **{name: THREE_ANALYZERS for name in ANALYSED_FIELDS}}}


def es_bulk(url: str, documents: list[tuple[str, dict, str]], chunk: int = 500) -> dict[str, float]:
    """Bulk rates of the documents the pipeline indexes: into an index of default mappings; into one
    with the pipeline's own settings and mappings (each text analysed in its language), which is the
    limit the pipeline's indexing can reach; and into the three-analyzer mappings used before."""
    client = Elasticsearch(url, request_timeout=120)
    mappings = load_template("news-articles-mappings.component.json")["template"]["mappings"]
    settings = load_template("news-articles-analysis.component.json")["template"]["settings"]
    per_language = [(doc_id, ENCODER.encode(analysed_copy(doc, language))) for doc_id, doc, language in documents]
    as_before = [(doc_id, ENCODER.encode(doc)) for doc_id, doc, _ in documents]
    runs = (
        ("es_bulk_plain_per_s", {}, per_language),
        ("es_bulk_per_s", {"mappings": mappings, "settings": settings}, per_language),
        ("es_bulk_three_analyzers_per_s", {"mappings": three_analyzer_mappings(mappings), "settings": settings}, as_before),
    )
    rates = {}
    for name, body, encoded in runs:
        index = f"bench-raw-{uuid.uuid4().hex[:8]}"
        client.indices.create(index=index, **body)
        actions = ({"_index": index, "_id": doc_id, "_source": source.decode()} for doc_id, source in encoded)
        started = time.perf_counter()
        ok, _ = helpers.bulk(client, actions, chunk_size=chunk, refresh=False, stats_only=True)
        rates[name] = ok / (time.perf_counter() - started)
        client.indices.delete(index=index, ignore_unavailable=True)
    rates["es_bulk_per_language_gain"] = rates["es_bulk_per_s"] / rates["es_bulk_three_analyzers_per_s"] - 1
    return rates


def indexed_documents(articles: list[Article], rules: RuleSet) -> list[tuple[str, dict, str]]:
    """(id, document, language) of each article as the pipeline's sink gets it: normalised, tagged, clustered."""
    pipeline = LocalPipeline(rules=rules)
    return [(a.id, {**document_of(a), "indexed": now_iso()}, a.language) for a, _ in map(pipeline.run, articles)]


def measure(bootstrap: str, es_url: str, articles: list[Article], rules: RuleSet) -> dict[str, float]:
    payloads = [encode(a) for a in articles]
    figures = asyncio.run(kafka_produce_consume(bootstrap, payloads))
    documents = indexed_documents(articles, rules)
    figures.update(es_bulk(es_url, documents))
    figures["slowest_raw_per_s"] = min(figures[name] for name in ("kafka_produce_per_s", "kafka_consume_per_s",
                                                                  "es_bulk_plain_per_s", "es_bulk_per_s"))
    figures["avg_doc_bytes"] = sum(map(len, payloads)) / len(payloads)
    figures["avg_indexed_doc_bytes"] = sum(len(ENCODER.encode(analysed_copy(doc, lang))) for _, doc, lang in documents) / len(documents)
    return figures
