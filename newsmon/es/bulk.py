"""Send bulk requests with bounded chunks and one retry budget with exponential backoff.

Elasticsearch answers a bulk request in two ways that need different handling: the whole
request can fail (connection refused, timeout, 429, 5xx) and then it is resent; or it
succeeds with per-item statuses, where 429/5xx items are resent and every other failure
is final for that document (a mapping conflict does not heal by retrying). The retry
budget is shared by both, and exhausting it raises `IndexingUnavailable`.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from newsmon.es import IndexingUnavailable
from newsmon.log import kv

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Action:
    """One bulk operation: its NDJSON lines (action + source) and the record it came from."""

    lines: bytes
    record: object


@dataclass(frozen=True)
class Failure:
    """A final per-item failure: the action, the HTTP status and a one-line reason."""

    action: Action
    status: int
    reason: str


@dataclass
class BulkOutcome:
    failures: list[Failure] = field(default_factory=list)
    retries: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` resends per chunk; the n-th waits base*2**n (capped), jittered to 50-100%."""

    max_retries: int = 6
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def delay(self, attempt: int, jitter: float) -> float:
        return min(self.cap_seconds, self.base_seconds * 2**attempt) * (0.5 + jitter / 2)


def chunks(actions: Iterable[Action], max_docs: int, max_bytes: int) -> Iterator[list[Action]]:
    """Group actions so no chunk exceeds `max_docs` operations or `max_bytes` of body."""
    chunk: list[Action] = []
    size = 0
    for action in actions:
        if chunk and (len(chunk) >= max_docs or size + len(action.lines) > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += len(action.lines)
    if chunk:
        yield chunk


def item_reason(result: dict) -> str:
    error = result.get("error") or {}
    if isinstance(error, str):
        return error
    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    cause = error.get("caused_by") or {}
    return f"{reason} ({cause.get('reason')})" if cause.get("reason") else reason


class BulkSender:
    """Sends chunks through `client.bulk`, resending what is retryable."""

    def __init__(
        self,
        client: Elasticsearch,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client.options(max_retries=0)  # this class owns retries and backoff
        self.policy = policy
        self.sleep = sleep
        self.jitter = jitter

    def send(self, chunk: list[Action]) -> BulkOutcome:
        outcome = BulkOutcome()
        pending = chunk
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                outcome.retries += 1
                self.sleep(self.policy.delay(attempt - 1, self.jitter()))
            try:
                pending, cause = self._attempt(pending, outcome), None
            except (ConnectionError, ConnectionTimeout) as exc:
                cause = f"{type(exc).__name__}: {exc}"
            except ApiError as exc:
                if exc.meta.status not in RETRYABLE_STATUSES:
                    raise IndexingUnavailable(f"bulk request rejected with HTTP {exc.meta.status}: {exc.message}") from exc
                cause = f"HTTP {exc.meta.status}"
            if not pending:
                return outcome
            log.warning(kv(event="es-bulk-retry", attempt=attempt + 1, pending=len(pending), cause=cause or "item-retry"))
        raise IndexingUnavailable(
            f"{len(pending)} bulk operations still failing after {self.policy.max_retries} retries"
        )

    def _attempt(self, pending: list[Action], outcome: BulkOutcome) -> list[Action]:
        """One bulk call; records final failures, returns the actions to resend."""
        response = self.client.bulk(operations=[action.lines for action in pending])
        if not response.get("errors"):
            return []
        resend = []
        for action, item in zip(pending, response["items"], strict=True):
            result = next(iter(item.values()))
            status = result.get("status", 500)
            if status < 300:
                continue
            if status in RETRYABLE_STATUSES:
                resend.append(action)
            else:
                outcome.failures.append(Failure(action, status, item_reason(result)))
        return resend
