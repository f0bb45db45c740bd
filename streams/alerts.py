"""Stage 4: alerts on alerts.<topic-id>, once per event (story) and topic, a follow-up when
the event crosses a step (settings.alert_outlet_steps outlets, a new language), plus
breaking-volume alerts.

news.articles is keyed by story id, so every report and copy of an event reaches the same
partition and the table that remembers which stories were already alerted. Per-topic volume events
go through the single-partition news.volume topic to the breaking-volume detector.

Story alerts are sent exactly once across worker crashes without Kafka transactions: the
table entry is written only after the broker acknowledged the alert (a crash in between
re-sends it, nothing is lost), and on every new partition assignment the stage first reads
the alert topics back (streams/alert_log.py), so an alert whose table entry a crash lost
is not sent again.
"""
from __future__ import annotations

import asyncio
import logging
import time

import faust
import msgspec
import orjson
from newsmon.schemas.article import Alert, Article, Story, decode_batch, encode
from newsmon.streams.alert_log import AlertLog
from newsmon.streams.health import Health
from newsmon.streams.topics import RECORD_ERRORS, Topics, dead_letter, json_table

from newsmon.core.alerting import AlertTimeError, BreakingVolume, StoryAlerter, story_of
from newsmon.core.times import now_iso
from newsmon.log import kv
from newsmon.retry import describe
from newsmon.settings import Settings

log = logging.getLogger(__name__)
EXPIRE_EVERY_SECONDS = 600.0
STAGE = "alerts"
VOLUME_STAGE = "breaking-volume"


def story_alert(article: Article, topic: str, story: Story | None) -> Alert:
    """The first alert of an event for a topic: its first article here, with the outlets and
    languages the story has so far."""
    rule = next((r for r in article.matched_rules if r.startswith(f"{topic}:")), "")
    return Alert(
        kind="story", topic=topic, title=article.title, url=article.url, source=article.source,
        published=article.published, topics=article.topics, story_id=story_of(article), cluster_id=article.cluster_id,
        source_count=story.source_count if story else 1, languages=story.languages if story else [article.language],
        matched_rule=rule, article_id=article.id, created=now_iso(),
    )


def update_alert(topic: str, story: Story, step: str) -> Alert:
    """A follow-up: the event crossed `step` (more outlets, a new language)."""
    return Alert(
        kind="story-update", topic=topic, step=step, title=story.titles.get(step.removeprefix("language:"), story.title),
        url=story.url, source=story.source, published=story.last_seen, topics=story.topics, story_id=story.story_id,
        source_count=story.source_count, languages=story.languages, created=now_iso(),
    )


async def send_now(topic: faust.TopicT, key: bytes, value: bytes) -> asyncio.Future:
    """Send now (never held back until the offset commit); await the result for the broker's ack."""
    return await topic.send(key=key, value=value, force=True)


def quieted(article: Article) -> Article:
    """Old news alerts nobody unless the replay asked: such articles count as replayed."""
    return msgspec.structs.replace(article, replay=article.replay and not article.replay_alerts)


def volume_events(articles: list[Article], plans: list[list[tuple[str, bool]]]) -> list[list]:
    """[topic, published, replayed] per topic of each story's first article: what the
    breaking-volume detector counts."""
    return [[topic, article.published, article.replay]
            for article, decisions in zip(articles, plans) if not article.is_duplicate
            for topic, _ in decisions]


def plannable(articles: list[Article], alerter: StoryAlerter) -> tuple[list[Article], list[tuple[Article, str]]]:
    """The articles the alerter can plan, and the others with why (planning writes nothing)."""
    usable, refused = [], []
    for article in articles:
        try:
            alerter.plan(article)
        except RECORD_ERRORS as exc:
            refused.append((article, describe(exc)))
            continue
        usable.append(article)
    return usable, refused


def register(app: faust.App, topics: Topics, settings: Settings, health: Health) -> None:
    health.expect(STAGE)
    health.expect(VOLUME_STAGE)
    alerted = json_table(app, "alerts-stories")
    buckets = json_table(app, "alerts-volume", partitions=1)
    alerter = StoryAlerter(alerted, window_days=settings.dedupe_window_days,
                           outlet_steps=settings.alert_outlet_steps, language_steps=settings.alert_language_steps)
    expired_at: dict[int, float] = {}  # per partition of news.articles: when its entries were last expired
    volume = BreakingVolume(
        buckets,
        window_minutes=settings.breaking_window_minutes,
        factor=settings.breaking_factor,
        min_articles=settings.breaking_min_articles,
    )

    sent = AlertLog(settings, [settings.alerts_topic(t) for t in topics.alerts])

    @app.agent(topics.articles, name="newsmon.alert-stories")
    async def alert_stories(stream: faust.StreamT) -> None:
        async for payload in stream:
            await sent.recall(app.consumer_generation_id, alerter.remember)  # alerts a crash kept but the table lost
            try:
                batch = decode_batch(payload)
            except RECORD_ERRORS as exc:
                await dead_letter(topics, STAGE, f"undecodable batch: {describe(exc)}", payload)
                continue
            articles, refused = plannable([quieted(article) for article in batch.articles], alerter)
            for article, reason in refused:
                await dead_letter(topics, STAGE, f"unplannable article {article.id}: {reason}", encode(article))
            plans = alerter.plan_all(articles)  # [] for a re-delivery
            stories = {story.story_id: story for story in batch.stories}
            alerts = [story_alert(article, topic, stories.get(story_of(article))) for article, decisions in zip(articles, plans)
                      for topic, is_new in decisions if is_new and topic in topics.alerts]
            updates = [(topic, story, step) for topic, story, step in alerter.updates(batch.stories, articles)
                       if topic in topics.alerts]
            alerts += [update_alert(topic, story, step) for topic, story, step in updates]
            deliveries = [await send_now(topics.alerts[a.topic], a.story_id.encode(), encode(a)) for a in alerts]
            await asyncio.gather(*deliveries)  # acknowledged by the broker ...
            partition = stream.current_event.message.partition
            for article in articles:
                alerter.record(article, shard=partition)  # ... only then: the table never says "alerted" for an alert the broker lacks
            for alert in alerts:
                if alert.story_id in stories:  # what the story reached counts as announced
                    alerter.record_steps(alert.topic, stories[alert.story_id], shard=partition)
                log.info(kv(event="alert", kind=alert.kind, topic=alert.topic, story=alert.story_id, step=alert.step,
                            title=alert.title[:80]))
            if time.monotonic() - expired_at.get(partition, -EXPIRE_EVERY_SECONDS) >= EXPIRE_EVERY_SECONDS:
                expired_at[partition] = time.monotonic()
                if dropped := alerter.expire(shard=partition):
                    log.info(kv(event="alerts-expired", partition=partition, entries=dropped))
            if counted := volume_events(articles, plans):
                await topics.volume.send(value=orjson.dumps(counted))
            health.ok(STAGE)

    @app.agent(topics.volume, name="newsmon.breaking-volume")
    async def watch_volume(stream: faust.StreamT) -> None:
        async for payload in stream:
            try:
                events = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                await dead_letter(topics, VOLUME_STAGE, f"undecodable volume events: {exc}", payload)
                continue
            for event in events:
                try:
                    topic, published, quiet = event
                    burst = volume.observe(topic, published, replay=quiet)
                except (AlertTimeError, *RECORD_ERRORS) as exc:
                    await dead_letter(topics, VOLUME_STAGE, f"unusable volume event: {describe(exc)}", orjson.dumps(event))
                    continue
                if burst is not None and topic in topics.alerts:
                    alert = Alert(kind="breaking-volume", topic=topic, rate=burst.rate, baseline=burst.baseline, created=now_iso())
                    await topics.alerts[topic].send(key=topic.encode(), value=encode(alert))
                    log.info(kv(event="breaking-volume", topic=topic, rate=burst.rate, baseline=burst.baseline))
            health.ok(VOLUME_STAGE)
