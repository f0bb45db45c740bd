"""Every command tried as a hostile user would: one clear line and the documented exit code, never a traceback.

Each case runs `newsmon` as a user does (a child process) with what a user gets wrong: a bad
setting or config file, a missing input, a directory where a file belongs, malformed lines, a
wrong-typed flag, a taken port, a data dir that cannot be written, a server that is down
(loopback port 1: refused at once). No server is started; a case must end in seconds.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsmon.embedded import free_port

REPO = Path(__file__).resolve().parents[3]
DOWN = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "ELASTICSEARCH_URL": "http://127.0.0.1:1",
        "KIBANA_URL": "http://127.0.0.1:1"}
ARTICLE = ('{"id": "a1", "url": "https://news.example/a1", "title": "Fuel delivered", "content": "Fuel was delivered.",'
           ' "published": "2025-11-08T10:00:00Z", "source": "news.example"}')


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEWSMON_") and k not in ("KAFKA_BOOTSTRAP_SERVERS", "ELASTICSEARCH_URL", "KIBANA_URL")}
    return env | {"NEWSMON_CONFIG": os.devnull, "NEWSMON_DATA_DIR": str(tmp_path / "data"),
                  "PYTHONPATH": str(REPO)} | DOWN | extra


def newsmon(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=tmp_path, env=env or base_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def assert_one_clear_line(result: subprocess.CompletedProcess, code: int, needle: str, max_lines: int = 1) -> None:
    """The exit code, no traceback anywhere, and a short stderr whose last line names the problem."""
    out = result.stdout or ""
    shown = f"exit {result.returncode}\nstdout:\n{out[-2000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert "Traceback" not in result.stderr + out, shown
    assert result.returncode == code, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= max_lines, shown
    assert needle in lines[-1], shown


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "in.jsonl").write_text(f"{ARTICLE}\n{{not json\n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text("poll_interval_seconds = \n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    return {"in": str(tmp_path / "in.jsonl"), "dir": str(tmp_path / "folder"), "missing": str(tmp_path / "missing.jsonl"),
            "bad_toml": str(tmp_path / "bad.toml"), "tmp": str(tmp_path)}


USAGE = 8  # argparse prints its usage lines, then the one line saying what is wrong
# (case id, arguments, environment changes, exit code, what the last stderr line says, most stderr lines);
# an id ending in -down is a server that is down
CASES = [
    # settings and config file: refused before any command starts
    ("bad-toml", ["process", "-i", "{in}"], {"NEWSMON_CONFIG": "{bad_toml}"}, 2, "bad.toml: not valid TOML", 1),
    ("config-missing", ["process", "-i", "{in}"], {"NEWSMON_CONFIG": "{missing}"}, 2, "NEWSMON_CONFIG=", 1),
    ("config-is-folder", ["process", "-i", "{in}"], {"NEWSMON_CONFIG": "{dir}"}, 2, "a directory, not a file", 1),
    ("env-wrong-type", ["process", "-i", "{in}"], {"NEWSMON_POLL_INTERVAL_SECONDS": "abc"}, 2,
     "setting poll_interval_seconds = 'abc' (from environment NEWSMON_POLL_INTERVAL_SECONDS)", 1),
    ("env-negative-window", ["up", "--once"], {"NEWSMON_DEDUPE_WINDOW_DAYS": "-1"}, 2, "dedupe_window_days", 1),
    ("env-not-json", ["collect", "--once"], {"NEWSMON_FEEDS": "https://a.example/rss"}, 2, "setting feeds from NEWSMON_FEEDS: not JSON", 1),
    ("env-bad-port", ["worker"], {"NEWSMON_WEB_PORT": "70000"}, 2, "web_port", 1),
    # usage
    ("no-command", [], {}, 2, "required: COMMAND", USAGE),
    ("unknown-command", ["nope"], {}, 2, "invalid choice", USAGE),
    # process: files
    ("process-input-missing", ["process", "-i", "{missing}"], {}, 2, "cannot read", 1),
    ("process-input-folder", ["process", "-i", "{dir}"], {}, 2, "Is a directory", 1),
    ("process-output-folder", ["process", "-i", "{in}", "-o", "{dir}"], {}, 2, "cannot write", 1),
    ("process-output-no-parent", ["process", "-i", "{in}", "-o", "{tmp}/no/such/out.jsonl"], {}, 2, "No such file or directory", 1),
    ("process-rules-missing", ["process", "-i", "{in}", "--rules", "{missing}"], {}, 2, "cannot read", 1),
    ("process-rules-not-yaml", ["process", "-i", "{in}", "--rules", "{in}"], {}, 2, "not valid YAML", 1),
    ("process-output-full-disk", ["process", "-i", "{in}", "-o", "/dev/full"], {}, 1, "No space left on device", 2),
    ("process-malformed-line", ["process", "-i", "{in}", "-o", "{tmp}/out.jsonl"], {}, 0, "lines=2", 2),
    # rules
    ("rules-file-missing", ["rules", "test", "{missing}"], {}, 2, "", 0),
    ("rules-corpus-malformed", ["rules", "test", "--corpus", "{in}"], {}, 2, "", 0),
    # search, kibana, es: Elasticsearch / Kibana down, wrong-typed flags
    ("search-es-down", ["search", "fuel"], {}, 2, "Elasticsearch unreachable", 1),
    ("search-by-story-es-down", ["search", "fuel", "--by-story"], {}, 2, "Elasticsearch unreachable", 1),
    ("search-limit-not-a-number", ["search", "--limit", "abc"], {}, 2, "expected a whole number > 0, got 'abc'", USAGE),
    ("search-limit-negative", ["search", "--limit", "-1"], {}, 2, "expected a whole number > 0", USAGE),
    ("search-since-not-a-date", ["search", "--since", "yesterday"], {}, 2, "use an age like", 1),
    ("kibana-import-down", ["kibana", "import"], {}, 1, "Kibana unreachable", 1),
    ("kibana-objects-missing", ["kibana", "describe", "--file", "{missing}"], {}, 1, "cannot read saved objects", 1),
    ("kibana-check-es-down", ["kibana", "check"], {}, 2, "Elasticsearch query failed", 1),
    ("es-setup-down", ["es", "setup"], {}, 2, "Elasticsearch unreachable", 1),
    ("es-prune-not-a-number", ["es", "prune", "--keep-months", "abc"], {}, 2, "expected a whole number > 0", USAGE),
    ("es-prune-keep-nothing", ["es", "prune", "--keep-months", "0"], {}, 2, "expected a whole number > 0", USAGE),
    # alerts, reprocess: broker down (aiokafka logs its own line first)
    ("alerts-kafka-down", ["alerts", "subscribe", "snapback", "--timeout", "1"], {}, 2, "Kafka unreachable at 127.0.0.1:1", 2),
    ("alerts-max-not-a-number", ["alerts", "subscribe", "snapback", "--max", "x"], {}, 2, "invalid int value", USAGE),
    ("reprocess-kafka-down", ["reprocess", "--since", "2025-01-01"], {}, 2, "Kafka unreachable at 127.0.0.1:1", 2),
    ("reprocess-not-a-date", ["reprocess", "--since", "soon"], {}, 2, "not a date", USAGE),
    ("reprocess-rules-missing", ["reprocess", "--since", "2025-01-01", "--rules", "{missing}"], {}, 2, "cannot read", 1),
    # collect, worker, bench, replay: flags and files
    ("collect-interval-not-a-number", ["collect", "--interval", "soon"], {}, 2, "expected a number of seconds > 0", USAGE),
    ("collect-shard-out-of-range", ["collect", "--shard", "3/2"], {}, 2, "expected K/N", USAGE),
    ("worker-port-out-of-range", ["worker", "--web-port", "99999"], {}, 2, "expected a port in 1..65535", USAGE),
    ("bench-articles-not-a-number", ["bench", "--articles", "many"], {}, 2, "invalid int value", USAGE),
    ("bench-output-folder", ["bench", "--output", "{dir}"], {}, 2, "is a folder", 1),  # told before a run of minutes
    ("bench-output-unwritable", ["bench", "--output", "{in}/latest.json"], {}, 2, "cannot create files in", 1),
    ("worker-data-dir-unwritable", ["worker"], {"NEWSMON_DATA_DIR": "{in}/data"}, 2, "is not writable: Not a directory", 1),
    ("replay-input-missing", ["replay", "{missing}"], {}, 2, "no such file or folder", 1),
]


@pytest.mark.parametrize(("case", "args", "env", "code", "needle", "max_lines"), CASES, ids=[case[0] for case in CASES])
def test_hostile_input_gives_one_line_and_the_exit_code(tmp_path, files, case, args, env, code, needle, max_lines):
    started = time.monotonic()
    result = newsmon(tmp_path, *(a.format(**files) for a in args),
                     env=base_env(tmp_path, **{k: v.format(**files) for k, v in env.items()}))
    if case.endswith("-down"):  # no retrying for ever: a few seconds here, more when the machine is loaded
        assert time.monotonic() - started < 50, "a server that is down must fail the command, not be retried for ever"
    if max_lines:
        assert_one_clear_line(result, code, needle, max_lines)
    else:  # `rules test` reports on stdout, as its tests and docs say
        assert "Traceback" not in result.stdout + result.stderr and result.returncode == code
        assert "bad rule file:" in result.stdout or "cannot read input:" in result.stdout, result.stdout


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_process_refuses_to_write_onto_its_own_input(tmp_path, link):
    source = tmp_path / "in.jsonl"
    source.write_text(f"{ARTICLE}\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    if link == "same":
        target = source
    elif link == "symlink":
        target.symlink_to(source)
    else:
        os.link(source, target)
    before = source.read_bytes()
    assert_one_clear_line(newsmon(tmp_path, "process", "-i", str(source), "-o", str(target)), 2, "is the input file")
    assert source.read_bytes() == before


def test_process_refuses_stdout_appended_to_its_input(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(f"{ARTICLE}\n", encoding="utf-8")
    with source.open("ab") as appended:  # `newsmon process -i in.jsonl >> in.jsonl` would read its own output
        result = subprocess.run([sys.executable, "-m", "newsmon.cli", "process", "-i", str(source)], cwd=tmp_path,
                                env=base_env(tmp_path), stdout=appended, stderr=subprocess.PIPE, text=True, timeout=60)
    assert_one_clear_line(result, 2, "--output - is the input file")
    assert source.read_text(encoding="utf-8") == f"{ARTICLE}\n"


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(f"{ARTICLE}\n" * 5000, encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "process", "-i", str(source)], cwd=tmp_path,
                             env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline().startswith(b'{"id":"a1"')
    child.stdout.close()  # `newsmon process ... | head -1`
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0 and b"Traceback" not in err, err.decode()


@contextmanager
def listening() -> Iterator[int]:
    """A port some other program holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def up_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Embedded servers wanted (no endpoints set), every port free unless `extra` says otherwise."""
    ports = {name: str(free_port()) for name in ("NEWSMON_WEB_PORT", "NEWSMON_EMBEDDED_KAFKA_PORT", "NEWSMON_EMBEDDED_ELASTICSEARCH_PORT")}
    env = base_env(tmp_path, **(ports | extra))
    for name in DOWN:
        env.pop(name)
    return env


@pytest.mark.parametrize("setting", ["NEWSMON_WEB_PORT", "NEWSMON_EMBEDDED_KAFKA_PORT", "NEWSMON_EMBEDDED_ELASTICSEARCH_PORT"])
def test_up_names_the_taken_port_before_starting_anything(tmp_path, setting):
    with listening() as port:
        result = newsmon(tmp_path, "up", "--once", "--feed", (tmp_path / "none.xml").as_uri(),
                         env=up_env(tmp_path, **{setting: str(port)}))
    assert_one_clear_line(result, 2, f"port {port} ({setting.removeprefix('NEWSMON_').lower()}, {setting}) is already in use")
    assert not (tmp_path / "data" / "noida").exists()  # nothing was started


def test_worker_names_its_taken_web_port(tmp_path):
    with listening() as port:
        result = newsmon(tmp_path, "worker", env=base_env(tmp_path, NEWSMON_WEB_PORT=str(port)))
    assert_one_clear_line(result, 2, f"port {port} (web_port, NEWSMON_WEB_PORT) is already in use")


def test_up_refuses_a_data_dir_it_cannot_create(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = newsmon(tmp_path, "up", "--once", env=up_env(tmp_path, NEWSMON_DATA_DIR=str(blocker / "data")))
    assert_one_clear_line(result, 2, "is not writable: Not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0500 folder")
def test_up_refuses_a_read_only_data_dir(tmp_path):
    data = tmp_path / "read-only"
    data.mkdir(mode=0o500)
    try:
        result = newsmon(tmp_path, "up", "--once", env=up_env(tmp_path, NEWSMON_DATA_DIR=str(data)))
    finally:
        data.chmod(0o700)
    assert_one_clear_line(result, 2, "is not writable: Permission denied")


def test_collect_says_once_that_its_state_cannot_be_saved(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = newsmon(tmp_path, "collect", "--once", "--feed", (tmp_path / "none.xml").as_uri(),
                     env=base_env(tmp_path, NEWSMON_DATA_DIR=str(blocker / "data")))
    assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
    assert "state-not-saved" in result.stderr


def test_worker_waits_for_servers_that_are_down_with_one_line_per_retry_and_stops_on_sigterm(tmp_path):
    child = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "worker", "--web-port", str(free_port())], cwd=tmp_path,
                             env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stderr.readline()
        assert "kafka unreachable, retrying" in line and "127.0.0.1:1" in line, line
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM and "Traceback" not in err, err
