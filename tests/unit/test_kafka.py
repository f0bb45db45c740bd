"""The empty-fetch pacing patch (newsmon/kafka.py) ends the way aiokafka expects, without a broker."""
from __future__ import annotations

import asyncio

import pytest
from aiokafka.consumer.fetcher import Fetcher

from newsmon.kafka import pace_empty_fetches


@pytest.fixture
def empty_fetch(monkeypatch: pytest.MonkeyPatch):
    """Fetcher._proc_fetch_request answering "no data" at once, as noida-db does; patch undone after."""
    async def empty(self, assignment, node_id, request) -> bool:  # noqa: ANN001 -- aiokafka's signature
        return False

    monkeypatch.setattr(Fetcher, "_proc_fetch_request", empty)


def test_a_paced_fetch_cancelled_by_consumer_stop_ends_quietly(empty_fetch) -> None:
    async def cancel_while_pacing() -> bool:
        pace_empty_fetches(30.0)
        fetch = asyncio.create_task(Fetcher._proc_fetch_request(None, None, None, None))
        await asyncio.sleep(0.05)
        fetch.cancel()  # what Fetcher.close does before awaiting the task
        return await asyncio.wait_for(fetch, 1.0)

    assert asyncio.run(cancel_while_pacing()) is False
