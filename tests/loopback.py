"""A real HTTP server on a free loopback port for as long as a `with` block runs.

Tests that need a feed server, a webhook receiver or a stand-in Kibana answer with their own
request handler; the server's start, address and clean shutdown live here once.
"""
from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def serve(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` (a request handler class, or a partial of one) and yield the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Trickle(http.server.BaseHTTPRequestHandler):
    """Answers a POST with 200 and a 30-byte body sent one byte a second: a read timeout alone never fires."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "30")
        self.end_headers()
        for _ in range(30):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1.0)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass
