"""Helpers for integration tests: serve fixture files over loopback HTTP, run the CLI, poll."""
from __future__ import annotations

import functools
import http.server
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.loopback import serve

T = TypeVar("T")


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A real HTTP server on a free loopback port serving `directory`; yields its base URL."""
    with serve(functools.partial(_QuietHandler, directory=str(directory))) as url:
        yield url


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


@dataclass
class RunningStack:
    """A `newsmon up` child process and how to reach what it started."""

    process: subprocess.Popen
    kafka: str
    elasticsearch: str
    web: str
    client_env: dict[str, str]  # environment for other newsmon commands aimed at this stack


@contextmanager
def running_up(data_dir: Path, *args: str, **env_overrides: str) -> Iterator[RunningStack]:
    """`newsmon up` on free loopback ports; SIGTERM on exit, which must stop it cleanly."""
    from newsmon.embedded import free_port

    kafka_port, es_port, web_port = free_port(), free_port(), free_port()
    env = clean_env(
        NEWSMON_EMBEDDED_KAFKA_PORT=str(kafka_port),
        NEWSMON_EMBEDDED_ELASTICSEARCH_PORT=str(es_port),
        NEWSMON_WEB_PORT=str(web_port),
        **env_overrides,
    )
    env.setdefault("NEWSMON_FULL_TEXT", "never")  # the test feeds link to real outlets' pages
    stack = RunningStack(
        process=newsmon("up", "--data-dir", str(data_dir), *args, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        kafka=f"127.0.0.1:{kafka_port}",
        elasticsearch=f"http://127.0.0.1:{es_port}",
        web=f"http://127.0.0.1:{web_port}",
        client_env=clean_env(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka_port}",
                             ELASTICSEARCH_URL=f"http://127.0.0.1:{es_port}"),
    )
    try:
        yield stack
    finally:
        stack.process.send_signal(signal.SIGTERM)
        out, _ = stack.process.communicate(timeout=60)
        stack.output = out
    assert stack.process.returncode == 0, out[-3000:]


def es_count(es, index: str, **query) -> int:
    """Documents searchable in `index` now (0 while the server or the index is not up yet)."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elasticsearch import NotFoundError

    try:
        es.indices.refresh(index=index)
        return es.count(index=index, **query)["count"]
    except (NotFoundError, TransportConnectionError):
        return 0


def settle(probe: Callable[[], T], checks: int = 3, interval: float = 2.0, timeout: float = 120) -> T:
    """Poll until `probe` returns the same value `checks` times in a row; return it."""
    deadline, last, same = time.monotonic() + timeout, object(), 0
    while time.monotonic() < deadline:
        value = probe()
        same = same + 1 if value == last else 1
        last = value
        if same >= checks:
            return value
        time.sleep(interval)
    raise AssertionError(f"value kept changing for {timeout:.0f}s (last {last!r})")
