"""Reading the shipped saved objects: references resolve, KQL subset, fields and rendering."""
from __future__ import annotations

import json

import pytest

from newsmon.es.dashboard import DashboardError, kql, load_objects, read_dashboard

OBJECTS = load_objects()


def test_every_reference_points_at_a_shipped_object() -> None:
    present = {(o["type"], o["id"]) for o in OBJECTS}
    for obj in OBJECTS:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in present, (obj["id"], ref)
    for obj in OBJECTS:
        if obj["type"] == "lens":
            for ref in obj["attributes"]["state"].get("references", []):
                assert (ref["type"], ref["id"]) in present


def test_the_dashboard_has_the_required_panels_and_controls() -> None:
    board = read_dashboard(OBJECTS)
    assert board.title == "News monitor"
    assert {p.title for p in board.panels} >= {
        "Articles over time by topic", "Top sources", "Latest articles", "Events: outlets and languages", "Breaking volume",
        "Articles per language and body source", "Hosts backing off or refusing"}
    assert [c.uses[0].field for c in board.controls] == ["topics", "source", "language", "body_source"]
    assert {v.time_field for v in board.data_views.values()} == {"published", "last_seen"}


def test_stringified_attributes_are_valid_json() -> None:
    for obj in OBJECTS:
        attributes = obj["attributes"]
        for key in ("panelsJSON", "optionsJSON", "fieldFormatMap", "fields", "runtimeFieldMap"):
            if key in attributes:
                json.loads(attributes[key])
        if "kibanaSavedObjectMeta" in attributes:
            json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])


def test_kql_subset() -> None:
    assert kql("") == {"match_all": {}}
    assert kql("is_duplicate : false") == {"match": {"is_duplicate": False}}
    assert kql('source_count >= 3 and language : "ru"') == {
        "bool": {"filter": [{"range": {"source_count": {"gte": 3}}}, {"match": {"language": "ru"}}]}}
    with pytest.raises(DashboardError):
        kql("title:(a or b)")


def panel(title: str):
    return next(p for p in read_dashboard(OBJECTS).panels if p.title == title)


def test_languages_and_body_sources_are_counted_together() -> None:
    (request,) = panel("Articles per language and body source").requests
    language = request.body["aggs"]["language"]
    assert language["terms"]["field"] == "language"
    assert language["aggs"]["body"]["terms"]["field"] == "body_source"


def test_refusing_hosts_are_read_from_the_teaser_reason_per_outlet() -> None:
    (request,) = panel("Hosts backing off or refusing").requests
    reason = request.body["aggs"]["reason"]
    assert reason["terms"]["field"] == "body_reason"  # only articles that have a reason form buckets
    assert reason["aggs"]["source"]["terms"]["field"] == "source"


def test_events_show_their_outlets_and_languages() -> None:
    events = panel("Events: outlets and languages")
    (request,) = events.requests
    assert {"title", "sources", "source_count", "languages", "articles", "first_seen", "last_seen"} <= set(request.body["_source"])
    assert request.body["sort"][0] == {"source_count": "desc"}
    assert {use.data_view for use in events.uses} == {"newsmon-stories"}
