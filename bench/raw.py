"""Raw limits of this machine's servers, with bare clients and the pipeline's own documents.

The pipeline cannot beat these, so its figures are read as a ratio to the slowest one.
"""
from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from elasticsearch import Elasticsearch, helpers

from schemas.article import Article, encode


async def kafka_produce_consume(bootstrap: str, payloads: list[bytes], partitions: int = 4) -> dict[str, float]:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, partitions, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, p, key=str(i).encode()) for i, p in enumerate(payloads)]
    await producer.flush()
    await asyncio.gather(*futures)
    produce_s = time.perf_counter() - started
    await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=16 << 20)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    started, received = time.perf_counter(), 0
    while received < len(payloads):
        batch = await consumer.getmany(timeout_ms=2000, max_records=10_000)
        if not batch:
            break
        received += sum(len(records) for records in batch.values())
    consume_s = time.perf_counter() - started
    await consumer.stop()
    return {"kafka_produce_per_s": len(payloads) / produce_s, "kafka_consume_per_s": received / consume_s}


def es_bulk(url: str, articles: list[Article], chunk: int = 500) -> dict[str, float]:
    client = Elasticsearch(url, request_timeout=120)
    index = f"bench-raw-{uuid.uuid4().hex[:8]}"
    actions = ({"_index": index, "_id": a.id, "_source": encode(a).decode()} for a in articles)
    started = time.perf_counter()
    ok, _ = helpers.bulk(client, actions, chunk_size=chunk, refresh=False, stats_only=True)
    seconds = time.perf_counter() - started
    client.indices.delete(index=index, ignore_unavailable=True)
    return {"es_bulk_per_s": ok / seconds}


def measure(bootstrap: str, es_url: str, articles: list[Article]) -> dict[str, float]:
    payloads = [encode(a) for a in articles]
    figures = asyncio.run(kafka_produce_consume(bootstrap, payloads))
    figures.update(es_bulk(es_url, articles))
    figures["slowest_raw_per_s"] = min(figures.values())
    figures["avg_doc_bytes"] = sum(map(len, payloads)) / len(payloads)
    return figures
