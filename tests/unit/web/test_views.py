"""The live page's JSON, shaped from Elasticsearch responses as the server returns them."""
from __future__ import annotations

from newsmon.schemas.article import Alert

from newsmon.web.views import (
    articles_request,
    interval_minutes,
    safe_url,
    shape_alert,
    shape_articles,
    shape_stories,
    stories_request,
)


def buckets(*counts: int, start: int = 0) -> list[dict]:
    return [{"key_as_string": f"2026-01-01T0{start + i}:00:00.000Z", "doc_count": c} for i, c in enumerate(counts)]


RESPONSE = {
    "hits": {"total": {"value": 7}},
    "aggregations": {
        "indexed": {"topics": {"buckets": [
            {"key": "bushehr", "time": {"buckets": buckets(0, 2, 3)}},
            {"key": "snapback", "time": {"buckets": buckets(1, 1)}},
        ]}},
        "published": {"topics": {"buckets": []}},
        "totals": {"buckets": [{"key": "bushehr", "doc_count": 9}, {"key": "snapback", "doc_count": 2}]},
        "rate": {"minutes": {"buckets": [{"doc_count": c} for c in (0, 0, 4, 6, 2, 8, 5)]}},
    },
}


def test_chart_aligns_every_topic_on_the_same_buckets():
    shaped = shape_articles(RESPONSE, ["bushehr", "snapback", "north-south-corridor"], 6)
    chart = shaped["charts"]["indexed"]
    assert chart["buckets"] == [b["key_as_string"] for b in buckets(0, 0, 0)]
    assert chart["series"] == {"bushehr": [0, 2, 3], "snapback": [1, 1, 0], "north-south-corridor": [0, 0, 0]}
    assert shaped["charts"]["published"] == {"buckets": [], "series": {"bushehr": [], "snapback": [], "north-south-corridor": []}}
    assert shaped["topics"] == {"bushehr": 9, "north-south-corridor": 0, "snapback": 2}
    assert shaped["articles"] == 7 and shaped["window"] == {"hours": 6, "interval_minutes": 15}


def test_ingest_rate_is_per_minute_over_the_last_five_buckets():
    ingest = shape_articles(RESPONSE, [], 6)["ingest"]
    assert ingest["minutes"] == [0, 0, 4, 6, 2, 8, 5]
    assert ingest["per_minute"] == 5.0  # (4+6+2+8+5)/5


def test_no_index_yet_is_all_zeros():
    shaped = shape_articles({"hits": {"total": {"value": 0}}}, ["bushehr"], 24)
    assert shaped["topics"] == {"bushehr": 0} and shaped["ingest"] == {"per_minute": 0.0, "minutes": []}
    assert shape_stories(None) == {"total": 0, "items": []}
    assert interval_minutes(24) == 60


def test_requests_cover_both_time_bases_and_newest_stories():
    request = articles_request(6)
    assert request["aggs"]["indexed"]["filter"] == {"range": {"indexed": {"gte": "now-6h"}}}
    assert request["aggs"]["published"]["aggs"]["topics"]["aggs"]["time"]["date_histogram"]["field"] == "published"
    assert stories_request(5)["sort"][0] == {"last_seen": {"order": "desc", "unmapped_type": "date"}}


def test_only_http_links_reach_the_page():
    assert safe_url("https://a.example/x") == "https://a.example/x"
    assert safe_url("javascript:alert(1)") == safe_url("data:text/html,x") == safe_url("/relative") == ""
    story = shape_stories({"hits": {"total": {"value": 1}, "hits": [{"_source": {
        "cluster_id": "c", "title": "<img src=x onerror=alert(1)>", "url": "javascript:alert(1)", "copies": 3,
        "sources": ["A", "B"], "source_count": 2}}]}})["items"][0]
    assert story["url"] == "" and story["title"] == "<img src=x onerror=alert(1)>", "text stays text; the page escapes it"
    assert (story["copies"], story["sources"], story["source_count"]) == (3, ["A", "B"], 2)
    alert = shape_alert(Alert(kind="story", topic="t", url="vbscript:x", title="T"))
    assert alert["url"] == "" and alert["title"] == "T"
