"""The stack `newsmon up` runs: servers (embedded or external), topics, worker, collectors.

Embedded servers start only for what the settings leave unset, so pointing
KAFKA_BOOTSTRAP_SERVERS / ELASTICSEARCH_URL at existing servers uses them instead.
External servers that are down at start are waited for (STARTUP_WAIT, one line per retry;
a SIGTERM ends the wait at once). While running, the stack is healthy only if the worker and
every embedded server are alive and no stage of the worker (its /health) stays failing past
`stage_failure_limit_seconds`: otherwise `check` raises StackError and `up` exits non-zero.
"""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from newsmon.core.times import epoch_from_iso
from newsmon.embedded import Server, exit_with_parent, noida, port_open, tansu
from newsmon.kafka import TopicTail, kafka_client_kwargs
from newsmon.log import kv
from newsmon.retry import RetriesExhausted, RetryPolicy, Transient, retry
from newsmon.settings import Settings

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
STARTUP_WAIT = RetryPolicy(first=1.0, cap=30.0, attempts=14)  # about 5 minutes for a server to come up


class StackError(RuntimeError):
    """A server never became reachable, died, or the worker died or cannot recover."""


class Unreachable(Transient):
    """A server's port does not accept connections (yet)."""


@dataclass
class Stack:
    settings: Settings
    servers: list[Server] = field(default_factory=list)
    worker: subprocess.Popen | None = None

    # ---- servers -------------------------------------------------------------------
    def start_servers(self) -> Settings:
        """Start embedded servers for unset endpoints; return settings with both endpoints set."""
        s = self.settings
        want_kafka, want_es = not s.kafka_bootstrap_servers, not s.elasticsearch_url
        data_dir = s.data_dir.resolve()
        kafka_port, es_port = s.embedded_kafka_port, s.embedded_elasticsearch_port
        if want_kafka and s.embedded_kafka == "tansu":
            self.servers.append(tansu(kafka_port, data_dir / "logs").start())
            want_kafka = False
            kafka = f"127.0.0.1:{kafka_port}"
        services = ",".join(name for name, wanted in (("kafka", want_kafka), ("elasticsearch", want_es)) if wanted)
        if services:
            self.servers.append(noida(data_dir / "noida", kafka_port, es_port, services).start())
        kafka = s.kafka_bootstrap_servers or f"127.0.0.1:{kafka_port}"
        es = s.elasticsearch_url or f"http://127.0.0.1:{es_port}"
        self.settings = s.model_copy(update={"kafka_bootstrap_servers": kafka, "elasticsearch_url": es})
        return self.settings

    async def wait_reachable(self, stop: asyncio.Event | None = None, policy: RetryPolicy = STARTUP_WAIT) -> None:
        """Wait for the Kafka and Elasticsearch ports, one line per retry; RetryStopped once `stop` is set."""
        es = urlsplit(self.settings.elasticsearch_url)
        targets = {
            "kafka": _first_hostport(self.settings.kafka_bootstrap_servers),
            "elasticsearch": (es.hostname or "127.0.0.1", es.port or (443 if es.scheme == "https" else 9200)),
        }
        for name, (host, port) in targets.items():
            async def probe() -> None:
                if not await asyncio.to_thread(port_open, port, host):
                    raise Unreachable(f"nothing accepts connections at {host}:{port}")

            try:
                await retry(policy, probe, what=f"{name} unreachable", stop=stop, server=name, address=f"{host}:{port}")
            except RetriesExhausted as exc:
                raise StackError(f"{name} at {host}:{port} unreachable: {exc}; giving up") from None

    # ---- worker --------------------------------------------------------------------
    def start_worker(self) -> subprocess.Popen:
        s = self.settings
        env = dict(os.environ)
        env.update(
            NEWSMON_KAFKA_BOOTSTRAP_SERVERS=s.kafka_bootstrap_servers,
            NEWSMON_ELASTICSEARCH_URL=s.elasticsearch_url,
            NEWSMON_DATA_DIR=str(s.data_dir.resolve()),
            NEWSMON_WEB_PORT=str(s.web_port),
        )
        if s.topic_rules:
            env["NEWSMON_TOPIC_RULES"] = str(Path(s.topic_rules).resolve())
        log_path = s.data_dir.resolve() / "logs" / "worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "newsmon.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=exit_with_parent,
            )
        log.info(kv(event="worker-started", pid=self.worker.pid, log=log_path, web=f"http://{s.web_host}:{s.web_port}/"))
        return self.worker

    def check_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is not None:
            raise StackError(f"worker exited with code {self.worker.returncode}; see {self.settings.data_dir}/logs/worker.log")

    async def check(self) -> None:
        """StackError if the worker or an embedded server is gone, or a worker stage stays failing past the limit."""
        self.check_worker()
        for server in self.servers:
            if server.process is not None and server.process.poll() is not None:
                raise StackError(f"{server.name} exited with code {server.process.returncode}; see {server.log_path}")
        stuck = failing_for(await worker_health(self.settings), self.settings.stage_failure_limit_seconds, time.time())
        if stuck:
            raise StackError("worker stage cannot recover: " + "; ".join(
                f"{name} failing since {state['since']}: {state['error']}" for name, state in stuck.items()))

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
            log.info(kv(event="worker-stopped", code=self.worker.returncode))
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


