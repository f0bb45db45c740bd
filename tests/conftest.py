"""Shared fixtures: real embedded servers, one set per test session (per xdist worker).

Integration tests use unique topic and index names (see `unique`), so one server pair
is safely shared by every test of a worker.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsmon.embedded import Server, free_port, noida, tansu

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tests" / "fixtures" / "dedupe" / "seeds"  # copies of ../shared/seeds: tests run on any checkout
FIXTURES = REPO / "tests" / "fixtures"

# The test feeds link to real outlets' pages: no test fetches a linked page unless it asks
# (full_text="auto" and a loopback site, as tests/integration/test_news_site.py does).
os.environ.setdefault("NEWSMON_FULL_TEXT", "never")


@dataclass(frozen=True)
class Servers:
    kafka: str  # bootstrap servers, host:port
    elasticsearch: str  # http URL
    server: Server


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """noida-db speaking Kafka and Elasticsearch on free loopback ports."""
    data_dir = tmp_path_factory.mktemp("noida")
    kafka_port, es_port = free_port(), free_port()
    server = noida(data_dir, kafka_port, es_port).start()
    try:
        yield Servers(f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{es_port}", server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tansu_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Tansu broker (memory storage) on a free loopback port."""
    port = free_port()
    server = tansu(port, tmp_path_factory.mktemp("tansu")).start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, index and group names of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS
