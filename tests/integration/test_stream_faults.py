"""Poison inside a batch costs only itself, on the real embedded servers (noida-db + the Faust worker).

Twenty good articles (one of them with a link that is not a URL) and three poisoned records
go to news.raw together, so they share the tagging stage's batch: bytes that are not UTF-8
JSON, JSON that is not an article, and an article whose `published` Elasticsearch's strict
date mapping refuses (a 400 for that one document). Every good article must be indexed
exactly once, every poisoned record must be on news.dlq once with its stage, its reason and
its original bytes, and the worker's offsets must move past all of them. The worker's web
server must serve /health and none of Faust's own views.
"""
from __future__ import annotations

import asyncio
import base64

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch
from newsmon.bench.corpus import synthetic_articles
from newsmon.schemas.article import DeadLetter, encode

from newsmon.settings import Settings
from newsmon.stack import wait_drained
from tests.integration.helpers import es_count, wait_for
from tests.integration.test_faults import ARTICLES, DEAD_LETTER, assert_exactly_indexed, read_topics, running_stack, worker_log

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("faults")]

NOT_JSON = b"\xff\xfe\x00 not an article"
NOT_AN_ARTICLE = b'{"id": 5, "url": ["a list"]}'


async def publish(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    """All at once, so they land in one batch of the tagging stage."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=50)
    await producer.start()
    try:
        sent = [await producer.send(settings.raw_topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def dead_letters(settings: Settings) -> list[DeadLetter]:
    decoder = msgspec.json.Decoder(DeadLetter)
    return [decoder.decode(r.value) for r in asyncio.run(read_topics(settings.kafka_bootstrap_servers, [DEAD_LETTER]))]


def original_bytes(letter: DeadLetter) -> bytes:
    return base64.b64decode(letter.payload) if letter.payload_encoding == "base64" else letter.payload.encode()


def test_poisoned_records_in_a_batch_cost_only_themselves(tmp_path):
    good = list(synthetic_articles(20, seed=31, copy_ratio=0))
    good[7] = msgspec.structs.replace(good[7], url="http://[oops/x")  # not a URL; still a good article
    (odd,) = synthetic_articles(1, seed=32, copy_ratio=0)
    bad_date = msgspec.structs.replace(odd, id="poison-date", published="2025-11-08 10:00:00Z")
    records = [(a.id.encode(), encode(a)) for a in good[:10]] + [(b"poison-bytes", NOT_JSON),
               (b"poison-shape", NOT_AN_ARTICLE), (bad_date.id.encode(), encode(bad_date))]
    records += [(a.id.encode(), encode(a)) for a in good[10:]]

    with running_stack(tmp_path / "state") as (stack, _):
        settings = stack.settings
        es = Elasticsearch(settings.elasticsearch_url)
        asyncio.run(publish(settings, records))
        wait_for(lambda: es_count(es, ARTICLES) >= len(good), timeout=90,
                 what=f"the 20 good articles indexed\n{worker_log(stack)}")
        assert asyncio.run(wait_drained(settings, stack, timeout=60)), "offsets committed past every record"
        assert_exactly_indexed(es, {a.id for a in good})
        letters = wait_for(lambda: len(found := dead_letters(settings)) >= 3 and found, timeout=30, what="three dead letters")
        health = httpx.get(f"http://127.0.0.1:{settings.web_port}/health", timeout=5).json()
        faust_views = [httpx.get(f"http://127.0.0.1:{settings.web_port}{path}", timeout=5).status_code
                       for path in ("/router/", "/table/alerts-stories/x/", "/stats/")]
        stack.check_worker()

    by_bytes = {original_bytes(d): d for d in letters}
    assert len(letters) == 3, [(d.stage, d.reason[:80]) for d in letters]
    assert by_bytes[NOT_JSON].stage == "tagging" and "undecodable article" in by_bytes[NOT_JSON].reason
    assert by_bytes[NOT_JSON].payload_encoding == "base64", "bytes that are not UTF-8 are kept as they were"
    assert by_bytes[NOT_AN_ARTICLE].stage == "tagging" and "undecodable article" in by_bytes[NOT_AN_ARTICLE].reason
    (refused,) = [d for d in letters if d.stage == "indexing"]
    assert msgspec.json.decode(refused.payload)["id"] == "poison-date" and "published" in refused.reason
    assert health["status"] == "ok" and health["stages"]["tagging"]["status"] == "ok", {k: v for k, v in health["stages"].items() if v["status"] != "ok"}
    assert health["stages"]["indexing"]["status"] == "ok" and health["stages"]["index-setup"]["status"] == "ok"
    assert faust_views == [404, 404, 404], "only our own routes are served"
    print(f"\nstream-poison: in={len(records)} good={len(good)} indexed={len(good)} dead_lettered={len(letters)} "
          f"stages={sorted(d.stage for d in letters)}")
