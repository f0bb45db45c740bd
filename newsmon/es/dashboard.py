"""Read the Kibana saved objects newsmon ships and say what each panel asks Elasticsearch.

Kibana cannot run everywhere newsmon is tested, so the dashboard is checked through this
translation instead: which fields every panel, control and saved search reads (checked
against the index templates, with the types their aggregations accept) and the equivalent
Elasticsearch request (run against a real server by the tests and `newsmon kibana check`).
The Markdown description in docs/elasticsearch.md is rendered from the same objects.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from newsmon.es import ElasticsearchError
from newsmon.es.templates import load_template
from newsmon.schemas import schema_path

DEFAULT_OBJECTS = schema_path("kibana/newsmon.ndjson")
ARTICLES_VIEW, STORIES_VIEW = "newsmon-articles", "newsmon-stories"
VIEW_MAPPINGS = {  # data view id -> the component template holding its mapping
    ARTICLES_VIEW: "news-articles-mappings.component.json",
    STORIES_VIEW: "news-stories-mappings.component.json",
}
AUTO_INTERVAL = "3h"  # what Kibana's "auto" picks for the dashboard's 7-day range (about 50 bars)
NUMERIC = {"integer", "long", "short", "byte", "float", "double", "half_float", "scaled_float"}
AGGREGATABLE = {"keyword", "boolean", "date", "ip"} | NUMERIC
ACCEPTS = {  # which mapping types each way of reading a field works with
    "terms": AGGREGATABLE,
    "options_list": {"keyword", "boolean", "ip"},
    "date_histogram": {"date"},
    "time_field": {"date"},
    "unique_count": AGGREGATABLE,
    "max": NUMERIC | {"date"},
    "min": NUMERIC | {"date"},
    "sum": NUMERIC,
    "average": NUMERIC,
    "sort": AGGREGATABLE,
    "filter": AGGREGATABLE | {"text"},
    "column": AGGREGATABLE | {"text"},
}
METRICS = {"max": "max", "min": "min", "sum": "sum", "average": "avg", "unique_count": "cardinality"}
KQL_CLAUSE = re.compile(r'^\s*([\w.]+)\s*(:|>=|<=|>|<)\s*("[^"]*"|[^\s"]+)\s*$')
RANGE_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}


class DashboardError(ElasticsearchError):
    """The saved objects are malformed or use something this translation does not know."""


@dataclass(frozen=True)
class Use:
    """One field read one way (e.g. `topics` as `terms`) through one data view."""

    data_view: str
    field: str
    how: str


@dataclass(frozen=True)
class Request:
    """An Elasticsearch search body equivalent to what a panel asks, on one data view."""

    data_view: str
    body: dict
    summary: str


@dataclass
class Panel:
    title: str
    kind: str
    uses: list[Use] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    grid: tuple[int, int, int, int] | None = None  # x, y, w, h on Kibana's 48-column grid


@dataclass(frozen=True)
class DataView:
    id: str
    title: str
    time_field: str


@dataclass
class Dashboard:
    title: str
    time_from: str
    time_to: str
    data_views: dict[str, DataView]
    panels: list[Panel]
    controls: list[Panel]


def retarget(objects: list[dict], titles: dict[str, str]) -> list[dict]:
    """Copies of the objects with data view titles (index patterns) replaced, by data view id."""
    out = []
    for obj in objects:
        if obj["type"] == "index-pattern" and obj["id"] in titles:
            obj = {**obj, "attributes": {**obj["attributes"], "title": titles[obj["id"]]}}
        out.append(obj)
    return out


def load_objects(path: Path = DEFAULT_OBJECTS) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise DashboardError(f"cannot read saved objects {path}: {exc}") from exc


def kql(text: str) -> dict:
    """The small KQL subset the shipped objects use: `f : v` and `f >= n`, joined by `and`."""
    if not text.strip():
        return {"match_all": {}}
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = KQL_CLAUSE.match(part)
        if not match:
            raise DashboardError(f"unsupported KQL clause {part!r} (use `field : value` or `field >= n`)")
        name, op, raw = match.groups()
        value = json.loads(raw) if raw.startswith('"') or raw in ("true", "false") or raw.replace(".", "", 1).isdigit() else raw
        clauses.append({"match": {name: value}} if op == ":" else {"range": {name: {RANGE_OPS[op]: value}}})
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def kql_fields(text: str) -> list[str]:
    return [KQL_CLAUSE.match(p).group(1) for p in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE) if text.strip()]


def references(obj: dict) -> dict[str, str]:
    return {ref["name"]: ref["id"] for ref in obj.get("references", [])}


def lens_layer(layer_id: str, layer: dict, data_view: str) -> tuple[list[Use], Request | None]:
    """A formBased layer as nested aggregations: bucket columns in order, metrics innermost."""
    columns = layer["columns"]
    uses, buckets, metrics, labels = [], [], {}, []
    for column_id in layer["columnOrder"]:
        column = columns[column_id]
        op, source = column["operationType"], column.get("sourceField")
        if op == "static_value":
            continue
        if source and source != "___records___":
            uses.append(Use(data_view, source, op))
        filter_query = (column.get("filter") or {}).get("query", "")
        uses += [Use(data_view, name, "filter") for name in kql_fields(filter_query)]
        if column["isBucketed"]:
            buckets.append((column_id, column))
            interval = column.get("params", {}).get("interval")
            labels.append(f"{op}({source}, {interval})" if interval else f"{op}({source})")
        else:
            metric = {METRICS[op]: {"field": source}} if op in METRICS else None
            if filter_query:
                metric = {"filter": kql(filter_query), **({"aggs": {"value": metric}} if metric else {})}
            if metric:
                metrics[column_id] = metric
            labels.append(f"{op}({source})" if op != "count" else "count" + (f" where {filter_query}" if filter_query else ""))
    if not buckets and not metrics:
        return uses, None
    aggs: dict = dict(metrics)
    for column_id, column in reversed(buckets):
        aggs = {column_id: {**bucket_agg(column, columns), **({"aggs": aggs} if aggs else {})}}
    return uses, Request(data_view, {"size": 0, "aggs": aggs}, " x ".join(labels))


def bucket_agg(column: dict, columns: dict) -> dict:
    params = column.get("params", {})
    if column["operationType"] == "date_histogram":
        interval = params.get("interval", "auto")
        return {"date_histogram": {"field": column["sourceField"], "fixed_interval": AUTO_INTERVAL if interval == "auto" else interval,
                                   "min_doc_count": 0 if params.get("includeEmptyRows") else 1}}
    if column["operationType"] == "terms":
        order_by = params.get("orderBy", {})
        key = order_by.get("columnId")
        order = "_count" if order_by.get("type") != "column" or columns[key]["operationType"] == "count" else key
        return {"terms": {"field": column["sourceField"], "size": params.get("size", 10),
                          "order": {order: params.get("orderDirection", "desc")}}}
    raise DashboardError(f"unsupported bucket operation {column['operationType']!r}")


def lens_panel(obj: dict) -> Panel:
    refs = references(obj)
    state = obj["attributes"]["state"]
    kind = state["visualization"].get("preferredSeriesType", obj["attributes"]["visualizationType"])
    panel = Panel(obj["attributes"]["title"], f"Lens {kind.replace('_', ' ')}")
    for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
        uses, request = lens_layer(layer_id, layer, refs[f"indexpattern-datasource-layer-{layer_id}"])
        panel.uses += uses
        if request:
            panel.requests.append(request)
    for layer in state["visualization"].get("layers", []):
        if layer.get("layerType") == "annotations":
            data_view = refs[f"xy-visualization-layer-{layer['layerId']}"]
            for note in layer["annotations"]:
                query = note["filter"]["query"]
                panel.uses += [Use(data_view, note["timeField"], "time_field")]
                panel.uses += [Use(data_view, name, "filter") for name in kql_fields(query)]
                panel.uses += [Use(data_view, name, "column") for name in note.get("extraFields", [])]
                body = {"size": 100, "query": kql(query), "sort": [{note["timeField"]: "desc"}],
                        "_source": [note["timeField"], *note.get("extraFields", [])]}
                panel.requests.append(Request(data_view, body, f"markers at {note['timeField']} where {query}"))
    return panel


def search_panel(obj: dict) -> Panel:
    attributes = obj["attributes"]
    source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
    data_view = references(obj)[source["indexRefName"]]
    query = source.get("query", {}).get("query", "")
    sort = [{name: direction} for name, direction in attributes.get("sort", [])]
    panel = Panel(attributes["title"], "saved search")
    panel.uses += [Use(data_view, name, "column") for name in attributes["columns"]]
    panel.uses += [Use(data_view, name, "sort") for entry in sort for name in entry]
    panel.uses += [Use(data_view, name, "filter") for name in kql_fields(query)]
    body = {"size": 50, "query": kql(query), "sort": sort, "_source": attributes["columns"]}
    summary = f"columns {', '.join(attributes['columns'])}; sort " + ", ".join(f"{n} {d}" for e in sort for n, d in e.items())
    panel.requests.append(Request(data_view, body, summary + (f"; where {query}" if query else "")))
    return panel


def control_panels(dashboard: dict) -> list[Panel]:
    refs = references(dashboard)
    controls = json.loads(dashboard["attributes"]["controlGroupInput"]["panelsJSON"])
    panels = []
    for control_id, control in sorted(controls.items(), key=lambda item: item[1]["order"]):
        if control["type"] != "optionsListControl":
            raise DashboardError(f"unsupported control type {control['type']!r}")
        name = control["explicitInput"]["fieldName"]
        data_view = refs[f"controlGroup_{control_id}:optionsListDataView"]
        body = {"size": 0, "aggs": {"options": {"terms": {"field": name, "size": 10}}}}
        panels.append(Panel(control["explicitInput"].get("title", name), "options list",
                            [Use(data_view, name, "options_list")], [Request(data_view, body, f"terms({name})")]))
    return panels


def read_dashboard(objects: list[dict], dashboard_id: str = "newsmon-news-monitor") -> Dashboard:
    by_id = {(obj["type"], obj["id"]): obj for obj in objects}
    views = {
        obj["id"]: DataView(obj["id"], obj["attributes"]["title"], obj["attributes"].get("timeFieldName", ""))
        for obj in objects if obj["type"] == "index-pattern"
    }
    try:
        board = by_id[("dashboard", dashboard_id)]
        refs = references(board)
        panels = []
        for entry in json.loads(board["attributes"]["panelsJSON"]):
            target = by_id[(entry["type"], refs[f"{entry['panelIndex']}:{entry['panelRefName']}"])]
            panel = lens_panel(target) if entry["type"] == "lens" else search_panel(target)
            grid = entry["gridData"]
            panel.grid = (grid["x"], grid["y"], grid["w"], grid["h"])
            panels.append(panel)
    except KeyError as exc:
        raise DashboardError(f"dangling reference or missing object: {exc}") from exc
    attributes = board["attributes"]
    return Dashboard(attributes["title"], attributes.get("timeFrom", "now-15m"), attributes.get("timeTo", "now"),
                     views, panels, control_panels(board))


def mapping_types(properties: dict, prefix: str = "") -> dict[str, str]:
    """Flatten a mapping to `{"title": "text", "title.ru": "text", ...}` (sub-fields included)."""
    types = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            types.update(mapping_types(spec["properties"], f"{path}."))
            continue
        types[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            types[f"{path}.{sub}"] = sub_spec["type"]
    return types


def template_types() -> dict[str, dict[str, str]]:
    """Field types per shipped data view, straight from the index templates."""
    return {view: mapping_types(load_template(file)["template"]["mappings"]["properties"]) for view, file in VIEW_MAPPINGS.items()}


def field_problems(board: Dashboard, types_by_view: dict[str, dict[str, str]]) -> list[str]:
    """Every field read that is missing from its index template, or has a type its use rejects."""
    problems = []
    for panel in board.panels + board.controls:
        for use in panel.uses:
            kind = types_by_view[use.data_view].get(use.field)
            if kind is None:
                problems.append(f"{panel.title}: {use.field} is not in the {use.data_view} mapping")
            elif kind not in ACCEPTS[use.how]:
                problems.append(f"{panel.title}: {use.field} is {kind}, {use.how} needs one of {sorted(ACCEPTS[use.how])}")
    for view in board.data_views.values():
        if view.time_field and types_by_view[view.id].get(view.time_field) != "date":
            problems.append(f"data view {view.title}: time field {view.time_field} is not a date")
    return problems


def with_time_range(request: Request, board: Dashboard) -> dict:
    """The request as Kibana sends it: restricted to the dashboard's time range."""
    view = board.data_views[request.data_view]
    span = {"range": {view.time_field: {"gte": board.time_from, "lte": board.time_to}}}
    return {**request.body, "query": {"bool": {"must": [request.body.get("query", {"match_all": {}})], "filter": [span]}}}


