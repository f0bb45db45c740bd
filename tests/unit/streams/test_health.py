"""Supervised tasks restart after they raise, and /health says which stage fails since when."""
from __future__ import annotations

import asyncio

from newsmon.streams import health as health_module
from newsmon.streams.health import Health, supervise

from newsmon.retry import RetryPolicy


def test_a_task_that_raises_is_marked_failing_and_restarted_until_it_succeeds(monkeypatch) -> None:
    monkeypatch.setattr(health_module, "TASK_RESTART", RetryPolicy(first=0.01, transient=lambda exc: True))
    health, seen = Health(clock=lambda: 1_760_000_000.0), []

    async def flaky() -> None:
        seen.append(dict(health.snapshot()["stages"]["index-setup"]))
        if len(seen) < 3:
            raise ConnectionRefusedError("down")

    asyncio.run(supervise(health, "index-setup", flaky))
    assert [s["status"] for s in seen] == ["starting", "failing", "failing"]
    assert seen[2]["failures"] == 2 and "ConnectionRefusedError" in seen[2]["error"]
    assert health.snapshot() == {"status": "ok", "stages": {"index-setup": {
        "status": "ok", "since": "2025-10-09T08:53:20Z", "error": "", "failures": 0}}}


def test_one_failing_stage_makes_the_whole_worker_failing() -> None:
    health = Health(clock=lambda: 0.5)
    health.ok("tagging")
    health.failing("indexing", "HTTP 401")
    snapshot = health.snapshot()
    assert snapshot["status"] == "failing" and snapshot["stages"]["indexing"]["error"] == "HTTP 401"
