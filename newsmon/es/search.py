"""Full-text search over the article alias, newest first, for `newsmon search`.

Every query word (or "quoted phrase") must match in title, summary or text, in any of
the English, Russian or Persian analysed variants. A word-by-word `multi_match` makes
"bushehr fuel" find an article with Bushehr in the title and fuel in the body, which a
single multi_match with operator=and misses; filters narrow by topic, source, language
and age.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from newsmon.es import ElasticsearchError

TEXT_FIELDS = [
    "title^3", "title.ru^3", "title.fa^3",
    "summary^2", "summary.ru^2", "summary.fa^2",
    "text", "text.ru", "text.fa",
]
RESULT_FIELDS = ["id", "title", "source", "published", "topics", "url", "language", "cluster_id"]
SINCE = re.compile(r"(\d+)([smhdwMy])")
TERMS = re.compile(r'"([^"]+)"|(\S+)')


class SearchError(ElasticsearchError):
    """Bad search input (e.g. --since) or a query the server refused."""


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: str | None = None  # "7d", "12h", or an ISO date
    limit: int = 20


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    source: str
    published: str
    topics: list[str]
    url: str
    language: str
    cluster_id: str


def since_bound(since: str) -> str:
    """`7d` -> `now-7d/m`; an ISO date or time passes through as an absolute bound."""
    if SINCE.fullmatch(since):
        return f"now-{since}/m"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?", since):
        return since
    raise SearchError(f"--since {since!r}: use an age like 30m, 12h, 7d, 2w or a date like 2025-11-01")


def text_query(text: str) -> dict | None:
    """All words/phrases must match: within one field, or each word in some field.

    The first form lets stop words ("the snapback") drop out per analyser; the second
    finds words spread over title and body. Either one is enough.
    """
    words = []
    for phrase, word in TERMS.findall(text):
        clause = {"query": phrase or word, "fields": TEXT_FIELDS}
        words.append({"multi_match": {**clause, "type": "phrase"} if phrase else clause})
    if not words:
        return None
    whole = {"multi_match": {"query": text, "fields": TEXT_FIELDS, "operator": "and"}}
    return {"bool": {"should": [whole, {"bool": {"must": words}}], "minimum_should_match": 1}}


def build_request(query: SearchQuery) -> dict:
    filters: list[dict] = []
    for field, values in (("topics", query.topics), ("source", query.sources), ("language", query.languages)):
        if values:
            filters.append({"terms": {field: list(values)}})
    if query.since:
        filters.append({"range": {"published": {"gte": since_bound(query.since)}}})
    must = text_query(query.text) or {"match_all": {}}
    return {
        "query": {"bool": {"must": [must], "filter": filters}},
        "sort": [{"published": {"order": "desc", "unmapped_type": "date"}}, {"id": "asc"}],
        "size": query.limit,
        "_source": RESULT_FIELDS,
        "track_total_hits": True,
    }


def to_hit(source: dict) -> Hit:
    return Hit(
        id=source.get("id", ""),
        title=source.get("title", ""),
        source=source.get("source", ""),
        published=source.get("published", ""),
        topics=list(source.get("topics", [])),
        url=source.get("url", ""),
        language=source.get("language", ""),
        cluster_id=source.get("cluster_id", ""),
    )


def search(client: Elasticsearch, index: str, query: SearchQuery) -> tuple[int, list[Hit]]:
    """Total matches and the newest `limit` hits."""
    try:
        response = client.search(index=index, **build_request(query))
    except ApiError as exc:
        raise SearchError(f"search on {index} failed: HTTP {exc.meta.status} {exc.message}") from exc
    except (ConnectionError, ConnectionTimeout) as exc:
        raise SearchError(f"Elasticsearch unreachable: {exc}") from exc
    hits = response["hits"]
    return hits["total"]["value"], [to_hit(hit["_source"]) for hit in hits["hits"]]
