"""`newsmon kibana import` against a tiny real HTTP server on loopback that records requests."""
from __future__ import annotations

import argparse
import base64
import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from newsmon.cli import kibana
from newsmon.embedded import free_port
from newsmon.settings import Settings
from tests.loopback import serve


@contextmanager
def fake_kibana(status: int = 200, answer: dict | None = None) -> Iterator[tuple[str, list[dict]]]:
    recorded: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorded.append({"path": self.path, "headers": dict(self.headers), "body": body})
            payload = json.dumps(answer or {"success": True, "successCount": 8}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield url, recorded


def run(*argv: str, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser()
    kibana.register(parser.add_subparsers())
    args = parser.parse_args(["kibana", *argv])
    return args.func(args, settings or Settings(index_alias="prod-articles", stories_index="prod-stories"))


def uploaded_objects(body: bytes) -> list[dict]:
    start = body.index(b"\r\n\r\n") + 4
    end = body.rindex(b"\r\n--")
    return [json.loads(line) for line in body[start:end].splitlines()]


def test_import_posts_the_objects_with_overwrite_xsrf_and_basic_auth() -> None:
    with fake_kibana() as (url, recorded):
        assert run("import", "--url", url, "--user", "elastic", "--password", "s3cret", "--space", "news") == 0
        assert run("import", "--url", url, "--user", "elastic", "--password", "s3cret", "--space", "news") == 0
    first, second = recorded
    assert first["path"] == "/s/news/api/saved_objects/_import?overwrite=true"
    assert first["headers"]["kbn-xsrf"]
    assert first["headers"]["Authorization"] == "Basic " + base64.b64encode(b"elastic:s3cret").decode()
    assert 'filename="newsmon.ndjson"' in first["body"].decode()
    objects = uploaded_objects(first["body"])
    titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == {"newsmon-articles": "prod-articles", "newsmon-stories": "prod-stories"}
    assert any(o["type"] == "dashboard" and o["attributes"]["title"] == "News monitor" for o in objects)
    assert uploaded_objects(second["body"]) == objects  # same ids every time: overwrite makes it idempotent


def test_api_key_is_sent_as_apikey_authorization_in_the_default_space() -> None:
    with fake_kibana() as (url, recorded):
        assert run("import", "--url", url, "--api-key", "abc==") == 0
    assert recorded[0]["path"] == "/api/saved_objects/_import?overwrite=true"
    assert recorded[0]["headers"]["Authorization"] == "ApiKey abc=="


def test_rejected_objects_fail_with_their_errors(capsys) -> None:
    answer = {"success": False, "successCount": 7, "errors": [{"type": "lens", "id": "x", "error": {"type": "missing_references"}}]}
    with fake_kibana(answer=answer) as (url, _):
        assert run("import", "--url", url) == 1
    assert "lens/x: missing_references" in capsys.readouterr().err


def test_http_errors_and_unreachable_kibana_are_clear(capsys) -> None:
    with fake_kibana(status=401, answer={"message": "unauthorized"}) as (url, _):
        assert run("import", "--url", url) == 1
    assert "HTTP 401" in capsys.readouterr().err
    assert run("import", "--url", f"http://127.0.0.1:{free_port()}") == 1
    assert "Kibana unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(("space", "path"), [("", "/api"), ("default", "/api"), ("ops", "/s/ops/api")])
def test_import_url_per_space(space: str, path: str) -> None:
    assert kibana.import_url("http://k:5601/", space) == f"http://k:5601{path}/saved_objects/_import"
