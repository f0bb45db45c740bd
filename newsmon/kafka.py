"""Connection options for every aiokafka client newsmon creates, built from Settings in one place.

Producers (collectors), consumers (alerts, search tail) and admin clients must agree on
bootstrap servers, TLS and SASL; deriving them here keeps one source of truth and keeps
secrets inside ``SecretStr`` until the very moment a client needs them.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

from newsmon.settings import Settings

SASL_PROTOCOLS = {"SASL_PLAINTEXT", "SASL_SSL"}
TLS_PROTOCOLS = {"SSL", "SASL_SSL"}


class KafkaSettingsError(ValueError):
    """The settings do not describe a reachable, consistently configured Kafka cluster."""


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    if not settings.kafka_bootstrap_servers:
        raise KafkaSettingsError(
            "no Kafka broker configured: run `newsmon up` (starts the embedded broker) "
            "or set KAFKA_BOOTSTRAP_SERVERS=host:port"
        )
    protocol = settings.kafka_security_protocol.upper()
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in TLS_PROTOCOLS:
        from aiokafka.helpers import create_ssl_context

        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        kwargs["ssl_context"] = create_ssl_context(cafile=cafile)
    if protocol in SASL_PROTOCOLS:
        if not (settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password):
            raise KafkaSettingsError(
                f"security protocol {protocol} needs NEWSMON_KAFKA_SASL_MECHANISM, "
                "NEWSMON_KAFKA_SASL_USERNAME and NEWSMON_KAFKA_SASL_PASSWORD"
            )
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism.upper()
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs


def pace_empty_fetches(seconds: float) -> None:
    """Make every aiokafka consumer of this process wait `seconds` after a fetch that came
    back empty at once, as a broker honouring `fetch_max_wait_ms` would have made it wait.

    Why: noida-db answers an empty fetch immediately, so an idle consumer re-asks in a
    tight loop; measured, an idle worker burnt a whole core (105 % CPU) on fetch requests
    and starved the stream of the GIL under load. A fetch that returns data, or one the
    broker did hold, is not delayed. Idempotent; 0 leaves aiokafka untouched.
    """
    from aiokafka.consumer.fetcher import Fetcher

    original = getattr(Fetcher._proc_fetch_request, "__wrapped__", Fetcher._proc_fetch_request)
    if seconds <= 0:
        Fetcher._proc_fetch_request = original
        return

    @functools.wraps(original)
    async def paced(self, assignment, node_id, request):  # noqa: ANN001 -- aiokafka's own signature
        started = time.monotonic()
        has_data = await original(self, assignment, node_id, request)
        if not has_data and time.monotonic() - started < seconds:
            # Fetcher.close cancels this task and awaits it: like aiokafka's own method, end
            # quietly, or every consumer.stop() raises CancelledError into its caller.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(seconds)
        return has_data

    Fetcher._proc_fetch_request = paced
