"""Which stage of the worker is failing, since when and why; and background tasks that restart.

Why: a background task that raised used to stop silently (or stop the app) while `newsmon up`
looked healthy. Every stage and task now reports here: `ok` after it made progress, `failing`
(since the first failure in a row, with the last error) while it cannot. The worker serves this
as `/health` and on the live page, and `newsmon up` stops with a non-zero exit code when a
stage stays failing past `stage_failure_limit_seconds`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from newsmon.core.times import iso_from_epoch
from newsmon.log import kv
from newsmon.retry import RetryPolicy, describe, retry

log = logging.getLogger(__name__)
TASK_RESTART = RetryPolicy(first=1.0, cap=30.0, transient=lambda exc: True)  # for ever: a task always comes back


@dataclass
class StageState:
    status: str = "starting"  # starting | ok | failing
    since: float = 0.0  # when the current status began (epoch seconds)
    error: str = ""  # the last error while failing
    failures: int = 0  # failures in a row


class Health:
    """The status of every stage and task of one worker process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.stages: dict[str, StageState] = {}

    def expect(self, stage: str) -> None:
        """Name a stage before it first reports, so /health lists it as starting."""
        self.stages.setdefault(stage, StageState(since=self.clock()))

    def ok(self, stage: str) -> None:
        state = self.stages.setdefault(stage, StageState())
        if state.status != "ok":
            state.status, state.since, state.error, state.failures = "ok", self.clock(), "", 0

    def failing(self, stage: str, exc: BaseException | str) -> None:
        state = self.stages.setdefault(stage, StageState())
        if state.status != "failing":
            state.status, state.since = "failing", self.clock()
        state.error = exc if isinstance(exc, str) else describe(exc)
        state.failures += 1

    def snapshot(self) -> dict[str, Any]:
        """{"status": ok | failing, "stages": {name: {status, since, error, failures}}}: failing while any stage is."""
        stages = {name: {"status": s.status, "since": iso_from_epoch(s.since) if s.since else "",
                         "error": s.error, "failures": s.failures} for name, s in sorted(self.stages.items())}
        failing = any(s["status"] == "failing" for s in stages.values())
        return {"status": "failing" if failing else "ok", "stages": stages}


async def supervise(health: Health, name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background task; when it raises, log one line, mark it failing, back off, restart it.

    A task that returns is done (the index set-up). Cancellation (worker shutdown) ends it.
    """
    health.expect(name)

    def restarting(exc: Exception, failures: int) -> None:
        health.failing(name, exc)

    await retry(TASK_RESTART, run, what=f"task {name} failed, restarting", on_retry=restarting)
    health.ok(name)
    log.info(kv(event="task-done", task=name))

