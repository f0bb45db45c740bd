"""The live page on the worker's own (Faust/aiohttp) web server, at http://web_host:web_port/.

Routes: `/` the page, `/static/*` its hand-written script and style, `/live/snapshot.json`
the current data, `/live/events` the same data pushed as server-sent events, `/health` the
worker's stages (ok / failing since, last error; HTTP 503 while one fails). Nothing else:
Faust's own views are off (streams/app.py), and the server binds web_host (127.0.0.1). While someone
watches, a task re-reads Elasticsearch every `live_refresh_seconds` (and the worker group's
lag every few seconds); another task follows the tail of the alert topics without a
consumer group, so the page never takes alerts from anyone and shows the latest ones again
after a restart.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import faust
import orjson
from aiohttp import web as aioweb
from aiokafka.errors import KafkaError
from newsmon.schemas.article import ALERT_DECODER
from newsmon.streams.health import Health, supervise
from newsmon.streams.topics import RECORD_ERRORS, Topics

from newsmon.core.times import now_iso
from newsmon.es.client import make_client
from newsmon.kafka import TopicTail
from newsmon.log import kv
from newsmon.retry import describe
from newsmon.settings import Settings
from newsmon.stack import consumer_lag
from newsmon.web import STATIC_DIR
from newsmon.web.recent import RecentAlerts
from newsmon.web.snapshot import LiveDataError, read_indices

log = logging.getLogger(__name__)
ALERTS_KEPT = 50
LAG_EVERY_SECONDS = 5.0
KEEPALIVE_SECONDS = 15.0
REFRESH_TASK = "live-page"
ALERTS_TASK = "live-alerts"
SECURITY_HEADERS = {
    # The page loads nothing from elsewhere and runs no inline script: injected markup could not run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class LiveFeed:
    """The page's current data, a version number, and how many pages are watching."""

    def __init__(self) -> None:
        self.alerts = RecentAlerts(ALERTS_KEPT)
        self.data: dict[str, Any] = {"status": "starting", "error": "", "alerts": []}
        self.version = 0
        self.viewers = 0
        self.watched = asyncio.Event()
        self.closing = False
        self._changed: asyncio.Condition | None = None

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:  # bound to the worker's loop on first use, not at import
            self._changed = asyncio.Condition()
        return self._changed

    async def publish(self, **parts: Any) -> None:
        self.data.update(parts, alerts=self.alerts.latest(), generated=now_iso())
        self.version += 1
        async with self.changed:
            self.changed.notify_all()

    async def newer_than(self, version: int, timeout: float) -> bool:
        """Wait until the data is newer than `version` (True) or `timeout` passed (False)."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.version > version or self.closing), timeout)
            except asyncio.TimeoutError:
                return False
        return self.version > version

    def payload(self) -> bytes:
        return orjson.dumps(self.data)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        self.viewers += 1
        self.watched.set()
        try:
            yield
        finally:
            self.viewers -= 1
            if self.viewers == 0:
                self.watched.clear()

    async def close(self) -> None:
        self.closing = True
        async with self.changed:
            self.changed.notify_all()


async def refresh(feed: LiveFeed, settings: Settings, topics: Topics, health: Health) -> None:
    """Re-read Elasticsearch (and the lag) while anyone watches; keep the last good data on errors.

    A failing worker stage makes the page "degraded", its status line naming the stage."""
    client = make_client(settings)
    topic_ids = list(topics.alerts)
    inputs = [t.get_topic_name() for t in (topics.raw, topics.dedupe, topics.articles)]
    lag, lag_read, failures = None, 0.0, 0
    while True:
        await feed.watched.wait()
        if time.monotonic() - lag_read > LAG_EVERY_SECONDS:
            lag, lag_read = await read_lag(settings, inputs), time.monotonic()
        stages = stage_status(health)
        try:
            indices = await asyncio.to_thread(read_indices, client, settings, topic_ids)
        except LiveDataError as exc:
            failures += 1
            log.warning(kv(event="live-data-unavailable", failures=failures, error=exc))
            await feed.publish(status="degraded", error="; ".join(filter(None, (str(exc), stages["failing"]))),
                               lag=lag, stages=stages["stages"])
        else:
            await feed.publish(status="degraded" if stages["failing"] else "live", error=stages["failing"],
                               lag=lag, stages=stages["stages"], **indices)
        health.ok(REFRESH_TASK)
        await asyncio.sleep(settings.live_refresh_seconds)


async def read_lag(settings: Settings, inputs: list[str]) -> int | None:
    """The worker group's lag, or None (shown as "?") while the broker cannot say."""
    try:
        return await consumer_lag(settings, inputs)
    except KafkaError as exc:
        log.warning(kv(event="live-lag-unavailable", error=exc))
        return None


async def tail_alerts(feed: LiveFeed, settings: Settings, topics: Topics, health: Health) -> None:
    """Follow the alert topics from the last ALERTS_KEPT messages of each partition, no group."""
    async with TopicTail(settings, [settings.alerts_topic(t) for t in topics.alerts]) as tail:
        await tail.seek_back(ALERTS_KEPT)
        health.ok(ALERTS_TASK)
        async for batch in tail.follow(timeout_ms=1000):
            added = False
            for record in batch:
                try:
                    added = feed.alerts.add(ALERT_DECODER.decode(record.value)) or added
                except RECORD_ERRORS as exc:  # one alert the page cannot show costs only itself
                    log.warning(kv(event="live-alert-unreadable", topic=record.topic, offset=record.offset, error=describe(exc)))
            if added:
                await feed.publish()


def stage_status(health: Health) -> dict[str, Any]:
    """What the page's status line says about the worker's stages: the failing ones, by name."""
    failing = {name: s for name, s in health.snapshot()["stages"].items() if s["status"] == "failing"}
    return {"stages": health.snapshot()["stages"],
            "failing": "; ".join(f"{name} failing since {s['since']}: {s['error']}" for name, s in failing.items())}


def static_file(name: str, content_type: str) -> aioweb.Response:
    return aioweb.Response(body=(STATIC_DIR / name).read_bytes(), content_type=content_type,
                           headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def register(app: faust.App, topics: Topics, settings: Settings, health: Health) -> None:
    feed = LiveFeed()

    @app.task
    async def live_refresh() -> None:
        await supervise(health, REFRESH_TASK, lambda: refresh(feed, settings, topics, health))

    @app.task
    async def live_alerts() -> None:
        await supervise(health, ALERTS_TASK, lambda: tail_alerts(feed, settings, topics, health))

    @app.page("/health", name="health")
    class HealthView(faust.web.View):
        """Per stage: ok / failing since when, with the last error; 503 while any stage fails."""

        async def get(self, request: faust.web.Request) -> aioweb.StreamResponse:
            snapshot = health.snapshot()
            return aioweb.Response(body=orjson.dumps(snapshot), content_type="application/json", headers=SECURITY_HEADERS,
                                   status=503 if snapshot["status"] == "failing" else 200)

    @app.on_before_shutdown.connect
    async def end_streams(sender: faust.App, **_: Any) -> None:
        await feed.close()  # open event streams end, so the web server stops at once

    @app.page("/", name="live-page")
    class Page(faust.web.View):
        async def get(self, request: faust.web.Request) -> aioweb.StreamResponse:
            return static_file("index.html", "text/html")

    @app.page("/static/{name}", name="live-static")
    class Static(faust.web.View):
        TYPES = {"live.js": "text/javascript", "live.css": "text/css", "favicon.svg": "image/svg+xml"}

        async def get(self, request: faust.web.Request, name: str) -> aioweb.StreamResponse:
            if name not in self.TYPES:
                raise aioweb.HTTPNotFound()
            return static_file(name, self.TYPES[name])

    @app.page("/live/snapshot.json", name="live-snapshot")
    class Snapshot(faust.web.View):
        async def get(self, request: faust.web.Request) -> aioweb.StreamResponse:
            async with feed.watching():
                if feed.version == 0 or feed.data["status"] == "starting":
                    await feed.newer_than(feed.version, settings.live_refresh_seconds + 5)
            return aioweb.Response(body=feed.payload(), content_type="application/json", headers=SECURITY_HEADERS)

    @app.page("/live/events", name="live-events")
    class Events(faust.web.View):
        async def get(self, request: faust.web.Request) -> aioweb.StreamResponse:
            response = aioweb.StreamResponse(headers={
                **SECURITY_HEADERS, "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
            })
            await response.prepare(request)
            version = 0
            async with feed.watching():
                try:
                    await response.write(b"retry: 2000\n\n")
                    while not feed.closing:
                        if feed.version > version:
                            version = feed.version
                            await response.write(b"data: " + feed.payload() + b"\n\n")
                        elif not await feed.newer_than(version, KEEPALIVE_SECONDS):
                            await response.write(b": keepalive\n\n")
                except ConnectionResetError:
                    pass  # the page went away; nothing to clean up beyond `watching`
            return response
