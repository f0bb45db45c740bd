"""The shipped Kibana dashboard against the real templates and a real server (noida-db).

Kibana itself cannot run here, so each panel, control and saved search is translated into
the Elasticsearch request Kibana would send (newsmon.es.dashboard). The fields they read must
exist in the index templates with a type their aggregation accepts, and after a realistic
batch goes through the sink every request must return data within the dashboard's time range.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.es.client import make_client
from newsmon.es.dashboard import (
    describe,
    field_problems,
    has_data,
    load_objects,
    read_dashboard,
    retarget,
    template_types,
    with_time_range,
)
from newsmon.es.sink import ElasticsearchSink
from newsmon.settings import Settings
from tests.integration.es_corpus import corpus

DOCS = Path(__file__).resolve().parents[2] / "docs" / "elasticsearch.md"


def test_every_field_read_exists_with_a_type_its_aggregation_accepts() -> None:
    board = read_dashboard(load_objects())
    assert field_problems(board, template_types()) == []
    used = {(use.field, use.how) for panel in board.panels + board.controls for use in panel.uses}
    assert {("topics", "terms"), ("published", "date_histogram"), ("source", "terms"),
            ("topics", "options_list"), ("language", "options_list"), ("body_source", "options_list"),
            ("language", "terms"), ("body_source", "terms"), ("body_reason", "terms"),
            ("source_count", "sort"), ("languages", "column"), ("sources", "column"), ("articles", "column")} <= used


def test_a_wrongly_typed_field_would_be_caught() -> None:
    types = template_types()
    types["newsmon-articles"]["topics"] = "text"
    problems = field_problems(read_dashboard(load_objects()), types)
    assert any("topics is text, terms needs" in p for p in problems)


@pytest.mark.integration
def test_every_panel_query_returns_data_after_a_realistic_batch(servers, unique) -> None:
    settings = Settings(elasticsearch_url=servers.elasticsearch, index_alias=f"k{unique}-articles",
                        stories_index=f"k{unique}-stories")
    sink = ElasticsearchSink(make_client(settings), settings)
    sink.setup()
    articles, stories = corpus(datetime.now(UTC).replace(microsecond=0))
    result = sink.write(articles, stories)
    assert result.rejected == [] and result.rejected_stories == []
    sink.client.indices.refresh(index=f"{settings.index_alias},{settings.stories_index}")
    objects = retarget(load_objects(), {"newsmon-articles": settings.index_alias, "newsmon-stories": settings.stories_index})
    board = read_dashboard(objects)
    empty = []
    for panel in board.panels + board.controls:
        for request in panel.requests:
            response = sink.client.search(index=board.data_views[request.data_view].title, **with_time_range(request, board))
            if not has_data(response):
                empty.append(f"{panel.title}: {request.summary}")
    assert empty == []


def test_docs_show_the_dashboard_as_shipped() -> None:
    assert describe(read_dashboard(load_objects())) in DOCS.read_text(encoding="utf-8")
