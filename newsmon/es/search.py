"""Full-text search over the article alias, newest first, for `newsmon search`.

Every query word (or "quoted phrase") must match in title, summary or text. Each article is
analysed once, in its own language (`title_en`, `text_fa`, ..., `*_std` for the rest), so
one query searches every per-language field, each with its own analyzer. A word-by-word
`multi_match` makes "bushehr fuel" find an article with Bushehr in the title and fuel in the
body, which a single multi_match with operator=and misses; filters narrow by topic, source,
language and age. Persian words are also matched with their zero-width non-joiners removed
(می‌شود finds میشود), and the Persian fields index joined word parts (میشود finds می‌شود).

`search_stories` groups the same matches by event (`story_id`): one line per story with its
outlets and languages, read from the stories index.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from newsmon.es import ElasticsearchError
from newsmon.es.templates import analysed_fields

BOOSTS = {"title": 3, "summary": 2, "text": 1}
TEXT_FIELDS = [f"{field}^{boost}" if boost > 1 else field for name, boost in BOOSTS.items() for field in analysed_fields(name)]
PERSIAN_FIELDS = [f"{name}_fa" for name in BOOSTS]
PERSIAN_JOINED = "news_persian_joined"  # the query with its ZWNJs removed: می‌شود as میشود
RESULT_FIELDS = ["id", "title", "source", "published", "topics", "url", "language", "cluster_id", "story_id"]
STORY_RESULT_FIELDS = ["story_id", "title", "titles", "sources", "source_count", "languages", "articles",
                       "first_seen", "last_seen", "merged_into"]
ALSO_SHOWN = 5  # outlets named on a --by-story line; the rest are counted
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
    limit: int = 20  # articles, or stories with search_stories


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
    story_id: str = ""


@dataclass(frozen=True)
class StoryHit:
    """One event among the matches: its newest matching article and what the story document says."""

    story_id: str
    article: Hit
    title: str
    sources: list[str]
    source_count: int
    languages: list[str]
    articles: int
    first_seen: str
    last_seen: str


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
    words = [word_query(phrase or word, phrase=bool(phrase)) for phrase, word in TERMS.findall(text)]
    if not words:
        return None
    whole = {"multi_match": {"query": text, "fields": TEXT_FIELDS, "operator": "and"}}
    return {"bool": {"should": [whole, {"bool": {"must": words}}], "minimum_should_match": 1}}


def word_query(text: str, phrase: bool) -> dict:
    """One word or phrase in any field (all its tokens: a ZWNJ splits a Persian word in two), or in
    the Persian fields with its ZWNJs removed."""
    every = {"type": "phrase"} if phrase else {"operator": "and"}
    clause = {"multi_match": {"query": text, "fields": TEXT_FIELDS, **every}}
    if "\u200c" not in text:
        return clause
    joined = {"multi_match": {"query": text, "fields": PERSIAN_FIELDS, **every, "analyzer": PERSIAN_JOINED}}
    return {"bool": {"should": [clause, joined], "minimum_should_match": 1}}


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
        story_id=source.get("story_id", ""),
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


def stories_request(query: SearchQuery) -> dict:
    """The article search collapsed on `story_id`: the newest match of each of the newest stories."""
    request = build_request(query)
    request["query"]["bool"]["filter"].append({"exists": {"field": "story_id"}})
    return {**request, "collapse": {"field": "story_id"}, "track_total_hits": False,
            "aggs": {"stories": {"cardinality": {"field": "story_id"}}}}


def story_documents(client: Elasticsearch, stories_index: str, ids: list[str]) -> dict[str, dict]:
    """The story documents by id, a merged story replaced by the one it was merged into."""
    found: dict[str, dict] = {}
    wanted = list(ids)
    for _ in range(2):  # a story merged into one that was merged again is rare; two hops are enough
        response = client.search(index=stories_index, query={"terms": {"story_id": wanted}}, size=len(wanted),
                                 _source=STORY_RESULT_FIELDS, ignore_unavailable=True)
        found.update({hit["_source"]["story_id"]: hit["_source"] for hit in response["hits"]["hits"]})
        wanted = [doc["merged_into"] for doc in found.values() if doc.get("merged_into") and doc["merged_into"] not in found]
        if not wanted:
            break
    return found


def final_story(documents: dict[str, dict], story_id: str) -> dict:
    document = documents.get(story_id, {"story_id": story_id})
    target = document.get("merged_into")
    return documents.get(target, document) if target else document


def to_story_hit(article: Hit, document: dict) -> StoryHit:
    sources = list(document.get("sources") or [article.source])
    return StoryHit(
        story_id=document.get("story_id", article.story_id),
        article=article,
        title=document.get("title") or article.title,
        sources=sources,
        source_count=document.get("source_count", len(sources)),
        languages=list(document.get("languages") or [article.language]),
        articles=document.get("articles", 1),
        first_seen=document.get("first_seen", article.published),
        last_seen=document.get("last_seen", article.published),
    )


def search_stories(client: Elasticsearch, index: str, stories_index: str, query: SearchQuery) -> tuple[int, list[StoryHit]]:
    """Stories with a matching article, newest match first, as (stories matched, the first `limit`)."""
    try:
        response = client.search(index=index, **stories_request(query))
        articles = [to_hit(hit["_source"]) for hit in response["hits"]["hits"]]
        documents = story_documents(client, stories_index, [a.story_id for a in articles]) if articles else {}
    except ApiError as exc:
        raise SearchError(f"search by story failed: HTTP {exc.meta.status} {exc.message}") from exc
    except (ConnectionError, ConnectionTimeout) as exc:
        raise SearchError(f"Elasticsearch unreachable: {exc}") from exc
    groups: dict[str, StoryHit] = {}
    for article in articles:  # newest first: a merged story keeps its newest match
        story = to_story_hit(article, final_story(documents, article.story_id))
        groups.setdefault(story.story_id, story)
    return response["aggregations"]["stories"]["value"], list(groups.values())


def story_line(story: StoryHit) -> str:
    """`title — outlet · 7 articles, 4 outlets (en, ru, fa) · also reported by a, b and 2 more`."""
    others = [name for name in story.sources if name != story.article.source]
    more = story.source_count - 1 - len(others[:ALSO_SHOWN])
    also = ", ".join(others[:ALSO_SHOWN]) + (f" and {more} more" if more > 0 else "")
    counts = (f"{story.articles} article{'s' if story.articles != 1 else ''}, "
              f"{story.source_count} outlet{'s' if story.source_count != 1 else ''} ({', '.join(story.languages)})")
    line = f"{story.article.title or story.title} — {story.article.source} · {counts}"
    return line + (f" · also reported by {also}" if also else "")
