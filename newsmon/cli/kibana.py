"""`newsmon kibana`: install, describe and check the shipped Kibana dashboard.

`import` (re)installs schemas/kibana/newsmon.ndjson through Kibana's saved-objects API with
overwrite, so running it again is harmless; the data views are pointed at the configured
alias and stories index first. `describe` prints the Markdown description used in the
docs and `check` runs every panel's equivalent query against Elasticsearch, which tells
an operator whether an empty panel is a Kibana problem or simply no data.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx
from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError

from newsmon.es import ElasticsearchError
from newsmon.es.client import make_client
from newsmon.es.dashboard import (
    ARTICLES_VIEW,
    DEFAULT_OBJECTS,
    STORIES_VIEW,
    DashboardError,
    describe,
    field_problems,
    has_data,
    load_objects,
    read_dashboard,
    retarget,
    template_types,
    with_time_range,
)
from newsmon.settings import Settings

TIMEOUT_SECONDS = 30.0


class KibanaImportError(ElasticsearchError):
    """Kibana was unreachable, refused the request, or rejected some objects."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kibana", help="install, describe or check the Kibana dashboard")
    actions = parser.add_subparsers(dest="kibana_action", metavar="ACTION", required=True)
    importer = actions.add_parser("import", help="(re)install the saved objects through Kibana's HTTP API")
    importer.add_argument("--url", help="Kibana base URL (default: settings kibana_url)")
    importer.add_argument("--user", help="Kibana user (basic auth)")
    importer.add_argument("--password", help="password for --user")
    importer.add_argument("--api-key", help="Kibana/Elasticsearch API key (instead of --user)")
    importer.add_argument("--space", default="", help="Kibana space id (default: the default space)")
    actions.add_parser("describe", help="print the dashboard as Markdown")
    actions.add_parser("check", help="run each panel's query against Elasticsearch and report empty ones")
    for action in actions.choices.values():
        action.add_argument("--file", type=Path, default=DEFAULT_OBJECTS, help="saved objects NDJSON")
    parser.set_defaults(func=run)


def ndjson_for(settings: Settings, path: Path) -> list[dict]:
    titles = {ARTICLES_VIEW: settings.index_alias, STORIES_VIEW: settings.stories_index}
    return retarget(load_objects(path), titles)


def import_url(base: str, space: str) -> str:
    prefix = f"/s/{space}" if space and space != "default" else ""
    return f"{base.rstrip('/')}{prefix}/api/saved_objects/_import"


def auth_for(args: argparse.Namespace, settings: Settings) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Headers and basic-auth pair: flags first, then settings; an API key wins over a user."""
    api_key = args.api_key or (settings.kibana_api_key.get_secret_value() if settings.kibana_api_key else None)
    if api_key:
        return {"Authorization": f"ApiKey {api_key}"}, None
    user = args.user or settings.kibana_username
    if user:
        password = args.password or (settings.kibana_password.get_secret_value() if settings.kibana_password else "")
        return {}, (user, password)
    return {}, None


def import_objects(url: str, objects: list[dict], headers: dict[str, str], auth: tuple[str, str] | None) -> int:
    """POST the objects with overwrite=true; returns how many Kibana imported."""
    body = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects).encode()
    try:
        response = httpx.post(
            url, params={"overwrite": "true"}, headers={"kbn-xsrf": "newsmon", **headers}, auth=auth,
            files={"file": ("newsmon.ndjson", body, "application/ndjson")}, timeout=TIMEOUT_SECONDS,
        )
    except httpx.TransportError as exc:
        raise KibanaImportError(f"Kibana unreachable at {url}: {exc}") from exc
    if response.status_code >= 400:
        raise KibanaImportError(f"Kibana answered HTTP {response.status_code}: {response.text[:500]}")
    result = response.json()
    if not result.get("success"):
        failed = [f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type')}" for e in result.get("errors", [])]
        raise KibanaImportError("Kibana rejected objects: " + "; ".join(failed))
    return int(result.get("successCount", 0))


def check(settings: Settings, objects: list[dict]) -> int:
    board = read_dashboard(objects)
    problems = field_problems(board, template_types())
    for problem in problems:
        print(f"FIELD  {problem}")
    client = make_client(settings)
    for panel in board.panels + board.controls:
        for request in panel.requests:
            index = board.data_views[request.data_view].title
            response = client.search(index=index, **with_time_range(request, board))
            print(f"{'DATA ' if has_data(response) else 'EMPTY'}  {panel.title}: {request.summary}")
    return 1 if problems else 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        objects = ndjson_for(settings, args.file)
        if args.kibana_action == "describe":
            print(describe(read_dashboard(objects)), end="")
            return 0
        if args.kibana_action == "check":
            return check(settings, objects)
        url = import_url(args.url or settings.kibana_url, args.space)
        headers, auth = auth_for(args, settings)
        count = import_objects(url, objects, headers, auth)
        print(f"imported {count} saved objects into {url.removesuffix('/api/saved_objects/_import')}", file=sys.stderr)
        return 0
    except (KibanaImportError, DashboardError) as exc:
        print(f"newsmon kibana {args.kibana_action}: {exc}", file=sys.stderr)
        return 1
    except (ConnectionError, ConnectionTimeout, ApiError) as exc:
        print(f"newsmon kibana check: Elasticsearch query failed: {exc}", file=sys.stderr)
        return 2
