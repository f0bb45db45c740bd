"""A real loopback HTTP server whose routes each test scripts, plus collector settings.

The fetcher is exercised against actual sockets (timeouts, chunked bodies, gzip,
redirects) rather than a mocked transport: those behaviours live in the network layer.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsmon.settings import Settings

FEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"

Route = Callable[[BaseHTTPRequestHandler], None]


class FeedServer:
    """Routes path -> handler; records each request's headers per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                path = self.path.split("?", 1)[0]
                server.requests[path].append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(path)
                if route is None:
                    send(self, 404, b"not found")
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients hanging up mid-response (timeouts, caps) is what these tests provoke

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        return len(self.requests[path])


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    headers = {"Content-Type": "application/rss+xml; charset=utf-8", **(headers or {})}
    for key, value in headers.items():
        handler.send_header(key, value)
    if "Transfer-Encoding" not in headers:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def static(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return lambda handler: send(handler, status, body, headers)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        fetch_timeout_seconds=2.0,
        fetch_concurrency=4,
        max_feed_bytes=256 * 1024,
        max_redirects=3,
        poll_interval_seconds=0.2,
        kafka_bootstrap_servers=None,
    )


def fixture_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def rss(*items: tuple[str, str], title: str = "Loopback News") -> bytes:
    """A minimal RSS 2.0 feed; items are (slug, title)."""
    body = "".join(
        f"<item><title>{t}</title><link>https://loop.example.com/news/{s}</link>"
        f"<description>Body of {t}.</description><pubDate>Sat, 08 Nov 2025 10:00:00 GMT</pubDate></item>"
        for s, t in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()
