"""The sink against a real Elasticsearch-API server (noida-db): idempotent writes, per-document
rejections, story upserts, in-place re-tagging, and behaviour while the server is down."""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from newsmon.schemas.article import Article, Story

from newsmon.embedded import free_port, noida
from newsmon.es import IndexingUnavailable
from newsmon.retry import RetryPolicy
from newsmon.es.client import make_client
from newsmon.es.sink import ElasticsearchSink
from newsmon.es.templates import ensure_templates
from newsmon.settings import Settings
from tests.integration.es_corpus import corpus

pytestmark = pytest.mark.integration
ANCHOR = datetime(2025, 11, 8, 12, tzinfo=UTC)
FAST_FAIL = RetryPolicy(first=0.01, cap=0.02, attempts=3)


def settings_for(url: str, unique: str) -> Settings:
    return Settings(elasticsearch_url=url, index_alias=f"t{unique}-articles", stories_index=f"t{unique}-stories")


@pytest.fixture
def settings(servers, unique) -> Settings:
    return settings_for(servers.elasticsearch, unique)


@pytest.fixture
def sink(settings) -> ElasticsearchSink:
    sink = ElasticsearchSink(make_client(settings), settings)
    sink.setup()
    return sink


def count(sink: ElasticsearchSink, index: str) -> int:
    sink.client.indices.refresh(index=index)
    return sink.client.count(index=index)["count"]


def test_templates_are_idempotent_and_the_alias_exists_before_any_article(settings, caplog) -> None:
    client = make_client(settings)
    with caplog.at_level(logging.INFO, logger="newsmon.es.templates"):
        ensure_templates(client, settings)
        ensure_templates(client, settings)
    current = f"{settings.index_alias}-{datetime.now(UTC):%Y.%m}"
    assert list(client.indices.get_alias(name=settings.index_alias)) == [current]
    assert client.indices.exists(index=settings.stories_index)
    assert client.count(index=settings.index_alias)["count"] == 0
    ilm_lines = [r.message for r in caplog.records if "ILM not available" in r.message]
    assert len(ilm_lines) == 2 and "newsmon es prune" in ilm_lines[0]  # noida-db has no ILM: said once per setup


def test_redelivered_batches_land_on_the_same_documents(sink, settings) -> None:
    articles, stories = corpus(ANCHOR)
    first = sink.write(articles, stories)
    assert (first.indexed, first.stories, first.rejected, first.rejected_stories) == (len(articles), len(stories), [], [])
    again = sink.write(articles, stories)  # e.g. offsets not committed before a crash
    assert again.indexed == len(articles)
    assert count(sink, settings.index_alias) == len(articles)
    assert count(sink, settings.stories_index) == len(stories)
    months = sorted(sink.client.indices.get_alias(name=settings.index_alias))
    assert {f"{settings.index_alias}-2025.10", f"{settings.index_alias}-2025.11"} <= set(months)
    stored = sink.client.get(index=f"{settings.index_alias}-{articles[0].published[:7].replace('-', '.')}", id=articles[0].id)
    assert stored["_source"]["indexed"].endswith("Z") and stored["_source"]["title"] == articles[0].title


def test_refused_documents_come_back_with_reasons_and_do_not_block_the_batch(sink, settings) -> None:
    good = Article(id="good", url="https://e/good", title="fine", published="2025-11-08T10:00:00Z")
    spaced = Article(id="spaced", url="https://e/spaced", published="2025-11-08 10:00:00Z")  # Python parses it, ES does not
    stories = [Story(story_id="c1", title="ok"), {"story_id": "c2", "unknown": 1}, {"story_id": "c3", "copies": "many"}]
    result = sink.write([good, spaced], stories)
    assert result.indexed == 1 and result.stories == 1
    (article, reason), = result.rejected
    assert article.id == "spaced" and "published" in reason
    reasons = {story["story_id"]: reason for story, reason in result.rejected_stories}
    assert "strict_dynamic_mapping_exception" in reasons["c2"]
    assert "copies" in reasons["c3"]
    assert count(sink, settings.index_alias) == 1


def test_stories_are_replaced_whole_by_story_id(sink, settings) -> None:
    sink.write([], [Story(story_id="c1", title="first", copies=1, sources=["a"], source_count=1)])
    sink.write([], [Story(story_id="c1", title="first", copies=3, sources=["a", "b"], source_count=2)])
    assert count(sink, settings.stories_index) == 1
    source = sink.client.get(index=settings.stories_index, id="c1")["_source"]
    assert (source["copies"], source["sources"], source["source_count"]) == (3, ["a", "b"], 2)


def test_update_topics_retags_in_place_and_creates_nothing(sink, settings) -> None:
    articles, _ = corpus(ANCHOR)
    sink.write(articles[:3])
    retagged = [msgspec.structs.replace(a, topics=["snapback"], matched_rules=["snapback:trigger"]) for a in articles[:3]]
    never_indexed = Article(id="ghost", url="https://e/ghost", published="2025-11-01T00:00:00Z", topics=["x"])
    result = sink.update_topics(retagged + [never_indexed])
    assert result.updated == 3 and result.missing == ["ghost"] and result.rejected == []
    assert count(sink, settings.index_alias) == 3
    response = sink.client.search(index=settings.index_alias, query={"term": {"topics": "snapback"}})
    assert response["hits"]["total"]["value"] == 3
    assert all(h["_source"]["matched_rules"] == ["snapback:trigger"] for h in response["hits"]["hits"])


def test_unreachable_server_raises_indexing_unavailable_after_the_budget(unique) -> None:
    settings = settings_for(f"http://127.0.0.1:{free_port()}", unique)
    sleeps: list[float] = []
    sink = ElasticsearchSink(make_client(settings), settings, policy=FAST_FAIL, sleep=sleeps.append)
    articles, _ = corpus(ANCHOR)
    with pytest.raises(IndexingUnavailable, match="3 tries failed"):
        sink.write(articles[:2])
    assert len(sleeps) == 2
    with pytest.raises(IndexingUnavailable):
        sink.setup()


def test_a_server_restart_loses_and_duplicates_nothing(tmp_path: Path, unique) -> None:
    port = free_port()
    server = noida(tmp_path, free_port(), port).start()
    try:
        settings = settings_for(f"http://127.0.0.1:{port}", unique)
        sink = ElasticsearchSink(make_client(settings), settings, policy=FAST_FAIL)
        sink.setup()
        articles, stories = corpus(ANCHOR)
        sink.write(articles[:20], stories)
        server.stop()  # an outage; noida-db persists about once a second, so a SIGKILL here could lose the writes
        with pytest.raises(IndexingUnavailable):  # the caller keeps its offsets ...
            sink.write(articles[20:], stories)
        server.start()
        sink.write(articles[20:], stories)  # ... and redelivers the same batch
        sink.write(articles, stories)
        assert count(sink, settings.index_alias) == len(articles)
        assert count(sink, settings.stories_index) == len(stories)
    finally:
        server.stop()
