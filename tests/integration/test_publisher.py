"""The collector's producer against real brokers (noida-db and Tansu), read back with a real consumer."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from aiokafka import AIOKafkaConsumer
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.collectors.publisher import Publisher, PublishError
from newsmon.collectors.run import COLLECTED, collect_once, run_collectors
from newsmon.collectors.state import StateStore
from newsmon.schemas.article import decode_article

from newsmon.embedded import free_port, tansu
from newsmon.retry import RetryPolicy
from newsmon.settings import Settings
from tests.conftest import FIXTURES

pytestmark = pytest.mark.integration

SEEDS_FEED = FIXTURES / "feeds" / "seeds.rss"
RUSSIAN_FEED = FIXTURES / "feeds" / "russian.rss"


def broker_settings(bootstrap: str, topic: str, tmp_path) -> Settings:
    return Settings(kafka_bootstrap_servers=bootstrap, raw_topic=topic, data_dir=tmp_path / "data",
                    fetch_timeout_seconds=5.0)


def fixture_articles(path=SEEDS_FEED):
    return articles_from_bytes(path.read_bytes(), path.as_uri(), datetime.now(timezone.utc))


async def read_back(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Every record on `topic` (keys and decoded articles): waits for `expected`, then polls once more for extras."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    records = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                records.extend(record for batch in batches.values() for record in batch)
        extras = await consumer.getmany(timeout_ms=300)
        records.extend(record for batch in extras.values() for record in batch)
    finally:
        await consumer.stop()
    return [(record.key.decode(), decode_article(record.value)) for record in records]


async def publish_and_read(bootstrap: str, topic: str, tmp_path) -> tuple[list, list]:
    articles = fixture_articles()
    async with Publisher(broker_settings(bootstrap, topic, tmp_path)) as publisher:
        await publisher.publish(articles)
        assert publisher.acknowledged == len(articles)
    return articles, await read_back(bootstrap, topic, len(articles))


def test_publish_to_noida_keys_records_by_article_id(servers, unique, tmp_path):
    articles, records = asyncio.run(publish_and_read(servers.kafka, f"news.raw.{unique}", tmp_path))
    assert sorted(records, key=lambda r: r[0]) == sorted(((a.id, a) for a in articles), key=lambda r: r[0])


def test_publish_to_tansu(tansu_bootstrap, unique, tmp_path):
    articles, records = asyncio.run(publish_and_read(tansu_bootstrap, f"news.raw.{unique}", tmp_path))
    assert {key for key, _ in records} == {a.id for a in articles}


def test_broker_down_at_start_then_started_loses_nothing(tmp_path, unique, caplog):
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    articles = fixture_articles() + fixture_articles(RUSSIAN_FEED)

    async def scenario():
        async with Publisher(broker_settings(bootstrap, f"news.raw.{unique}", tmp_path)) as publisher:
            sending = asyncio.create_task(publisher.publish(articles))
            while "broker unreachable, retrying in" not in caplog.text:
                await asyncio.sleep(0.1)
            assert not sending.done()
            server = await asyncio.to_thread(tansu(port, tmp_path).start)
            try:
                await asyncio.wait_for(sending, 60)
                return await read_back(bootstrap, f"news.raw.{unique}", len(articles))
            finally:
                server.stop()

    records = asyncio.run(scenario())
    assert {key for key, _ in records} == {a.id for a in articles}


def test_a_bounded_policy_gives_up_on_a_dead_broker_with_one_error(tmp_path, unique):
    """What `collect --once` and `replay` use: a person waits for the exit code, so the dead
    broker ends the run with a PublishError naming it, after the policy's tries."""
    bootstrap = f"127.0.0.1:{free_port()}"

    async def scenario() -> str:
        policy = RetryPolicy(first=0.05, cap=0.1, attempts=3)
        async with Publisher(broker_settings(bootstrap, f"news.raw.{unique}", tmp_path), policy=policy) as publisher:
            with pytest.raises(PublishError) as failed:
                await asyncio.wait_for(publisher.publish(fixture_articles()), 60)
            assert publisher.acknowledged == 0
            return str(failed.value)

    message = asyncio.run(scenario())
    assert bootstrap in message and "3 tries failed" in message


def test_collect_once_publishes_each_article_once_across_runs(servers, unique, tmp_path):
    settings = broker_settings(servers.kafka, f"news.raw.{unique}", tmp_path)
    feeds = [SEEDS_FEED.as_uri(), RUSSIAN_FEED.as_uri()]

    async def two_runs():
        first = await collect_once(settings, feeds)
        # Force a full re-fetch (the files' mtimes are unchanged): drop the validators, keep the seen ids.
        second = await collect_once(settings, feeds, store=without_validators(settings))
        return first, second, await read_back(servers.kafka, settings.raw_topic, first.new)

    first, second, records = asyncio.run(two_runs())
    assert [o.status for o in first.outcomes] == [COLLECTED, COLLECTED] and first.new == 5 + 7
    assert second.new == 0
    assert len(records) == 12 and len({key for key, _ in records}) == 12


def without_validators(settings: Settings) -> StateStore:
    store = StateStore.load(settings.data_dir)
    for state in store.feeds.values():
        state.etag = state.last_modified = None
    return store


def test_broker_restart_mid_run_is_ridden_out(tmp_path, unique, caplog):
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    topic = f"news.raw.{unique}"
    first, later = fixture_articles(), fixture_articles(RUSSIAN_FEED)

    async def scenario():
        server = await asyncio.to_thread(tansu(port, tmp_path).start)
        async with Publisher(broker_settings(bootstrap, topic, tmp_path)) as publisher:
            await publisher.publish(first)
            server.kill()  # the broker goes away (Tansu keeps nothing: memory storage)
            sending = asyncio.create_task(publisher.publish(later))
            while "broker unreachable, retrying in" not in caplog.text:
                await asyncio.sleep(0.1)
            server = await asyncio.to_thread(tansu(port, tmp_path).start)
            try:
                await asyncio.wait_for(sending, 90)
                return await read_back(bootstrap, topic, len(later))
            finally:
                server.stop()

    records = asyncio.run(scenario())
    assert {key for key, _ in records} == {a.id for a in later}


def test_run_collectors_publishes_then_stops_on_request(servers, unique, tmp_path):
    settings = broker_settings(servers.kafka, f"news.raw.{unique}", tmp_path).model_copy(
        update={"poll_interval_seconds": 0.2})

    async def scenario():
        stop = asyncio.Event()
        collectors = asyncio.create_task(run_collectors(settings, [SEEDS_FEED.as_uri()], stop))
        records = await read_back(servers.kafka, settings.raw_topic, 5)
        await asyncio.sleep(0.5)  # a few more cycles: nothing new to publish
        stop.set()
        await asyncio.wait_for(collectors, 10)
        return records, await read_back(servers.kafka, settings.raw_topic, 5)

    first, after = asyncio.run(scenario())
    assert len(first) == len(after) == 5
