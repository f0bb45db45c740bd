"""The live page's data: Elasticsearch request bodies and the JSON the page receives.

Pure functions (no client, no Faust) so the shapes are unit-tested on recorded responses.
Everything the browser gets is built here as plain JSON values; the page renders strings
with textContent only, and links only when `safe_url` let them through.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from newsmon.schemas.article import Alert

BASES = ("indexed", "published")  # when it reached us vs. what the feed claims (samples may be old)
RATE_MINUTES = 15  # the ingest sparkline: articles indexed per minute over this many minutes
RATE_AVERAGE_MINUTES = 5  # "per minute" on the page: articles indexed in the last 5 minute buckets / 5
STORY_FIELDS = ["cluster_id", "title", "url", "source", "sources", "source_count", "copies", "topics", "first_seen", "last_seen", "language"]


def interval_minutes(hours: int) -> int:
    """About 24 bars whatever the window: 6 h -> 15 min, 24 h -> 60 min."""
    return max(1, hours * 60 // 24)


def histogram(field: str, hours: int) -> dict:
    return {"date_histogram": {
        "field": field, "fixed_interval": f"{interval_minutes(hours)}m", "min_doc_count": 0,
        "extended_bounds": {"min": f"now-{hours}h", "max": "now"},
    }}


def articles_request(hours: int) -> dict:
    """One search for the chart (per topic, per basis), per-topic totals and the ingest rate."""
    per_basis = {
        basis: {
            "filter": {"range": {basis: {"gte": f"now-{hours}h"}}},
            "aggs": {"topics": {"terms": {"field": "topics", "size": 50}, "aggs": {"time": histogram(basis, hours)}}},
        }
        for basis in BASES
    }
    rate = {
        "filter": {"range": {"indexed": {"gte": f"now-{RATE_MINUTES}m"}}},
        "aggs": {"minutes": {"date_histogram": {
            "field": "indexed", "fixed_interval": "1m", "min_doc_count": 0,
            "extended_bounds": {"min": f"now-{RATE_MINUTES}m", "max": "now"},
        }}},
    }
    return {
        "size": 0, "track_total_hits": True,
        "aggs": {**per_basis, "totals": {"terms": {"field": "topics", "size": 50}}, "rate": rate},
    }


def stories_request(limit: int) -> dict:
    """Newest stories first: last seen, then first seen."""
    return {
        "size": limit, "track_total_hits": True, "_source": STORY_FIELDS,
        "sort": [{"last_seen": {"order": "desc", "unmapped_type": "date"}},
                 {"first_seen": {"order": "desc", "unmapped_type": "date"}}],
    }


def safe_url(url: str) -> str:
    """Only http(s) links reach the page: no javascript:, data: or relative tricks."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def shape_chart(aggs: dict, basis: str, topic_ids: list[str]) -> dict:
    """{"buckets": [iso, ...], "series": {topic: [count per bucket]}} with every known topic present."""
    topic_buckets = {b["key"]: b["time"]["buckets"] for b in aggs[basis]["topics"]["buckets"]}
    times = sorted({t["key_as_string"] for buckets in topic_buckets.values() for t in buckets})
    if not times:
        return {"buckets": [], "series": {topic: [] for topic in topic_ids}}
    series = {}
    for topic in sorted(set(topic_ids) | set(topic_buckets)):
        counts = {t["key_as_string"]: t["doc_count"] for t in topic_buckets.get(topic, [])}
        series[topic] = [counts.get(t, 0) for t in times]
    return {"buckets": times, "series": series}


def shape_ingest(aggs: dict) -> dict:
    """Articles indexed per minute over the last few minute buckets (the current one included), and the buckets."""
    minutes = [b["doc_count"] for b in aggs["rate"]["minutes"]["buckets"]]
    per_minute = sum(minutes[-RATE_AVERAGE_MINUTES:]) / RATE_AVERAGE_MINUTES
    return {"per_minute": round(per_minute, 1), "minutes": minutes}


def shape_articles(response: dict, topic_ids: list[str], hours: int) -> dict:
    """Totals, both charts and the ingest rate; a response without aggregations (no index yet) is all zeros."""
    aggs = response.get("aggregations") or empty_aggregations()
    totals = {b["key"]: b["doc_count"] for b in aggs["totals"]["buckets"]}
    return {
        "window": {"hours": hours, "interval_minutes": interval_minutes(hours)},
        "articles": response["hits"]["total"]["value"],
        "topics": {topic: totals.get(topic, 0) for topic in sorted(set(topic_ids) | set(totals))},
        "charts": {basis: shape_chart(aggs, basis, topic_ids) for basis in BASES},
        "ingest": shape_ingest(aggs),
    }


def empty_aggregations() -> dict:
    return {
        **{basis: {"topics": {"buckets": []}} for basis in BASES},
        "totals": {"buckets": []}, "rate": {"minutes": {"buckets": []}},
    }


def shape_story(source: dict) -> dict:
    return {
        "cluster_id": source.get("cluster_id", ""),
        "title": source.get("title", ""),
        "url": safe_url(source.get("url", "")),
        "source": source.get("source", ""),
        "sources": list(source.get("sources", [])),
        "source_count": source.get("source_count", 1),
        "copies": source.get("copies", 1),
        "topics": list(source.get("topics", [])),
        "first_seen": source.get("first_seen", ""),
        "last_seen": source.get("last_seen", ""),
    }


def shape_stories(response: dict | None) -> dict:
    """None (no news-stories index yet) is an empty list, not an error."""
    if response is None:
        return {"total": 0, "items": []}
    hits = response["hits"]
    return {"total": hits["total"]["value"], "items": [shape_story(h["_source"]) for h in hits["hits"]]}


def shape_alert(alert: Alert) -> dict:
    return {
        "kind": alert.kind, "topic": alert.topic, "title": alert.title, "url": safe_url(alert.url),
        "source": alert.source, "published": alert.published, "created": alert.created,
        "cluster_id": alert.cluster_id, "rate": alert.rate, "baseline": alert.baseline,
    }
