"""The pipeline's topics are created with explicit retention, which noida-db enforces."""
from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from newsmon.settings import Settings
from newsmon.stack import ensure_topics

pytestmark = pytest.mark.integration


async def retention_ms(bootstrap: str, topics: list[str]) -> dict[str, str]:
    """topic -> its retention.ms, as the broker describes it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    return {topic: value for response in responses for _code, _message, _type, topic, entries in response.resources
            for name, value, *_ in entries if name == "retention.ms"}


def test_flow_topics_keep_a_week_alerts_and_dead_letters_the_dedupe_window(servers, unique, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, kafka_bootstrap_servers=servers.kafka, raw_topic=f"raw-{unique}",
                        articles_topic=f"articles-{unique}", dlq_topic=f"dlq-{unique}", alerts_topic_prefix=f"alerts-{unique}.")
    asyncio.run(ensure_topics(settings, ["bushehr"]))
    got = asyncio.run(retention_ms(servers.kafka, [settings.raw_topic, settings.articles_topic, settings.dlq_topic, settings.alerts_topic("bushehr")]))
    week, month = str(7 * 86_400_000), str(30 * 86_400_000)
    assert got == {settings.raw_topic: week, settings.articles_topic: week, settings.dlq_topic: month, settings.alerts_topic("bushehr"): month}
