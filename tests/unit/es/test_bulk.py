"""Chunking, the retry budget and the splitting of refused requests in BulkSender, against a
scripted stand-in client (pure logic)."""
from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from newsmon.es import IndexingUnavailable
from newsmon.es.bulk import Action, BulkSender, chunks, item_reason
from newsmon.retry import RetryPolicy


def action(n: int, size: int = 10) -> Action:
    return Action(b"x" * (size - 1) + b"\n", n)


class ScriptedClient:
    """Answers bulk calls from a script: a response dict, or an exception to raise."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.calls: list[list[bytes]] = []

    def options(self, **_: object) -> "ScriptedClient":
        return self

    def bulk(self, operations: list[bytes]) -> dict:
        self.calls.append(operations)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def items(*statuses: int) -> dict:
    def item(status: int) -> dict:
        result = {"status": status}
        if status >= 300:
            result["error"] = {"type": "mapper_parsing_exception" if status == 400 else "es_rejected_execution_exception",
                               "reason": "nope"}
        return {"index": result}

    return {"errors": any(s >= 300 for s in statuses), "items": [item(s) for s in statuses]}


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("busy", meta, {"error": "busy"})


def sender(client: ScriptedClient, sleeps: list[float], retries: int = 3) -> BulkSender:
    return BulkSender(client, RetryPolicy(first=1.0, cap=4.0, attempts=retries + 1), sleep=sleeps.append)


def test_chunks_respect_count_and_bytes() -> None:
    assert [len(c) for c in chunks((action(i) for i in range(7)), max_docs=3, max_bytes=10_000)] == [3, 3, 1]
    assert [len(c) for c in chunks((action(i) for i in range(7)), max_docs=100, max_bytes=25)] == [2, 2, 2, 1]
    assert [len(c) for c in chunks([action(0, size=50), action(1)], max_docs=100, max_bytes=25)] == [1, 1]


def test_only_retryable_items_are_resent() -> None:
    client = ScriptedClient(items(201, 429, 400, 503), items(201, 201))
    sleeps: list[float] = []
    outcome = sender(client, sleeps).send([action(i) for i in range(4)])
    assert [len(call) for call in client.calls] == [4, 2]
    assert [f.action.record for f in outcome.failures] == [2]
    assert outcome.failures[0].status == 400 and "mapper_parsing_exception" in outcome.failures[0].reason
    assert outcome.retries == 1 and sleeps == [1.0]


def test_connection_errors_and_busy_answers_are_retried_with_backoff() -> None:
    client = ScriptedClient(ConnectionError("refused"), api_error(429), api_error(503), items(201))
    sleeps: list[float] = []
    outcome = sender(client, sleeps).send([action(0)])
    assert outcome.retries == 3 and outcome.failures == []
    assert sleeps == [1.0, 2.0, 4.0]


def test_exhausted_budget_raises_indexing_unavailable() -> None:
    client = ScriptedClient(*[ConnectionError("refused")] * 4)
    with pytest.raises(IndexingUnavailable, match="4 tries failed"):
        sender(client, []).send([action(0)])
    assert len(client.calls) == 4


class RefusesRecords(ScriptedClient):
    """Refuses with `status` any bulk request that holds one of the `bad` records' lines."""

    def __init__(self, status: int, bad: set[bytes]) -> None:
        super().__init__()
        self.status, self.bad = status, bad
        self.accepted: list[bytes] = []

    def bulk(self, operations: list[bytes]) -> dict:
        self.calls.append(operations)
        if self.bad & set(operations):
            raise api_error(self.status)
        self.accepted += operations
        return items(*[201] * len(operations))


@pytest.mark.parametrize("status", [400, 413])
def test_a_refused_request_is_split_down_to_the_refusing_documents(status: int) -> None:
    actions = [Action(f"doc {n}\n".encode(), n) for n in range(10)]
    client = RefusesRecords(status, {b"doc 3\n", b"doc 8\n"})
    sleeps: list[float] = []
    outcome = sender(client, sleeps).send(actions)
    assert [f.action.record for f in outcome.failures] == [3, 8]
    assert all(f.status == status and f"HTTP {status}" in f.reason for f in outcome.failures)
    assert sorted(client.accepted) == sorted(a.lines for a in actions if a.record not in (3, 8))
    assert sleeps == [], "a permanent refusal is never waited on"


def test_a_request_refused_for_credentials_fails_its_documents_without_retrying() -> None:
    client = ScriptedClient(api_error(401))
    outcome = sender(client, []).send([action(0), action(1)])
    assert len(client.calls) == 1
    assert [(f.action.record, f.status) for f in outcome.failures] == [(0, 401), (1, 401)]


def test_item_reason_includes_the_cause() -> None:
    result = {"error": {"type": "document_parsing_exception", "reason": "bad date", "caused_by": {"reason": "x"}}}
    assert item_reason(result) == "document_parsing_exception: bad date (x)"
