"""How the sink turns records into bulk actions and sorts outcomes (scripted client, no server)."""
from __future__ import annotations

import json

from newsmon.schemas.article import Article, Story

from newsmon.es.sink import ElasticsearchSink
from newsmon.settings import Settings


class RecordingClient:
    """Accepts every bulk operation, or rejects the ids in `reject` with a mapping error."""

    def __init__(self, reject: frozenset[str] = frozenset()) -> None:
        self.reject = reject
        self.operations: list[dict] = []

    def options(self, **_: object) -> "RecordingClient":
        return self

    def bulk(self, operations: list[bytes]) -> dict:
        items = []
        for pair in operations:
            header, source = (json.loads(line) for line in pair.splitlines())
            (op, meta), = header.items()
            self.operations.append({"op": op, **meta, "source": source})
            bad = meta["_id"] in self.reject
            items.append({op: {"status": 400, "error": {"type": "strict_dynamic_mapping_exception", "reason": "no"}}
                          if bad else {"status": 201}})
        return {"errors": bool(self.reject), "items": items}


def sink(client: RecordingClient, **kwargs) -> ElasticsearchSink:
    settings = Settings(index_alias="t-articles", stories_index="t-stories", index_batch_size=2)
    return ElasticsearchSink(client, settings, now=lambda: "2025-11-09T00:00:00.000Z", **kwargs)


def article(n: int, published: str = "2025-11-08T10:00:00Z", **fields) -> Article:
    return Article(id=f"a{n}", url=f"https://e/{n}", title=f"t{n}", published=published, **fields)


def test_articles_go_to_their_month_with_their_id_and_an_indexed_time() -> None:
    client = RecordingClient()
    result = sink(client).write([article(1), article(2, "2025-10-02T00:00:00Z"), article(3, "", fetched="2025-09-01T00:00:00Z")])
    assert result.indexed == 3 and result.rejected == []
    assert [(o["_index"], o["_id"]) for o in client.operations] == [
        ("t-articles-2025.11", "a1"), ("t-articles-2025.10", "a2"), ("t-articles-2025.09", "a3")]
    source = client.operations[0]["source"]
    assert source["indexed"] == "2025-11-09T00:00:00.000Z"
    assert source["is_duplicate"] is False  # stored even though it is the default
    assert "content" not in source and "duplicate_of" not in source  # unset strings/None are left out


def test_stories_are_whole_documents_keyed_by_story_id() -> None:
    client = RecordingClient()
    result = sink(client).write([], [Story(story_id="c1", title="T", copies=1), {"story_id": "c2", "copies": 4}])
    assert result.stories == 2
    assert [(o["op"], o["_index"], o["_id"]) for o in client.operations] == [
        ("index", "t-stories", "c1"), ("index", "t-stories", "c2")]
    assert client.operations[0]["source"]["copies"] == 1


def test_unroutable_oversize_and_refused_documents_are_returned_with_reasons() -> None:
    client = RecordingClient(reject=frozenset({"a2"}))
    huge = article(3, text="x" * 5000)
    result = sink(client, max_document_bytes=2000).write([article(1), article(2), huge, article(4, "")], [{"title": "no id"}])
    reasons = {a.id: reason for a, reason in result.rejected}
    assert result.indexed == 1
    assert reasons["a2"].startswith("strict_dynamic_mapping_exception")
    assert reasons["a3"].startswith("oversize:")
    assert reasons["a4"].startswith("unroutable:")
    assert result.rejected_stories == [({"title": "no id"}, "unroutable: story has no story_id")]


def test_update_topics_sends_partial_updates_to_the_original_index() -> None:
    client = RecordingClient()
    result = sink(client).update_topics([article(1, topics=["snapback"], matched_rules=["snapback:trigger"])])
    assert result.updated == 1
    (operation,) = client.operations
    assert (operation["op"], operation["_index"], operation["_id"]) == ("update", "t-articles-2025.11", "a1")
    assert operation["source"] == {"doc": {"topics": ["snapback"], "matched_rules": ["snapback:trigger"]}}


def test_update_topics_with_bodies_also_rewrites_the_text_and_what_derives_from_it() -> None:
    client = RecordingClient()
    redone = article(1, language="fa", text="متن کامل", content="متن کامل", summary="خلاصه", body_source="page",
                     content_hash="h", topics=["bushehr"], cluster_id="c9", story_id="s9")
    sink(client).update_topics([redone], bodies=True)
    doc = client.operations[0]["source"]["doc"]
    assert (doc["text_fa"], doc["content"], doc["summary_fa"], doc["body_source"], doc["content_hash"]) == (
        "متن کامل", "متن کامل", "خلاصه", "page", "h")
    assert doc["topics"] == ["bushehr"] and not {"cluster_id", "story_id", "text", "published"} & set(doc)


def test_each_text_is_sent_once_for_analysis_in_its_language() -> None:
    client = RecordingClient()
    sink(client).write([article(1, language="fa", text="متن خبر", summary="خلاصه"), article(2, text="Body")])
    persian, unknown = (o["source"] for o in client.operations)
    assert (persian["title"], persian["title_fa"], persian["summary_fa"], persian["text_fa"]) == ("t1", "t1", "خلاصه", "متن خبر")
    assert "text" not in persian and not {"title_en", "text_en", "title_std"} & set(persian)
    assert (unknown["title_std"], unknown["text_std"]) == ("t2", "Body")  # no language yet: the standard analysis