def has_data(response: dict) -> bool:
    """A search returned hits, or its top aggregation has a non-empty bucket."""
    aggregations = response.get("aggregations")
    if not aggregations:
        return response["hits"]["total"]["value"] > 0
    top = next(iter(aggregations.values()))
    if "buckets" in top:
        return any(bucket["doc_count"] > 0 for bucket in top["buckets"])
    return top.get("doc_count", top.get("value") or 0) > 0


def layout(panels: list[Panel], numbers: list[int]) -> str:
    """The 48-column grid as text, one character per column and one line per two rows."""
    height = max(y + h for _, y, _, h in (p.grid for p in panels))
    rows = [[" "] * 48 for _ in range((height + 1) // 2)]
    for number, panel in zip(numbers, panels):
        x, y, w, h = panel.grid
        for row in range(y // 2, (y + h) // 2):
            for col in range(x, x + w):
                edge = col in (x, x + w - 1) or row in (y // 2, (y + h) // 2 - 1)
                rows[row][col] = "#" if edge else str(number)
    return "\n".join("".join(row).rstrip() for row in rows)


def describe(board: Dashboard) -> str:
    """Markdown: layout, panels with what they read, and the filter controls."""
    numbers = list(range(1, len(board.panels) + 1))
    lines = [
        f'### Dashboard "{board.title}"',
        "",
        f"Time range `{board.time_from}` to `{board.time_to}`. Data views: "
        + ", ".join(f"`{v.title}` (time field `{v.time_field}`)" for v in board.data_views.values()) + ".",
        "",
        "Filter controls (options lists): "
        + ", ".join(f"{c.title} (`{c.uses[0].field}`)" for c in board.controls) + ".",
        "",
        "```text",
        layout(board.panels, numbers),
        "```",
        "",
        "| # | Panel | Kind | Reads |",
        "|---|-------|------|-------|",
    ]
    for number, panel in zip(numbers, board.panels):
        reads = "; ".join(f"`{board.data_views[r.data_view].title}`: {r.summary}" for r in panel.requests)
        lines.append(f"| {number} | {panel.title} | {panel.kind} | {reads} |")
    return "\n".join(lines) + "\n"
