"""Reading the alert topics back (streams/alert_log.py) on both embedded brokers, noida-db and Tansu.

The alert stage relies on it after a crash: every story alert already on alerts.<topic> must
be handed over once, junk skipped, and a later generation must read only what is new.
"""
from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from newsmon.schemas.article import Alert, encode
from newsmon.streams.alert_log import AlertLog

from newsmon.settings import Settings

pytestmark = pytest.mark.integration


def story(topic: str, cluster: str) -> Alert:
    return Alert(kind="story", topic=topic, cluster_id=cluster, article_id=f"a-{cluster}")


async def create(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1) for name in names])
    finally:
        await admin.close()


async def produce(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for name, key, value in records:
            await producer.send_and_wait(name, value, key=key)
    finally:
        await producer.stop()


async def recall_twice(bootstrap: str, unique: str) -> tuple[list[Alert], list[Alert], list[Alert]]:
    names = [f"alerts.bushehr.{unique}", f"alerts.snapback.{unique}"]
    await create(bootstrap, names)
    first = [story("bushehr", f"c{i}") for i in range(12)] + [story("snapback", "c1")]
    await produce(bootstrap, [(names[a.topic == "snapback"], a.cluster_id.encode(), encode(a)) for a in first]
                  + [(names[0], b"bushehr", encode(Alert(kind="breaking-volume", topic="bushehr", rate=9, baseline=1))),
                     (names[1], b"junk", b"not an alert")])
    log = AlertLog(Settings(kafka_bootstrap_servers=bootstrap), names)
    seen: list[Alert] = []
    await log.recall(1, seen.append)
    after_first = list(seen)
    await produce(bootstrap, [(names[1], b"c2", encode(story("snapback", "c2")))])
    await log.recall(1, seen.append)  # same generation: not read again
    after_same = list(seen)
    await log.recall(2, seen.append)
    return after_first, after_same, seen


@pytest.mark.parametrize("broker", ["noida", "tansu"])
def test_every_alert_is_read_back_once_and_a_new_generation_reads_only_the_new(broker, request, unique):
    bootstrap = request.getfixturevalue("servers").kafka if broker == "noida" else request.getfixturevalue("tansu_bootstrap")
    after_first, after_same, after_next = asyncio.run(recall_twice(bootstrap, unique))
    stories = sorted((a.topic, a.cluster_id) for a in after_first if a.kind == "story")
    assert stories == sorted([("bushehr", f"c{i}") for i in range(12)] + [("snapback", "c1")])
    assert len(after_first) == 14  # 13 stories + 1 breaking-volume alert; the junk record skipped
    assert after_same == after_first
    assert after_next[len(after_first):] == [story("snapback", "c2")]
