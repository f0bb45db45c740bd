"""`newsmon up` end to end on real servers: a loopback RSS feed of the five seed articles
-> collector -> Kafka -> Faust worker -> Elasticsearch; re-delivery adds nothing."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch

from newsmon.embedded import free_port
from schemas.article import Article, encode
from tests.conftest import FIXTURES
from tests.integration.helpers import clean_env, newsmon, serve_directory, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("up")]

SEED_TITLES = 5


def count(es: Elasticsearch, index: str, **query) -> int:
    try:
        es.indices.refresh(index=index)
        return es.count(index=index, **query)["count"]
    except Exception:  # index not created yet
        return 0


async def redeliver(bootstrap: str, articles: list[Article]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for article in articles:
            await producer.send_and_wait("news.raw", encode(article), key=article.id.encode())
    finally:
        await producer.stop()


def test_up_indexes_seed_feed_once(tmp_path):
    kafka_port, es_port, web_port = free_port(), free_port(), free_port()
    env = clean_env(
        NEWSMON_EMBEDDED_KAFKA_PORT=str(kafka_port),
        NEWSMON_EMBEDDED_ELASTICSEARCH_PORT=str(es_port),
        NEWSMON_WEB_PORT=str(web_port),
        NEWSMON_POLL_INTERVAL_SECONDS="2",
    )
    es = Elasticsearch(f"http://127.0.0.1:{es_port}")
    with serve_directory(FIXTURES / "feeds") as base:
        proc = newsmon("up", "--feed", f"{base}/seeds.rss", "--data-dir", str(tmp_path / "state"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: count(es, "news-articles") >= SEED_TITLES, timeout=180, what="five seed articles indexed")
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
            asyncio.run(redeliver(f"127.0.0.1:{kafka_port}", articles))
            wait_for(lambda: count(es, "news-stories") >= SEED_TITLES, timeout=60, what="stories indexed")
            for _ in range(3):  # the worker had time to process the re-delivery: still five
                time.sleep(3)
                assert count(es, "news-articles") == SEED_TITLES
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    assert "server-stopped" in out
