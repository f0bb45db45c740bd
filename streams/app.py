"""The one faust.App of newsmon, built from Settings (no module-level config singleton).

`create_app` declares the topics and lets each stage module register its agents and tables.
`newsmon worker` runs it; `newsmon up` starts that worker as a child process.
"""
from __future__ import annotations

import hashlib
import socket
import ssl

import faust
from newsmon.streams import alerts, dedupe, deliveries, indexing, tagging, web
from newsmon.streams.topics import declare_topics

from newsmon.core.rules import RuleSet, load_rules
from newsmon.kafka import pace_empty_fetches
from newsmon.settings import Settings

SESSION_TIMEOUT_SECONDS = 10.0


def worker_instance_id(settings: Settings) -> str:
    """Stable across restarts of one worker, distinct between workers: host name + state directory."""
    where = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    return f"newsmon-{socket.gethostname()}-{where}"


def broker_credentials(settings: Settings) -> faust.types.auth.CredentialsT | ssl.SSLContext | None:
    protocol = settings.kafka_security_protocol.upper()
    context = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username or "",
            password=password,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    return context


def create_app(settings: Settings, rules: RuleSet | None = None) -> faust.App:
    if not settings.kafka_bootstrap_servers:
        raise ValueError("kafka_bootstrap_servers must be set before the worker starts (newsmon up sets it)")
    rules = rules or load_rules(settings.topic_rules)
    pace_empty_fetches(settings.kafka_empty_fetch_wait_seconds)
    app = faust.App(
        "newsmon",
        broker=[f"kafka://{hostport}" for hostport in settings.kafka_bootstrap_servers.split(",")],
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
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
    )
    topics = declare_topics(app, settings, rules.topics)
    tagging.register(app, topics, rules, settings)
    dedupe.register(app, topics, settings)
    indexing.register(app, topics, settings)
    alerts.register(app, topics, settings)
    deliveries.register(app, topics, settings)
    web.register(app, topics, settings)
    return app
