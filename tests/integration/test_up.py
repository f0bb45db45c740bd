"""`newsmon up` end to end on real servers: a loopback RSS feed of the five seed articles
-> collector -> Kafka -> Faust worker -> Elasticsearch; a re-delivery is consumed and adds nothing."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch
from newsmon.schemas.article import Article, encode

from newsmon.kafka import TopicTail
from newsmon.settings import Settings
from newsmon.stack import wait_drained
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


async def raw_end(settings: Settings) -> int:
    async with TopicTail(settings, [settings.raw_topic]) as tail:
        return sum((await tail.end_offsets()).values())


def story_counts(es: Elasticsearch) -> dict[str, dict]:
    """Every story document without its write time: what a counted re-delivery would change."""
    es.indices.refresh(index="news-stories")
    hits = es.search(index="news-stories", size=100, query={"match_all": {}})["hits"]["hits"]
    return {h["_id"]: {k: v for k, v in h["_source"].items() if k != "indexed"} for h in hits}


def test_up_indexes_seed_feed_once(tmp_path):
    with serve_directory(FIXTURES / "feeds") as base, \
            running_up(tmp_path / "state", "--feed", f"{base}/seeds.rss", NEWSMON_POLL_INTERVAL_SECONDS="2") as stack:
        es = Elasticsearch(stack.elasticsearch)
        wait_for(lambda: es_count(es, "news-articles") >= SEED_TITLES, timeout=180, what="five seed articles indexed")
        hits = es.search(index="news-articles", size=20, sort=[{"published": "asc"}])["hits"]["hits"]
        docs = [h["_source"] for h in hits]
        assert len(docs) == SEED_TITLES
        assert len({d["cluster_id"] for d in docs}) == SEED_TITLES, "five seeds are five different stories"
        assert len({d["story_id"] for d in docs}) == SEED_TITLES, "five seeds are five different events"
        for hit, doc in zip(hits, docs):
            assert hit["_id"] == doc["id"]
            assert doc["url"].startswith("https://") and doc["title"] and doc["source"] and doc["feed"].endswith("/seeds.rss")
            assert doc["published"].startswith("2025-") and doc["published"].endswith("Z")
            assert "<p>" not in doc["text_en"] and len(doc["text_en"]) > 500  # analysed in its language's field
            assert doc["is_duplicate"] is False and doc["language"] == "en"
        assert "Pezeshkian" in " ".join(d["text_en"] for d in docs)

        # second delivery: the same articles re-published straight into news.raw, as a broker
        # re-delivery would. It must be consumed (the worker group's offsets move past it) and
        # dropped: no new document, and no story counts it again.
        wait_for(lambda: es_count(es, "news-stories") >= SEED_TITLES, timeout=60, what="stories indexed")
        settings = Settings(kafka_bootstrap_servers=stack.kafka)
        assert asyncio.run(wait_drained(settings, timeout=60)), "first delivery consumed"
        stories_before = story_counts(es)
        end_before = asyncio.run(raw_end(settings))
        articles = [Article(**{k: d[k] for k in ("id", "url", "title", "content", "published", "source", "feed")}) for d in docs]
        asyncio.run(redeliver(stack.kafka, articles))
        assert asyncio.run(raw_end(settings)) == end_before + SEED_TITLES, "the re-delivery is on news.raw"
        assert asyncio.run(wait_drained(settings, timeout=60)), "the re-delivery was consumed and committed"
        time.sleep(2)  # index refresh after the last write
        assert es_count(es, "news-articles") == SEED_TITLES
        assert story_counts(es) == stories_before, "a re-delivered article is not counted again"
    assert "server-stopped" in stack.output


def test_sigterm_while_waiting_for_an_unreachable_server_stops_at_once(tmp_path):
    from newsmon.embedded import free_port
    from tests.integration.helpers import clean_env, newsmon

    env = clean_env(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}")
    process = newsmon("up", "--data-dir", str(tmp_path / "state"), "--feed", "file:///nowhere.xml", env=env,
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:
            if "kafka unreachable, retrying in" in line:
                break
        time.sleep(1.5)  # inside a backoff wait now
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    print(f"\nsigterm-while-waiting: exit={code} seconds={took:.2f}")
    assert code == 0 and took < 5, f"SIGTERM took {took:.1f}s (exit {code})"
