"""What the monitor holds right now, read back from Elasticsearch: the `up --demo` summary.

Counts come from the real index (not from the worker's memory), so the summary is also a
check that articles actually became searchable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from elasticsearch import Elasticsearch, NotFoundError
from rich.console import Console
from rich.table import Table

from newsmon.core.urls import redact_url
from newsmon.es.client import make_client
from newsmon.settings import Settings


@dataclass
class Summary:
    articles: int
    duplicates: int
    stories: int
    topics: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    top_stories: list[dict] = field(default_factory=list)


def _terms(response: dict, name: str) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in response["aggregations"][name]["buckets"]}


def read_summary(client: Elasticsearch, settings: Settings) -> Summary:
    client.indices.refresh(index=f"{settings.index_alias},{settings.stories_index}", ignore_unavailable=True)
    try:
        articles = client.search(
            index=settings.index_alias, size=0, track_total_hits=True,
            aggs={
                "topics": {"terms": {"field": "topics", "size": 50}},
                "languages": {"terms": {"field": "language", "size": 50}},
                "duplicates": {"filter": {"term": {"is_duplicate": True}}},
            },
        )
    except NotFoundError:  # nothing indexed yet (a first pass over feeds that held nothing new)
        return Summary(articles=0, duplicates=0, stories=0)
    try:
        stories = client.search(index=settings.stories_index, size=5, track_total_hits=True,
                                sort=[{"source_count": {"order": "desc", "unmapped_type": "integer"}},
                                      {"last_seen": {"order": "desc", "unmapped_type": "date"}}])
        story_total, top = stories["hits"]["total"]["value"], [h["_source"] for h in stories["hits"]["hits"]]
    except NotFoundError:
        story_total, top = 0, []
    return Summary(
        articles=articles["hits"]["total"]["value"],
        duplicates=articles["aggregations"]["duplicates"]["doc_count"],
        stories=story_total,
        topics=_terms(articles, "topics"),
        languages=_terms(articles, "languages"),
        top_stories=top,
    )


def print_summary(settings: Settings, drained: bool, alerts: dict[str, int] | None = None) -> Summary:
    summary = read_summary(make_client(settings), settings)
    console = Console(soft_wrap=True)
    console.print(f"\n[bold]newsmon summary[/bold]{'' if drained else ' (worker still busy: counts may grow)'}")
    console.print(
        f"  {summary.articles} articles indexed in '{settings.index_alias}' "
        f"({summary.duplicates} near-duplicate copies), {summary.stories} stories in '{settings.stories_index}'"
    )
    table = Table("topic", "articles", "alerts")
    for topic, count in sorted(summary.topics.items()):
        table.add_row(topic, str(count), str((alerts or {}).get(topic, 0)))
    console.print(table)
    if summary.languages:
        console.print("  languages: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.languages.items())))
    for story in summary.top_stories[:3]:
        languages = ", ".join(story.get("languages") or [story.get("language", "")])
        console.print(f"  event: {story.get('articles', 1)} articles from {story.get('source_count', 1)} outlets ({languages}): "
                      f"{story.get('title', '')!s:.90}", markup=False)
    console.print(
        "\nWhere to look next:\n"
        f"  live page       http://{settings.web_host}:{settings.web_port}/\n"
        f"  search          newsmon search Bushehr --topic bushehr\n"
        f"  alerts          newsmon alerts subscribe snapback bushehr north-south-corridor --from-beginning\n"
        f"  Elasticsearch   {redact_url(settings.elasticsearch_url or '')}/{settings.index_alias}/_search\n"
        f"  Kibana          newsmon kibana import --url http://localhost:5601  (then open the 'News monitor' dashboard)",
        markup=False, highlight=False,
    )
    return summary
