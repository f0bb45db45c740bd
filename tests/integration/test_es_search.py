"""Search in three languages against real analysers (noida-db), through the CLI command."""
from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from newsmon.cli import search as search_command
from newsmon.es.client import make_client
from newsmon.es.search import SearchQuery, search
from newsmon.es.sink import ElasticsearchSink
from newsmon.settings import Settings
from tests.integration.es_corpus import corpus

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def indexed(servers) -> Settings:
    unique = uuid.uuid4().hex[:10]
    settings = Settings(elasticsearch_url=servers.elasticsearch, index_alias=f"s{unique}-articles",
                        stories_index=f"s{unique}-stories")
    sink = ElasticsearchSink(make_client(settings), settings)
    sink.setup()
    articles, stories = corpus(NOW)
    assert sink.write(articles, stories).rejected == []
    sink.client.indices.refresh(index=settings.index_alias)
    return settings


def titles(settings: Settings, **query) -> list[str]:
    return [hit.title for hit in search(make_client(settings), settings.index_alias, SearchQuery(**query))[1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sanction", "UN snapback sanctions on Iran take effect after trigger mechanism"),  # English stemming
        ("санкция", "Иран и Россия осудили механизм восстановления санкций ООН"),  # Russian stemming
        ("تحریم", "سازوکار ماشه و بازگشت تحریم‌های سازمان ملل علیه ایران"),  # Persian, across a ZWNJ
        ("bushehr Rosatom", "Bushehr nuclear power plant receives fresh fuel from Russia"),  # title + body
        ('"trigger mechanism"', "UN snapback sanctions on Iran take effect after trigger mechanism"),
    ],
)
def test_words_are_found_in_their_language(indexed, text, expected) -> None:
    assert expected in titles(indexed, text=text, limit=50)


def test_filters_and_order(indexed) -> None:
    found = search(make_client(indexed), indexed.index_alias, SearchQuery(topics=("bushehr",), languages=("ru",), limit=50))[1]
    assert found and all(h.language == "ru" and h.topics == ["bushehr"] for h in found)
    newest = search(make_client(indexed), indexed.index_alias, SearchQuery(since="2d", limit=100))[1]
    assert newest and all(datetime.fromisoformat(h.published) >= NOW - timedelta(days=2, minutes=1) for h in newest)
    assert [h.published for h in newest] == sorted((h.published for h in newest), reverse=True)
    assert titles(indexed, text="bushehr", sources=("nobody.example",)) == []


def test_cli_prints_json_lines(indexed, capsys) -> None:
    parser = argparse.ArgumentParser()
    search_command.register(parser.add_subparsers())
    args = parser.parse_args(["search", "corridor", "--topic", "north-south-corridor", "--json", "--limit", "2"])
    assert args.func(args, indexed) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all(line["topics"] == ["north-south-corridor"] for line in lines)
