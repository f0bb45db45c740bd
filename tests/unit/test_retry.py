"""The one retry helper: waits, budget, stop, and which errors count as transient (pure logic)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from newsmon.retry import (
    RetriesExhausted,
    RetryPolicy,
    RetryStopped,
    Transient,
    is_transient,
    retry,
    retry_sync,
    transient_status,
)


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("answer", meta, {"error": "answer"})


def status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/hook")
    return httpx.HTTPStatusError("answer", request=request, response=httpx.Response(status, request=request))


class Flaky:
    """Fails with `errors` in turn, then returns "done"; counts the calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_waits_grow_by_the_factor_up_to_the_cap() -> None:
    policy = RetryPolicy(first=0.5, factor=3.0, cap=10.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10.0, 10.0]


def test_jitter_draws_each_wait_between_half_and_full() -> None:
    policy = RetryPolicy(first=2.0, cap=8.0, jitter=0.5)
    assert policy.delay(2, draw=lambda: 0.0) == 4.0
    assert policy.delay(2, draw=lambda: 1.0) == 2.0


@pytest.mark.parametrize("exc,expected", [
    (KafkaConnectionError(), True),
    (TopicAuthorizationFailedError(), False),
    (api_error(503), True), (api_error(429), True), (api_error(400), False), (api_error(401), False), (api_error(413), False),
    (status_error(502), True), (status_error(408), True), (status_error(404), False),
    (httpx.ReadTimeout("slow"), True), (httpx.ConnectError("refused"), True),
    (ConnectionRefusedError(), True), (TimeoutError(), True),
    (Transient("busy"), True),
    (ValueError("not a URL"), False), (KeyError("id"), False),
])
def test_transient_and_permanent_errors_are_told_apart(exc: BaseException, expected: bool) -> None:
    assert is_transient(exc) is expected


def test_statuses_worth_another_try() -> None:
    assert [s for s in (None, 200, 301, 400, 404, 408, 425, 429, 500, 503) if transient_status(s)] == [None, 408, 425, 429, 500, 503]


def test_transient_failures_are_retried_with_the_policy_waits() -> None:
    sleeps: list[float] = []
    call = Flaky(ConnectionRefusedError(), TimeoutError(), api_error(503))
    assert retry_sync(RetryPolicy(first=1.0, cap=3.0), call, what="test", sleep=sleeps.append) == "done"
    assert call.calls == 4 and sleeps == [1.0, 2.0, 3.0]


def test_a_permanent_error_is_raised_at_once() -> None:
    sleeps: list[float] = []
    call = Flaky(ConnectionRefusedError(), api_error(400))
    with pytest.raises(ApiError):
        retry_sync(RetryPolicy(), call, what="test", sleep=sleeps.append)
    assert call.calls == 2 and sleeps == [1.0]


def test_a_bounded_policy_gives_up_after_its_attempts() -> None:
    sleeps: list[float] = []
    call = Flaky(*(TimeoutError() for _ in range(5)))
    with pytest.raises(RetriesExhausted) as raised:
        retry_sync(RetryPolicy(first=0.1, attempts=3), call, what="test", sleep=sleeps.append)
    assert call.calls == 3 and len(sleeps) == 2 and isinstance(raised.value.__cause__, TimeoutError)


def test_a_policy_may_name_its_own_transient_errors() -> None:
    call = Flaky(ValueError("odd"))
    policy = RetryPolicy(first=0.0, transient=lambda exc: isinstance(exc, ValueError))
    assert retry_sync(policy, call, what="test", sleep=lambda _: None) == "done"


def test_async_retry_logs_one_line_per_retry(caplog: pytest.LogCaptureFixture) -> None:
    call = Flaky(ConnectionRefusedError("refused"), ConnectionRefusedError("refused"))

    async def attempt() -> str:
        return call()

    seen: list[int] = []
    result = asyncio.run(retry(RetryPolicy(first=0.01), attempt, what="broker unreachable",
                               on_retry=lambda exc, n: seen.append(n), bootstrap="127.0.0.1:1"))
    lines = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert result == "done" and seen == [1, 2] and len(lines) == 2
    assert lines[0].startswith("broker unreachable, retrying in 0.01s attempt=1") and "bootstrap=127.0.0.1:1" in lines[0]


def test_setting_stop_ends_a_long_wait_at_once() -> None:
    async def scenario() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, stop.set)
        started = loop.time()

        async def down() -> None:
            raise ConnectionRefusedError("down")

        with pytest.raises(RetryStopped):
            await retry(RetryPolicy(first=60.0), down, what="waiting", stop=stop)
        return loop.time() - started

    assert asyncio.run(scenario()) < 2.0
