"""Send bulk requests with bounded chunks; retry what heals, split down what does not.

Elasticsearch answers a bulk request in two ways that need different handling: the whole
request can fail, or it succeeds with per-item statuses. Transient failures (connection
refused, timeout, 429, 5xx, per request or per item) are resent under one bounded
`ES_BULK_RETRY` budget, whose exhaustion raises `IndexingUnavailable` (the caller does not
commit and tries again later). Permanent ones never heal by resending: a per-item 4xx is
final for that document; a whole request refused with 400 or 413 is split in halves until
the refusing documents stand alone, so only they fail; a request refused with 401/403
(credentials, privileges) fails every document in it. Either way the caller gets each
failing document with its reason, for the dead-letter topic, and the partition moves on.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from elasticsearch import ApiError, Elasticsearch

from newsmon.es import IndexingUnavailable
from newsmon.log import kv
from newsmon.retry import RetriesExhausted, RetryPolicy, Transient, retry_sync, transient_status

log = logging.getLogger(__name__)

ES_BULK_RETRY = RetryPolicy(first=0.5, cap=30.0, attempts=7, jitter=0.5)  # six resends per chunk
SPLIT_STATUSES = frozenset({400, 413})  # refusals one document of the request can cause


class ItemsBusy(Transient):
    """Some items of a bulk request were answered 429/5xx: resend just those."""


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
    """Sends chunks through `client.bulk`, resending what is transient, splitting what is refused."""

    def __init__(
        self,
        client: Elasticsearch,
        policy: RetryPolicy = ES_BULK_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client.options(max_retries=0)  # this class owns retries and backoff
        self.policy = policy
        self.sleep = sleep

    def send(self, chunk: list[Action]) -> BulkOutcome:
        outcome = BulkOutcome()
        self._deliver(chunk, outcome)
        return outcome

    def _deliver(self, chunk: list[Action], outcome: BulkOutcome) -> None:
        pending = chunk

        def attempt() -> None:
            nonlocal pending
            pending = self._attempt(pending, outcome)
            if pending:
                raise ItemsBusy(f"{len(pending)} operations answered 429/5xx")

        def count(exc: Exception, failures: int) -> None:
            outcome.retries += 1

        try:
            retry_sync(self.policy, attempt, what="Elasticsearch bulk request failed", sleep=self.sleep, on_retry=count)
        except RetriesExhausted as exc:
            raise IndexingUnavailable(f"{len(pending)} bulk operations still failing: {exc}") from exc
        except ApiError as exc:  # the whole request refused for good
            self._refused(pending, exc, outcome)

    def _refused(self, pending: list[Action], exc: ApiError, outcome: BulkOutcome) -> None:
        status = exc.meta.status
        if len(pending) > 1 and status in SPLIT_STATUSES:
            half = len(pending) // 2
            log.warning(kv(event="es-bulk-split", status=status, docs=len(pending)))
            self._deliver(pending[:half], outcome)
            self._deliver(pending[half:], outcome)
            return
        reason = f"bulk request refused: HTTP {status}: {exc.message}"
        outcome.failures.extend(Failure(action, status, reason) for action in pending)

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
            if transient_status(status):
                resend.append(action)
            else:
                outcome.failures.append(Failure(action, status, item_reason(result)))
        return resend
