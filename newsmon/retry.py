"""One retry policy for every loop in newsmon that waits for something to come back.

Why: the collectors' publisher, the indexing stage, the alert log, `newsmon up` and the bulk
sender each had their own hand-written backoff loop with its own constants, so a fix in one
left the others wrong. Each caller now names a `RetryPolicy` in one line and hands its
attempt to `retry` (async) or `retry_sync`.

Which failures heal by waiting (a refused connection, a timeout, a 503 or 429, a broker that is
not ready yet) and which never do (a 400, a mapping error, bad credentials, a record that does
not decode) is decided here, once, by `is_transient`: a permanent error is raised to the caller
at once, it is never retried.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import elastic_transport
import elasticsearch
import httpx
from aiokafka import errors as kafka_errors

from newsmon.log import kv

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({408, 425, 429})  # and every 5xx


class Transient(Exception):
    """A failure that heals by waiting; raise it, or derive an error from it, to be retried."""


class RetriesExhausted(Exception):
    """Every try a bounded policy allowed failed with a transient error (the last one is the cause)."""


class RetryStopped(Exception):
    """The caller asked to stop (its stop event was set) while waiting for the next try."""


def transient_status(status: int | None) -> bool:
    """An HTTP answer worth another try: throttling, a timeout, any 5xx; None is a network error."""
    return status is None or status >= 500 or status in TRANSIENT_STATUSES


def is_transient(exc: BaseException) -> bool:
    """True for failures of the network or of a server that is busy, starting or down."""
    if isinstance(exc, Transient):
        return True
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(exc.retriable) or isinstance(exc, (kafka_errors.KafkaConnectionError, kafka_errors.KafkaTimeoutError))
    if isinstance(exc, elasticsearch.ApiError):
        return transient_status(exc.meta.status)
    if isinstance(exc, (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout)):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return transient_status(exc.response.status_code)
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))  # the builtins: refused, reset, timed out


@dataclass(frozen=True)
class RetryPolicy:
    """How to wait between tries: `first`, then times `factor`, never more than `cap` seconds.

    `attempts` is the number of tries in all (None: for ever); `jitter` 0.5 draws each wait
    from 50-100 % of its value, so many clients do not come back at the same instant.
    `transient` tells the errors worth another try from the rest.
    """

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    attempts: int | None = None
    jitter: float = 0.0
    transient: Callable[[BaseException], bool] = is_transient

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        """The wait after the `failures`-th failed try (1-based)."""
        full = min(self.cap, self.first * self.factor ** (failures - 1))
        return full * (1.0 - self.jitter * draw()) if self.jitter else full

    def next_wait(self, exc: Exception, failures: int) -> float:
        """The wait before the next try; re-raises a permanent error, RetriesExhausted past the budget."""
        if not self.transient(exc):
            raise exc
        if self.attempts is not None and failures >= self.attempts:
            raise RetriesExhausted(f"{failures} tries failed, the last with {describe(exc)}") from exc
        return self.delay(failures)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _announce(what: str, exc: Exception, failures: int, wait: float, fields: dict[str, object]) -> None:
    log.warning(f"{what}, retrying in {wait:.3g}s " + kv(attempt=failures, error=describe(exc), **fields))


async def retry(
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    stop: asyncio.Event | None = None,
    on_retry: Callable[[Exception, int], None] | None = None,
    **fields: object,
) -> T:
    """Await `call()` until it returns, waiting per `policy` after each transient failure.

    One warning line per retry (`what`, the wait, the error and `fields`). A permanent error
    is raised at once; RetriesExhausted past a bounded policy; RetryStopped as soon as `stop`
    is set during a wait (a SIGTERM must not sit out a 30 s backoff).
    """
    failures = 0
    while True:
        try:
            return await call()
        except Exception as exc:  # noqa: BLE001 -- policy.next_wait re-raises what is not transient
            failures += 1
            await pause(_after_failure(policy, exc, failures, on_retry, what, fields), stop)


def retry_sync(
    policy: RetryPolicy,
    call: Callable[[], T],
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[Exception, int], None] | None = None,
    **fields: object,
) -> T:
    """`retry` for blocking code (the Elasticsearch client runs in a thread)."""
    failures = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 -- policy.next_wait re-raises what is not transient
            failures += 1
            sleep(_after_failure(policy, exc, failures, on_retry, what, fields))


def _after_failure(
    policy: RetryPolicy, exc: Exception, failures: int,
    on_retry: Callable[[Exception, int], None] | None, what: str, fields: dict[str, object],
) -> float:
    """What both loops do after a failed try: the wait (re-raising a permanent error), the
    caller's hook, one warning line."""
    wait = policy.next_wait(exc, failures)
    if on_retry is not None:
        on_retry(exc, failures)
    _announce(what, exc, failures, wait, fields)
    return wait


async def pause(seconds: float, stop: asyncio.Event | None = None) -> None:
    """Sleep `seconds`, or raise RetryStopped as soon as `stop` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    if stop.is_set():
        raise RetryStopped("stopping")
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
    raise RetryStopped("stopping")
