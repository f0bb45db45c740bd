"""Helpers for integration tests: serve fixture files over loopback HTTP, run the CLI, poll."""
from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A real HTTP server on a free loopback port serving `directory`; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process environment without any newsmon/Kafka/Elasticsearch settings, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "KAFKA_", "ELASTICSEARCH_", "KIBANA_"))}
    env.update(overrides)
    return env


def newsmon(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsmon.cli", *args], env=env, **kwargs)


def wait_for(probe: Callable[[], T | None], timeout: float, interval: float = 0.5, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
