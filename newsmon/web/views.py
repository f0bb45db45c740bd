"""The live page's data: Elasticsearch request bodies and the JSON the page receives.

Pure functions (no client, no Faust) so the shapes are unit-tested on recorded responses.
Everything the browser gets is built here as plain JSON values; the page renders strings
with textContent only (each in its own direction-isolated element, so Arabic and Persian
read right to left), and links only when `safe_url` let them through.

Besides topics and ingest, the page shows per language and per body source how many articles
arrived in the window, which outlets' pages stayed teasers and why (backing off: 429, timeouts,
5xx; refusing: robots, 401/403, paywalls), and the newest stories as events: every outlet and
language that reported them.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from newsmon.schemas.article import Alert

BASES = ("indexed", "published")  # when it reached us vs. what the feed claims (samples may be old)
RATE_MINUTES = 15  # the ingest sparkline: articles indexed per minute over this many minutes
RATE_AVERAGE_MINUTES = 5  # "per minute" on the page: articles indexed in the last 5 minute buckets / 5
STORY_FIELDS = ["story_id", "cluster_id", "title", "titles", "url", "source", "sources", "source_count", "articles", "copies",
                "languages", "topics", "first_seen", "last_seen", "language"]
LANGUAGES_SHOWN = 30
HOSTS_SHOWN = 10
BODY_SOURCES = ("feed", "page", "teaser")
BACKING_OFF = frozenset({"http-429", "timeout", "http-500", "http-502", "http-503", "http-504", "backoff", "host-busy"})
REFUSING = frozenset({"robots", "http-401", "http-403", "http-451", "paywall", "redirect-private"})
NOT_THE_HOST = ["full-text-off"]  # our own choice (page fetching off), not something the host did


def interval_minutes(hours: int) -> int:
    """About 24 bars whatever the window: 6 h -> 15 min, 24 h -> 60 min."""
    return max(1, hours * 60 // 24)


def histogram(field: str, hours: int) -> dict:
    return {"date_histogram": {
        "field": field, "fixed_interval": f"{interval_minutes(hours)}m", "min_doc_count": 0,
        "extended_bounds": {"min": f"now-{hours}h", "max": "now"},
    }}


def articles_request(hours: int) -> dict:
    """One search for the chart (per topic, per basis), per-topic totals, the ingest rate and the arrivals
    of the window by language, body source and outlet whose pages stayed teasers."""
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
    by_host = {
        "terms": {"field": "source", "size": HOSTS_SHOWN},
        "aggs": {"reasons": {"terms": {"field": "body_reason", "size": 5}}},
    }
    arrivals = {
        "filter": {"range": {"indexed": {"gte": f"now-{hours}h"}}},
        "aggs": {
            "languages": {"terms": {"field": "language", "size": LANGUAGES_SHOWN, "missing": ""},
                          "aggs": {"bodies": {"terms": {"field": "body_source", "size": 5}}}},
            "bodies": {"terms": {"field": "body_source", "size": 5}},
            "hosts": {"filter": {"bool": {"filter": [{"exists": {"field": "body_reason"}}],
                                          "must_not": [{"terms": {"body_reason": NOT_THE_HOST}}]}},
                      "aggs": {"by_host": by_host}},
        },
    }
    return {
        "size": 0, "track_total_hits": True,
        "aggs": {**per_basis, "totals": {"terms": {"field": "topics", "size": 50}}, "rate": rate, "arrivals": arrivals},
    }


def stories_request(limit: int) -> dict:
    """Newest stories first: last seen, then first seen; a story merged into another is not shown twice."""
    return {
        "size": limit, "track_total_hits": True, "_source": STORY_FIELDS,
        "query": {"bool": {"must_not": [{"exists": {"field": "merged_into"}}]}},
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


def counts(buckets: list[dict]) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in buckets}


def shape_languages(arrivals: dict) -> list[dict]:
    """Articles per language in the window, most first, each split by body source ("" is not identified)."""
    return [{"language": b["key"], "articles": b["doc_count"],
             "bodies": {body: counts(b["bodies"]["buckets"]).get(body, 0) for body in BODY_SOURCES}}
            for b in arrivals["languages"]["buckets"]]


def host_state(reasons: dict[str, int]) -> str:
    """"backing off" when the host slowed us down, "refusing" when it would not give the page, else "failing"."""
    if BACKING_OFF & set(reasons):
        return "backing off"
    return "refusing" if REFUSING & set(reasons) else "failing"


def shape_hosts(arrivals: dict) -> list[dict]:
    """Outlets whose pages stayed teasers in the window, with why: the most affected first."""
    hosts = []
    for bucket in arrivals["hosts"]["by_host"]["buckets"]:
        reasons = counts(bucket["reasons"]["buckets"])
        hosts.append({"host": bucket["key"], "teasers": bucket["doc_count"], "state": host_state(reasons), "reasons": reasons})
    return hosts


def shape_articles(response: dict, topic_ids: list[str], hours: int) -> dict:
    """Totals, both charts, the ingest rate and the arrivals by language, body source and refusing host;
    a response without aggregations (no index yet) is all zeros."""
    aggs = response.get("aggregations") or empty_aggregations()
    totals = counts(aggs["totals"]["buckets"])
    arrivals = aggs["arrivals"]
    return {
        "window": {"hours": hours, "interval_minutes": interval_minutes(hours)},
        "articles": response["hits"]["total"]["value"],
        "topics": {topic: totals.get(topic, 0) for topic in sorted(set(topic_ids) | set(totals))},
        "charts": {basis: shape_chart(aggs, basis, topic_ids) for basis in BASES},
        "ingest": shape_ingest(aggs),
        "languages": shape_languages(arrivals),
        "bodies": {body: counts(arrivals["bodies"]["buckets"]).get(body, 0) for body in BODY_SOURCES},
        "hosts": shape_hosts(arrivals),
    }


def empty_aggregations() -> dict:
    return {
        **{basis: {"topics": {"buckets": []}} for basis in BASES},
        "totals": {"buckets": []}, "rate": {"minutes": {"buckets": []}},
        "arrivals": {"languages": {"buckets": []}, "bodies": {"buckets": []}, "hosts": {"by_host": {"buckets": []}}},
    }


def shape_story(source: dict) -> dict:
    """One event: its title (and the representative title in each other language), outlets, languages."""
    language = source.get("language", "")
    titles = source.get("titles") or {}
    return {
        "story_id": source.get("story_id") or source.get("cluster_id", ""),
        "title": source.get("title", ""),
        "language": language,
        "titles": [{"language": lang, "title": title} for lang, title in sorted(titles.items())
                   if isinstance(title, str) and title and lang != language],
        "url": safe_url(source.get("url", "")),
        "source": source.get("source", ""),
        "sources": list(source.get("sources", [])),
        "source_count": source.get("source_count", 1),
        "articles": source.get("articles", 1),
        "languages": list(source.get("languages") or ([language] if language else [])),
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
