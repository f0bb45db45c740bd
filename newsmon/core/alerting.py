"""When to alert: once per event (story) per topic, a follow-up when the event crosses a
step (more outlets, a new language), and once per burst of a topic's volume.

Pure decision logic so the stream agents and `newsmon process` share it and it can be tested
without Kafka. All state lives in a plain MutableMapping passed in (a dict in tests, a
changelog-backed Faust table in the worker), with JSON-friendly keys and values, and each
article costs O(1) writes. Decisions use only the event time handed in, never the wall clock, so
a replay of old news gives the same decisions every time and can be told apart from live news;
the processing clock only dates state entries so that `StoryAlerter.expire` can bound them.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass

from newsmon.core.times import TimeFormatError, epoch_from_iso
from newsmon.schemas.article import Alert, Article, Story

DAY = 86400.0


class AlertTimeError(ValueError):
    """An event time that cannot be read (empty or not ISO 8601)."""


def event_seconds(when: str | float) -> float:
    """Epoch seconds from an ISO 8601 string (as on Article.published) or a number."""
    if isinstance(when, (int, float)):
        return float(when)
    try:
        return epoch_from_iso(when)
    except TimeFormatError as exc:
        raise AlertTimeError(str(exc)) from exc


class StoryAlerter:
    """One alert per (topic, story): the story is the event (`story_id`), so forty outlets'
    reports of one happening and all their copies alert once; later articles only bump the
    story's counter. A follow-up (`updates`) goes out only when the story crosses a step:
    `outlet_steps` outlets (the highest crossed, once) or a language it had not been reported in.

    State keys: "seen:<article id>" -> [when it was counted, shard] (re-delivery guard),
    "story:<topic>:<story id>" -> [articles of that story carrying that topic, when the last
    one was counted, shard], and "steps:<topic>:<story id>" -> [steps announced, when, shard]
    ("language:en", "outlets:10": the first alert's languages and outlets count as announced);
    `expire` drops what the window left behind. Replayed articles (Article.replay) are
    ignored -- no alert, no state -- unless `alert_replays` is set, e.g. to backtest alerts.

    Without a transaction, the alert and the state write can be split by a crash. Two rules
    keep that from repeating or losing an alert: the worker writes the state (`record`) only
    after the broker acknowledged the alerts `plan` asked for, and after a restart it
    `remember`s every story alert found on the alert topics, so an article re-processed with
    state that missed its write still finds its story alerted.
    """

    def __init__(
        self,
        state: MutableMapping[str, list[int]],
        *,
        alert_replays: bool = False,
        window_days: float = 30.0,
        clock: Callable[[], float] = time.time,
        outlet_steps: Sequence[int] = (10, 25),
        language_steps: bool = True,
    ) -> None:
        self.state = state
        self.alert_replays = alert_replays
        self.window_seconds = window_days * DAY
        self.clock = clock
        self.outlet_steps = tuple(sorted(outlet_steps))
        self.language_steps = language_steps
        self.alerted: set[tuple[str, str]] = set()  # (topic, story) read back from the alert topics
        self.announced: dict[tuple[str, str], set[str]] = {}  # (topic, story) -> steps read back from them

    def decide(self, article: Article) -> list[tuple[str, bool]]:
        """`plan` and `record` in one step, for callers whose alerts cannot be half-sent."""
        decisions = self.plan(article)
        self.record(article)
        return decisions

    def plan(self, article: Article) -> list[tuple[str, bool]]:
        """(topic, is_new) per topic of the article; is_new means "send a story alert". Writes nothing.

        A re-delivered article id returns [].
        """
        if not self._counts(article):
            return []
        story = story_of(article)
        return [(topic, self.copies(topic, story) == 0 and (topic, story) not in self.alerted) for topic in article.topics]

    def plan_all(self, articles: list[Article]) -> list[list[tuple[str, bool]]]:
        """`plan` for each of a batch, as if each were recorded before the next was planned:
        a story new to the state is new for its first article in the batch only."""
        planned: set[tuple[str, str]] = set()
        ids: set[str] = set()
        plans = []
        for article in articles:
            decisions = [] if article.id in ids else self.plan(article)
            ids.add(article.id)
            story = story_of(article)
            plans.append([(topic, is_new and (topic, story) not in planned) for topic, is_new in decisions])
            planned.update((topic, story) for topic, _ in decisions)
        return plans

    def record(self, article: Article, shard: int = 0) -> None:
        """Count the article toward its story: the re-delivery guard and one counter per topic,
        each dated and tagged with the `shard` (the worker's partition) that wrote it."""
        if not self._counts(article):
            return
        now = int(self.clock())
        self.state[f"seen:{article.id}"] = [now, shard]
        story = story_of(article)
        for topic in article.topics:
            self.state[f"story:{topic}:{story}"] = [self.copies(topic, story) + 1, now, shard]

    def remember(self, alert: Alert) -> None:
        """Note a story alert or follow-up that is already on its alert topic (breaking-volume
        alerts are not stories): neither is sent again, whatever the state lost."""
        key = (alert.topic, alert.story_id or alert.cluster_id or alert.article_id)
        if alert.kind == "story":
            self.alerted.add(key)
            self.announced.setdefault(key, set()).update(self._reached(alert.languages, alert.source_count))
        elif alert.kind == "story-update":
            self.announced.setdefault(key, set()).add(alert.step)

    def updates(self, stories: Iterable[Story], articles: Iterable[Article]) -> list[tuple[str, Story, str]]:
        """(topic, story, step) follow-ups due: for each story already alerted for a topic and
        counting one of `articles`, the steps it crossed since (a new language each; of the
        outlet steps, the highest crossed). Writes nothing: `record_steps` does, after the ack."""
        active = {story_of(article) for article in articles if self._counts(article)}
        due = []
        for story in stories:
            if story.story_id not in active or story.merged_into:
                continue
            for topic in story.topics:
                if self.copies(topic, story.story_id) or (topic, story.story_id) in self.alerted:
                    due += [(topic, story, step) for step in self._new_steps(story, self.steps(topic, story.story_id))]
        return due

    def record_steps(self, topic: str, story: Story, shard: int = 0) -> None:
        """Everything the story has reached counts as announced: after its first alert (the
        alert says how many outlets and languages) or after a follow-up was acknowledged."""
        steps = self.steps(topic, story.story_id) | self._reached(story.languages, story.source_count)
        self.state[f"steps:{topic}:{story.story_id}"] = [sorted(steps), int(self.clock()), shard]

    def steps(self, topic: str, story_id: str) -> set[str]:
        """The steps already announced for this story and topic."""
        value = self.state.get(f"steps:{topic}:{story_id}")
        return set(value[0] if value else ()) | self.announced.get((topic, story_id), set())

    def _reached(self, languages: Iterable[str], source_count: int) -> set[str]:
        reached = {f"outlets:{step}" for step in self.outlet_steps if source_count >= step}
        return reached | ({f"language:{language}" for language in languages} if self.language_steps else set())

    def _new_steps(self, story: Story, known: set[str]) -> list[str]:
        new = self._reached(story.languages, story.source_count) - known
        languages = sorted(step for step in new if step.startswith("language:"))
        outlets = [f"outlets:{step}" for step in self.outlet_steps if f"outlets:{step}" in new]
        return languages + outlets[-1:]

    def copies(self, topic: str, cluster_id: str) -> int:
        """How many distinct articles of this story carried this topic so far."""
        value = self.state.get(f"story:{topic}:{cluster_id}", 0)
        return value[0] if isinstance(value, list) else value

    def expire(self, shard: int | None = None) -> int:
        """Forget stories and articles not counted for `window_days` (the deduper's window: a
        later copy starts a new story anyway), so months of running keep the state bounded.

        With `shard`, only entries recorded under it: a Faust table logs every write, deletes
        included, to the changelog partition of the event being processed, so an entry must be
        deleted while processing an event of the partition that wrote it. Entries from before
        times were kept (bare numbers) are left alone. Returns how many entries went."""
        cutoff = self.clock() - self.window_seconds
        stale = [key for key, value in list(self.state.items())
                 if isinstance(value, list) and value[-2] < cutoff and shard in (None, value[-1])]
        for key in stale:
            del self.state[key]
        self.alerted -= {tuple(key.split(":", 2)[1:]) for key in stale if key.startswith("story:")}
        for key in stale:
            if key.startswith("steps:"):
                self.announced.pop(tuple(key.split(":", 2)[1:]), None)
        return len(stale)

    def _counts(self, article: Article) -> bool:
        if (article.replay and not self.alert_replays) or not article.topics:
            return False
        return f"seen:{article.id}" not in self.state


def story_of(article: Article) -> str:
    """The story (event) an article belongs to; its copy group, or itself, before events gave it one."""
    return article.story_id or article.cluster_id or article.id


@dataclass(frozen=True)
class Burst:
    topic: str
    window_start: float  # epoch seconds of the first bucket in the window
    rate: int  # articles in the window
    baseline: float  # mean articles per window over the preceding baseline period


class BreakingVolume:
    """Alert once when a topic's volume in the last window exceeds its usual rate.

    Counts go into fixed buckets ("<topic>:<bucket number>"); the window is the latest
    `window_minutes`, the baseline the mean per window over the `baseline_hours` before it.
    A burst alerts when rate >= min_articles and rate > factor * baseline; the topic is then
    quiet until an observation finds the rate back at or below factor * baseline. Buckets
    older than window + baseline are deleted as time moves on; a running total per topic
    ("<topic>:total") keeps each observation at O(1) writes (amortised) and O(window) reads.
    Events older than the kept span are ignored, so late or replayed old news cannot
    trigger an alert about the past.
    """

    def __init__(
        self,
        state: MutableMapping[str, int],
        *,
        bucket_minutes: int = 5,
        window_minutes: int = 60,
        baseline_hours: int = 24,
        factor: float = 3.0,
        min_articles: int = 5,
        alert_replays: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_minutes % bucket_minutes or (baseline_hours * 60) % window_minutes:
            raise ValueError("window must be a whole number of buckets, baseline of windows")
        self.state = state
        self.bucket_seconds = bucket_minutes * 60
        self.window = window_minutes // bucket_minutes
        self.span = self.window + baseline_hours * 60 // bucket_minutes
        self.baseline_windows = (self.span - self.window) / self.window
        self.factor = factor
        self.min_articles = min_articles
        self.alert_replays = alert_replays
        self.clock = clock

    def observe(self, topic: str, when: str | float, *, replay: bool = False) -> Burst | None:
        """Count one article of `topic` at event time `when`, capped at processing time (a feed
        whose clock runs ahead must not move the window past the present and hide real bursts);
        a Burst if this starts one."""
        if replay and not self.alert_replays:
            return None
        bucket = int(min(event_seconds(when), self.clock()) // self.bucket_seconds)
        last = self.state.get(f"{topic}:last")
        if last is not None and bucket <= last - self.span:
            return None  # older than anything we still keep
        if last is None or bucket > last:
            self._advance(topic, last, bucket)
            last = bucket
        self._add(topic, bucket, 1)
        return self._check(topic, last)

    def _advance(self, topic: str, last: int | None, bucket: int) -> None:
        if last is not None:
            for old in range(last - self.span + 1, min(bucket - self.span, last) + 1):
                count = self.state.pop(f"{topic}:{old}", 0)
                if count:
                    self._add_total(topic, -count)
        self.state[f"{topic}:last"] = bucket

    def _add(self, topic: str, bucket: int, n: int) -> None:
        key = f"{topic}:{bucket}"
        self.state[key] = self.state.get(key, 0) + n
        self._add_total(topic, n)

    def _add_total(self, topic: str, n: int) -> None:
        key = f"{topic}:total"
        self.state[key] = self.state.get(key, 0) + n

    def _check(self, topic: str, last: int) -> Burst | None:
        rate = sum(self.state.get(f"{topic}:{b}", 0) for b in range(last - self.window + 1, last + 1))
        baseline = (self.state.get(f"{topic}:total", 0) - rate) / self.baseline_windows
        alerting = f"{topic}:alerting"
        if rate >= self.min_articles and rate > self.factor * baseline:
            if alerting in self.state:
                return None
            self.state[alerting] = 1
            return Burst(topic, (last - self.window + 1) * self.bucket_seconds, rate, baseline)
        self.state.pop(alerting, None)
        return None
