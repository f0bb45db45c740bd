"""`newsmon up` end to end on real servers: a loopback RSS feed of the five seed articles
-> collector -> Kafka -> Faust worker -> Elasticsearch; re-delivery adds nothing."""
from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch
from newsmon.schemas.article import Article, encode

from tests.conftest import FIXTURES
from tests.integration.helpers import es_count, running_up, serve_directory, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("up")]

SEED_TITLES = 5


async def redeliver(bootstrap: str, articles: list[Article]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for article in articles:
            await producer.send_and_wait("news.raw", encode(article), key=article.id.encode())
    finally:
        await producer.stop()


def test_up_indexes_seed_feed_once(tmp_path):
    with serve_directory(FIXTURES / "feeds") as base, \
            running_up(tmp_path / "state", "--feed", f"{base}/seeds.rss", NEWSMON_POLL_INTERVAL_SECONDS="2") as stack:
        es = Elasticsearch(stack.elasticsearch)
        wait_for(lambda: es_count(es, "news-articles") >= SEED_TITLES, timeout=180, what="five seed articles indexed")
        hits = es.search(index="news-articles", size=20, sort=[{"published": "asc"}])["hits"]["hits"]
        docs = [h["_source"] for h in hits]
        assert len(docs) == SEED_TITLES
        assert len({d["cluster_id"] for d in docs}) == SEED_TITLES, "five seeds are five different stories"
        for hit, doc in zip(hits, docs):
            assert hit["_id"] == doc["id"]
            assert doc["url"].startswith("https://") and doc["title"] and doc["source"] and doc["feed"].endswith("/seeds.rss")
            assert doc["published"].startswith("2025-") and doc["published"].endswith("Z")
            assert "<p>" not in doc["text"] and len(doc["text"]) > 500
            assert doc["is_duplicate"] is False and doc["language"] == "en"
        assert "Pezeshkian" in " ".join(d["text"] for d in docs)

        # second delivery: the collector polls again (2 s interval) and the same articles
        # are re-published straight into news.raw, as a broker re-delivery would.
        articles = [Article(**{k: d[k] for k in ("id", "url", "title", "content", "published", "source", "feed")}) for d in docs]
        asyncio.run(redeliver(stack.kafka, articles))
        wait_for(lambda: es_count(es, "news-stories") >= SEED_TITLES, timeout=60, what="stories indexed")
        for _ in range(3):  # the worker had time to process the re-delivery: still five
            time.sleep(3)
            assert es_count(es, "news-articles") == SEED_TITLES
    assert "server-stopped" in stack.output