def _first_hostport(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    return host or "127.0.0.1", int(port)


async def worker_health(settings: Settings) -> dict | None:
    """The worker's /health answer, or None while its web server does not answer."""
    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::", "") else settings.web_host
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(f"http://{host}:{settings.web_port}/health")
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


def failing_for(health: dict | None, limit_seconds: float, now: float) -> dict[str, dict]:
    """The stages of a /health answer that have been failing for longer than `limit_seconds`."""
    stages = (health or {}).get("stages", {})
    return {name: state for name, state in stages.items()
            if state.get("status") == "failing" and state.get("since")
            and now - epoch_from_iso(state["since"]) > limit_seconds}


async def ensure_topics(settings: Settings, topic_ids: list[str]) -> None:
    """Create the pipeline's topics with their partition counts before anything produces.

    A broker that auto-creates on first produce would otherwise make single-partition
    topics, which Faust's co-partitioned tables then refuse. Retention is explicit: the
    pipeline's topics keep `topic_retention_days` (Kafka's own default is 7 days; noida-db
    keeps everything, and re-saves all it keeps after every write), alerts and dead letters
    the dedupe window, for subscribers and people to read back.
    """
    p = settings.topic_partitions
    flow = {"retention.ms": str(int(settings.topic_retention_days * DAY_MS))}
    kept = {"retention.ms": str(int(settings.dedupe_window_days * DAY_MS))}
    wanted = [
        NewTopic(settings.raw_topic, p, 1, topic_configs=flow), NewTopic(settings.dedupe_topic, 1, 1, topic_configs=flow),
        NewTopic(settings.articles_topic, p, 1, topic_configs=flow), NewTopic(settings.volume_topic, 1, 1, topic_configs=flow),
        NewTopic(settings.dlq_topic, p, 1, topic_configs=kept),
        *(NewTopic(settings.alerts_topic(t), p, 1, topic_configs=kept) for t in topic_ids),
    ]
    admin = AIOKafkaAdminClient(**kafka_client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
            log.info(kv(event="topics-created", topics=",".join(t.name for t in missing)))
    finally:
        await admin.close()


def worker_inputs(settings: Settings) -> list[str]:
    """The topics the worker's consumer group reads and commits."""
    return [settings.raw_topic, settings.dedupe_topic, settings.articles_topic]


async def consumer_lag(settings: Settings, topics: list[str]) -> int | None:
    """Messages the worker's consumer group has not committed yet (None: broker cannot tell)."""
    admin = AIOKafkaAdminClient(**kafka_client_kwargs(settings))
    try:
        await admin.start()
        async with TopicTail(settings, topics) as tail:
            ends = await tail.end_offsets()
        committed = await admin.list_consumer_group_offsets(settings.worker_group)
    except KafkaError:
        return None
    finally:
        await admin.close()
    return sum(max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items())


async def wait_drained(settings: Settings, stack: Stack | None = None, timeout: float = 300.0, stable_checks: int = 2) -> bool:
    """Wait until the worker has consumed and committed everything in its input topics."""
    deadline, zeros = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        if stack is not None:
            stack.check_worker()
        lag = await consumer_lag(settings, worker_inputs(settings))
        zeros = zeros + 1 if lag == 0 else 0
        if zeros >= stable_checks:
            return True
        await asyncio.sleep(1.0)
    return False


async def alert_counts(settings: Settings, topic_ids: list[str]) -> dict[str, int]:
    """Messages kept on each alerts.<topic-id> topic (story and breaking-volume alerts)."""
    names = {settings.alerts_topic(t): t for t in topic_ids}
    counts = dict.fromkeys(topic_ids, 0)
    async with TopicTail(settings, list(names)) as tail:
        for tp, end in (await tail.end_offsets()).items():
            counts[names[tp.topic]] += end
    return counts
