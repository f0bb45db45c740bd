"""The one faust.App of newsmon, built from Settings (no module-level config singleton).

`create_app` declares the topics and lets each stage module register its agents and tables.
`newsmon worker` runs it; `newsmon up` starts that worker as a child process.

Safe by default: the web server binds `settings.web_host` (127.0.0.1 unless configured) and
serves only our own routes (the live page, its data, /health); Faust's built-in views
(/router/, /table/<name>/<key>/, statistics, graphs), which return stored state to anyone, are
switched off. The broker's TLS/SASL options come from `newsmon.kafka.kafka_client_kwargs`,
validated like every other client's.
"""
from __future__ import annotations

import hashlib
import socket
import ssl

import faust
from newsmon.streams import alerts, dedupe, deliveries, indexing, tagging, web
from newsmon.streams.health import Health
from newsmon.streams.topics import declare_topics

from newsmon.core.rules import RuleSet, load_rules
from newsmon.kafka import kafka_client_kwargs, pace_empty_fetches
from newsmon.settings import Settings

SESSION_TIMEOUT_SECONDS = 10.0
FAUST_VIEWS_OFF = {  # Faust's own web views: stored state for anyone who asks
    "web_router_enabled": False, "web_tables_enabled": False, "web_graph_enabled": False,
    "web_stats_enabled": False, "web_metrics_enabled": False,
}


def worker_instance_id(settings: Settings) -> str:
    """Stable across restarts of one worker, distinct between workers: host name + state directory."""
    where = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    return f"{settings.worker_group}-{socket.gethostname()}-{where}"


def broker_credentials(settings: Settings) -> faust.types.auth.CredentialsT | ssl.SSLContext | None:
    """Faust's form of the options kafka_client_kwargs builds (KafkaSettingsError when incomplete)."""
    options = kafka_client_kwargs(settings)
    if "sasl_mechanism" in options:
        return faust.SASLCredentials(
            username=options["sasl_plain_username"], password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"], ssl_context=options.get("ssl_context"),
        )
    return options.get("ssl_context")


def create_app(settings: Settings, rules: RuleSet | None = None) -> faust.App:
    if not settings.kafka_bootstrap_servers:
        raise ValueError("kafka_bootstrap_servers must be set before the worker starts (newsmon up sets it)")
    rules = rules or load_rules(settings.topic_rules)
    pace_empty_fetches(settings.kafka_empty_fetch_wait_seconds)
    app = faust.App(
        settings.worker_group,
        broker=[f"kafka://{hostport}" for hostport in kafka_client_kwargs(settings)["bootstrap_servers"].split(",")],
        broker_credentials=broker_credentials(settings),
        store="memory://",
        datadir=str(settings.data_dir / "worker"),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        producer_linger_ms=5,
        consumer_auto_offset_reset="earliest",
        # Static membership: a worker restarted after a crash (SIGKILL, OOM) takes its own
        # place back at once, where a new member would wait for the dead one's session to
        # expire (noida-db never expires it: the group would stay stuck). A worker that
        # dies for good hands its partitions over after SESSION_TIMEOUT_SECONDS.
        consumer_group_instance_id=worker_instance_id(settings),
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        **FAUST_VIEWS_OFF,
    )
    health = Health()
    topics = declare_topics(app, settings, rules.topics)
    tagging.register(app, topics, rules, settings, health)
    dedupe.register(app, topics, settings, health)
    indexing.register(app, topics, settings, health)
    alerts.register(app, topics, settings, health)
    deliveries.register(app, topics, settings, health)
    web.register(app, topics, settings, health)
    return app
