"""The stack `newsmon up` runs: servers (embedded or external), topics, worker, collectors.

Embedded servers start only for what the settings leave unset, so pointing
KAFKA_BOOTSTRAP_SERVERS / ELASTICSEARCH_URL at existing servers uses them instead.
External servers that are down at start are retried with backoff, and each retry says so.
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

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError

from newsmon.embedded import Server, exit_with_parent, noida, port_open, tansu
from newsmon.kafka import kafka_client_kwargs
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)
WORKER_GROUP = "newsmon"  # the Faust app id is its consumer group
DAY_MS = 86_400_000


class StackError(RuntimeError):
    """A server never became reachable, or the worker died."""


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

    def wait_reachable(self, timeout: float = 300.0) -> None:
        """Wait for Kafka and Elasticsearch ports, with backoff and one line per retry."""
        targets = {"kafka": _first_hostport(self.settings.kafka_bootstrap_servers)}
        es = urlsplit(self.settings.elasticsearch_url)
        targets["elasticsearch"] = (es.hostname or "127.0.0.1", es.port or (443 if es.scheme == "https" else 9200))
        deadline, delay = time.monotonic() + timeout, 1.0
        for name, (host, port) in targets.items():
            while not port_open(port, host):
                if time.monotonic() > deadline:
                    raise StackError(f"{name} at {host}:{port} unreachable for {timeout:.0f}s; giving up")
                log.warning(kv(event="server-unreachable", server=name, address=f"{host}:{port}", retry_in=delay))
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

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
        NewTopic(settings.raw_topic, p, 1, topic_configs=flow), NewTopic("news.dedupe", 1, 1, topic_configs=flow),
        NewTopic(settings.articles_topic, p, 1, topic_configs=flow), NewTopic("news.volume", 1, 1, topic_configs=flow),
        NewTopic(settings.dlq_topic, p, 1, topic_configs=kept),
        *(NewTopic(settings.alerts_topic(t), p, 1, topic_configs=kept) for t in topic_ids),
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **kafka_security(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
            log.info(kv(event="topics-created", topics=",".join(t.name for t in missing)))
    finally:
        await admin.close()


def kafka_security(settings: Settings) -> dict:
    """aiokafka keyword arguments for TLS/SASL, from the settings."""
    return {k: v for k, v in kafka_client_kwargs(settings).items() if k != "bootstrap_servers"}


async def consumer_lag(settings: Settings, topics: list[str]) -> int | None:
    """Messages the worker's consumer group has not committed yet (None: broker cannot tell)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **kafka_security(settings))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, **kafka_security(settings))
    await admin.start()
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(WORKER_GROUP)
    except (KafkaError, KafkaConnectionError):
        return None
    finally:
        await consumer.stop()
        await admin.close()
    return sum(max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items())


async def wait_drained(settings: Settings, stack: Stack | None = None, timeout: float = 300.0, stable_checks: int = 2) -> bool:
    """Wait until the worker has consumed and committed everything in its input topics."""
    topics = [settings.raw_topic, "news.dedupe", settings.articles_topic]
    deadline, zeros = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        if stack is not None:
            stack.check_worker()
        lag = await consumer_lag(settings, topics)
        zeros = zeros + 1 if lag == 0 else 0
        if zeros >= stable_checks:
            return True
        await asyncio.sleep(1.0)
    return False


async def alert_counts(settings: Settings, topic_ids: list[str]) -> dict[str, int]:
    """Messages kept on each alerts.<topic-id> topic (story and breaking-volume alerts)."""
    consumer = AIOKafkaConsumer(**kafka_client_kwargs(settings))
    await consumer.start()
    try:
        counts = {}
        for topic_id in topic_ids:
            name = settings.alerts_topic(topic_id)
            partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
            counts[topic_id] = sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
        return counts
    finally:
        await consumer.stop()
