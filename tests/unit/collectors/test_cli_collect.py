"""`newsmon collect` as a user runs it: a real subprocess, JSON lines out, one stderr line per bad feed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from newsmon.collectors.state import STATE_FILE

from newsmon.embedded import free_port
from tests.unit.collectors.conftest import FEEDS, rss, static

REPO = Path(__file__).resolve().parents[3]


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "KAFKA" not in k and not k.startswith("NEWSMON_")}
    return env | {"NEWSMON_DATA_DIR": str(tmp_path / "data"), "NEWSMON_CONFIG": os.devnull,
                  "NEWSMON_FETCH_TIMEOUT_SECONDS": "3", "NEWSMON_FULL_TEXT": "never"}


def newsmon(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=REPO, env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=60)


def test_collect_once_stdout_prints_articles_and_reports_each_bad_feed_once(tmp_path, feed_server):
    feed_server.routes["/feed"] = static(rss(("a", "Loopback A"), ("b", "Loopback B")))
    feed_server.routes["/down"] = static(b"", 503)
    bad = [feed_server.url("/down"), (FEEDS / "junk.bin").as_uri(), (tmp_path / "missing.xml").as_uri()]
    good = [(FEEDS / "seeds.rss").as_uri(), feed_server.url("/feed"), (FEEDS / "persian.rss").as_uri()]
    feeds = [arg for url in good + bad for arg in ("--feed", url)]

    result = newsmon(tmp_path, "collect", "--once", "--stdout", *feeds)

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5 + 2 + 7
    for record in records:
        assert {"url", "title", "content", "published", "source", "feed"} <= record.keys()
        assert len(record["published"]) == 20 and record["published"].endswith("Z")
    assert {r["feed"] for r in records} == set(good)
    stderr = result.stderr.splitlines()
    for url in bad:
        assert len([line for line in stderr if url in line]) == 1, result.stderr
    assert "not a feed" in next(line for line in stderr if "junk.bin" in line)


def test_stdout_mode_keeps_no_state_so_a_rerun_prints_the_same(tmp_path):
    feed = ["--feed", (FEEDS / "atom.xml").as_uri()]
    first = newsmon(tmp_path, "collect", "--once", "--stdout", *feed)
    second = newsmon(tmp_path, "collect", "--once", "--stdout", *feed)
    assert len(first.stdout.splitlines()) == len(second.stdout.splitlines()) == 5


def test_usage_errors_exit_2(tmp_path):
    result = newsmon(tmp_path, "collect", "--interval", "soon")
    assert result.returncode == 2 and "--interval" in result.stderr


def test_unreachable_broker_is_retried_with_backoff_until_stopped(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "newsmon.cli", "collect", "--once", "--feed", (FEEDS / "atom.xml").as_uri()],
        cwd=REPO, env=cli_env(tmp_path) | {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"},
        stderr=subprocess.PIPE, text=True,
    )
    retries = []
    for line in process.stderr:
        if "broker unreachable, retrying in" in line:
            retries.append(line.split("retrying in ", 1)[1].split()[0])
            if len(retries) == 2:
                break
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert retries == ["1s", "2s"]
    state = json.loads((tmp_path / "data" / STATE_FILE).read_text())
    assert state[(FEEDS / "atom.xml").as_uri()]["seen"] == []  # nothing acknowledged, nothing marked seen
