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
        "arrivals": {
            "languages": {"buckets": [
                {"key": "ar", "doc_count": 4, "bodies": {"buckets": [{"key": "page", "doc_count": 3}, {"key": "teaser", "doc_count": 1}]}},
                {"key": "", "doc_count": 1, "bodies": {"buckets": [{"key": "feed", "doc_count": 1}]}},
            ]},
            "bodies": {"buckets": [{"key": "page", "doc_count": 3}, {"key": "teaser", "doc_count": 1}, {"key": "feed", "doc_count": 1}]},
            "hosts": {"by_host": {"buckets": [
                {"key": "slow.example", "doc_count": 3, "reasons": {"buckets": [{"key": "http-429", "doc_count": 2}, {"key": "paywall", "doc_count": 1}]}},
                {"key": "closed.example", "doc_count": 1, "reasons": {"buckets": [{"key": "robots", "doc_count": 1}]}},
                {"key": "odd.example", "doc_count": 1, "reasons": {"buckets": [{"key": "extraction-empty", "doc_count": 1}]}},
            ]}},
        },
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
        "story_id": "c", "title": "<img src=x onerror=alert(1)>", "url": "javascript:alert(1)", "articles": 3,
        "sources": ["A", "B"], "source_count": 2}}]}})["items"][0]
    assert story["url"] == "" and story["title"] == "<img src=x onerror=alert(1)>", "text stays text; the page escapes it"
    assert (story["articles"], story["sources"], story["source_count"]) == (3, ["A", "B"], 2)
    alert = shape_alert(Alert(kind="story", topic="t", url="vbscript:x", title="T"))
    assert alert["url"] == "" and alert["title"] == "T"


def test_arrivals_per_language_and_body_source():
    shaped = shape_articles(RESPONSE, [], 6)
    assert shaped["languages"] == [
        {"language": "ar", "articles": 4, "bodies": {"feed": 0, "page": 3, "teaser": 1}},
        {"language": "", "articles": 1, "bodies": {"feed": 1, "page": 0, "teaser": 0}},  # not identified
    ]
    assert shaped["bodies"] == {"feed": 1, "page": 3, "teaser": 1}
    assert shape_articles({"hits": {"total": {"value": 0}}}, [], 6)["hosts"] == []


def test_hosts_are_backing_off_or_refusing_by_their_reasons():
    hosts = shape_articles(RESPONSE, [], 6)["hosts"]
    assert [(h["host"], h["state"], h["teasers"]) for h in hosts] == [
        ("slow.example", "backing off", 3), ("closed.example", "refusing", 1), ("odd.example", "failing", 1)]
    assert hosts[0]["reasons"] == {"http-429": 2, "paywall": 1}
    arrivals = articles_request(6)["aggs"]["arrivals"]
    assert arrivals["filter"] == {"range": {"indexed": {"gte": "now-6h"}}}
    assert arrivals["aggs"]["hosts"]["filter"] == {"bool": {
        "filter": [{"exists": {"field": "body_reason"}}], "must_not": [{"terms": {"body_reason": ["full-text-off"]}}]}}


def test_a_story_is_an_event_with_its_outlets_languages_and_titles():
    story = shape_stories({"hits": {"total": {"value": 1}, "hits": [{"_source": {
        "story_id": "s1", "title": "Bushehr gets fuel", "language": "en", "url": "https://e/1", "source": "a.example",
        "sources": ["a.example", "b.example"], "source_count": 2, "articles": 5, "languages": ["en", "fa"],
        "titles": {"en": "Bushehr gets fuel", "fa": "سوخت بوشهر", "ar": "وقود بوشهر"}}}]}})["items"][0]
    assert (story["story_id"], story["articles"], story["languages"]) == ("s1", 5, ["en", "fa"])
    assert story["titles"] == [{"language": "ar", "title": "وقود بوشهر"}, {"language": "fa", "title": "سوخت بوشهر"}]
    assert stories_request(5)["query"] == {"bool": {"must_not": [{"exists": {"field": "merged_into"}}]}}
