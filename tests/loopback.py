"""A real HTTP server on a free loopback port for as long as a `with` block runs.

Tests that need a feed server, a webhook receiver or a stand-in Kibana answer with their own
request handler; the server's start, address and clean shutdown live here once.
"""
from __future__ import annotations

import http.server
import threading
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
