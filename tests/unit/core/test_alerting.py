"""Alert decisions: once per story and topic, idempotent, replay-aware; volume bursts."""
from __future__ import annotations

import pytest
from newsmon.schemas.article import Alert, Article

from newsmon.core.alerting import (
    AlertTimeError,
    BreakingVolume,
    StoryAlerter,
    event_seconds,
)

MINUTE = 60.0
HOUR = 3600.0
T0 = 1_760_000_000.0  # a fixed event time: decisions never look at the wall clock


def article(id: str, cluster: str, topics: list[str], replay: bool = False) -> Article:
    return Article(id=id, url=f"https://e.org/{id}", cluster_id=cluster, topics=topics, replay=replay)


# --- StoryAlerter -----------------------------------------------------------------------------


def test_first_article_of_a_story_alerts_each_topic_copies_only_count() -> None:
    state: dict[str, int] = {}
    alerter = StoryAlerter(state)
    assert alerter.decide(article("a1", "c1", ["snapback", "bushehr"])) == [("snapback", True), ("bushehr", True)]
    assert alerter.decide(article("a2", "c1", ["snapback"])) == [("snapback", False)]
    assert alerter.decide(article("a3", "c1", ["snapback", "north-south-corridor"])) == [
        ("snapback", False), ("north-south-corridor", True)]
    assert alerter.copies("snapback", "c1") == 3
    assert alerter.decide(article("b1", "c2", ["snapback"])) == [("snapback", True)]


def test_redelivery_of_the_same_article_changes_nothing() -> None:
    state: dict[str, int] = {}
    alerter = StoryAlerter(state)
    first = article("a1", "c1", ["bushehr"])
    assert alerter.decide(first) == [("bushehr", True)]
    before = dict(state)
    assert alerter.decide(first) == []
    assert state == before


def test_writes_per_article_are_constant() -> None:
    class CountingDict(dict):
        writes = 0

        def __setitem__(self, key: str, value: int) -> None:
            CountingDict.writes += 1
            super().__setitem__(key, value)

    state = CountingDict()
    alerter = StoryAlerter(state)
    for i in range(100):
        alerter.decide(article(f"a{i}", f"c{i % 7}", ["snapback", "bushehr"]))
    assert CountingDict.writes == 100 * 3  # seen marker + one counter per topic


def test_replays_are_silent_unless_asked() -> None:
    state: dict[str, int] = {}
    assert StoryAlerter(state).decide(article("a1", "c1", ["snapback"], replay=True)) == []
    assert state == {}
    assert StoryAlerter(state, alert_replays=True).decide(article("a1", "c1", ["snapback"], replay=True)) == [
        ("snapback", True)]


def test_plan_writes_nothing_until_record() -> None:
    state: dict[str, int] = {}
    alerter = StoryAlerter(state)
    first = article("a1", "c1", ["bushehr"])
    assert alerter.plan(first) == [("bushehr", True)]
    assert state == {}
    assert alerter.plan(first) == [("bushehr", True)]  # a crash before record: the alert is planned again, not lost
    alerter.record(first)
    assert alerter.plan(first) == []
    assert alerter.plan(article("a2", "c1", ["bushehr"])) == [("bushehr", False)]


def test_a_remembered_story_alert_is_not_planned_again() -> None:
    alerter = StoryAlerter({})  # state that lost the write of the alert that did reach its topic
    alerter.remember(Alert(kind="story", topic="bushehr", cluster_id="c1", article_id="a1"))
    assert alerter.plan(article("a1", "c1", ["bushehr", "snapback"])) == [("bushehr", False), ("snapback", True)]
    alerter.remember(Alert(kind="story", topic="bushehr", article_id="a9"))  # no cluster yet: its own story
    assert alerter.decide(article("a9", "", ["bushehr"])) == [("bushehr", False)]
    assert alerter.copies("bushehr", "a9") == 1


def test_breaking_volume_alerts_are_not_remembered_as_stories() -> None:
    alerter = StoryAlerter({})
    alerter.remember(Alert(kind="breaking-volume", topic="bushehr", rate=9, baseline=1))
    assert alerter.alerted == set()


def test_untagged_articles_and_missing_cluster_ids() -> None:
    alerter = StoryAlerter({})
    assert alerter.decide(article("a1", "c1", [])) == []
    assert alerter.decide(article("a2", "", ["bushehr"])) == [("bushehr", True)]  # its own story
    assert alerter.copies("bushehr", "a2") == 1


# --- BreakingVolume ---------------------------------------------------------------------------


def steady(volume: BreakingVolume, topic: str, start: float, hours: int, per_hour: int) -> list:
    """Evenly spaced background articles; returns any bursts (there should be none)."""
    step = HOUR / per_hour
    return [b for i in range(hours * per_hour) if (b := volume.observe(topic, start + i * step))]


def test_burst_over_baseline_alerts_once_then_rearms_after_falling_back() -> None:
    state: dict[str, int] = {}
    volume = BreakingVolume(state, window_minutes=60, factor=3.0, min_articles=5)
    assert steady(volume, "bushehr", T0, hours=24, per_hour=2) == []
    now = T0 + 24 * HOUR
    bursts = [b for i in range(12) if (b := volume.observe("bushehr", now + i * MINUTE))]
    assert len(bursts) == 1
    burst = bursts[0]
    assert burst.topic == "bushehr" and burst.rate > 3 * burst.baseline and burst.rate >= 5
    assert burst.baseline == pytest.approx(2.0, abs=0.2)
    # Still hot: no second alert.
    assert all(volume.observe("bushehr", now + 20 * MINUTE + i) is None for i in range(10))
    # Quiet for hours, then a new burst alerts again.
    later = now + 6 * HOUR
    assert volume.observe("bushehr", later) is None  # rate back to normal: re-armed
    again = [b for i in range(12) if (b := volume.observe("bushehr", later + i * MINUTE))]
    assert len(again) == 1


def test_needs_a_minimum_number_of_articles() -> None:
    volume = BreakingVolume({}, window_minutes=60, min_articles=5)
    assert [volume.observe("snapback", T0 + i) for i in range(4)] == [None] * 4
    assert volume.observe("snapback", T0 + 5) is not None  # empty history: 5 in an hour is news


def test_topics_are_independent() -> None:
    volume = BreakingVolume({}, window_minutes=60, min_articles=3)
    assert [volume.observe("snapback", T0 + i) for i in range(2)] == [None, None]
    assert [volume.observe("bushehr", T0 + i) for i in range(2)] == [None, None]
    assert volume.observe("snapback", T0 + 3).topic == "snapback"


def test_old_buckets_expire_and_state_stays_bounded() -> None:
    state: dict[str, int] = {}
    volume = BreakingVolume(state, bucket_minutes=5, window_minutes=60, baseline_hours=24, min_articles=10**6)
    steady(volume, "bushehr", T0, hours=72, per_hour=12)
    buckets = [k for k in state if k.split(":")[1].isdigit()]
    assert len(buckets) <= 12 + 24 * 12
    assert state["bushehr:total"] == sum(state[k] for k in buckets)


def test_events_older_than_the_kept_span_are_ignored() -> None:
    volume = BreakingVolume({}, window_minutes=60, min_articles=2)
    volume.observe("snapback", T0 + 48 * HOUR)
    assert all(volume.observe("snapback", T0 + i) is None for i in range(50))  # two days old


def test_replays_do_not_count_unless_asked() -> None:
    state: dict[str, int] = {}
    volume = BreakingVolume(state, min_articles=1)
    assert volume.observe("snapback", T0, replay=True) is None and state == {}
    assert BreakingVolume(state, min_articles=1, alert_replays=True).observe("snapback", T0, replay=True)


def test_same_events_same_decisions() -> None:
    times = [T0 + (i * 7919) % (30 * HOUR) for i in range(500)]
    runs = []
    for _ in range(2):
        volume = BreakingVolume({}, window_minutes=60, min_articles=5)
        runs.append([volume.observe("bushehr", t) for t in times])
    assert runs[0] == runs[1]


def test_event_times_accept_iso_strings_and_reject_garbage() -> None:
    assert event_seconds("2025-10-03T12:00:00Z") == event_seconds("2025-10-03T12:00:00+00:00") == 1759492800.0
    assert event_seconds("2025-10-03T12:00:00") == 1759492800.0  # naive means UTC
    with pytest.raises(AlertTimeError):
        event_seconds("")
    with pytest.raises(ValueError):
        BreakingVolume({}, bucket_minutes=7, window_minutes=60)


def test_expire_forgets_stories_idle_for_the_window_and_keeps_live_ones() -> None:
    now = [T0]
    state: dict = {}
    alerter = StoryAlerter(state, window_days=30, clock=lambda: now[0])
    alerter.decide(article("old", "c-old", ["bushehr"]))
    alerter.remember(Alert(kind="story", topic="bushehr", cluster_id="c-old"))
    alerter.remember(Alert(kind="story", topic="snapback", cluster_id="c-lost"))  # its state write was lost
    now[0] += 20 * 86400
    alerter.decide(article("live", "c-live", ["snapback"]))
    now[0] += 15 * 86400  # c-old idle 35 days, c-live 15
    assert alerter.expire() == 2  # seen:old and story:bushehr:c-old
    assert set(state) == {"seen:live", "story:snapback:c-live"}
    assert alerter.alerted == {("snapback", "c-lost")}  # read back from the alert topic: still alerted
    assert alerter.decide(article("live", "c-live", ["snapback"])) == []  # still a re-delivery
    assert alerter.decide(article("late", "c-old", ["bushehr"])) == [("bushehr", True)]  # past the window: news again


def test_expire_with_a_shard_touches_only_what_that_shard_wrote() -> None:
    now = [T0]
    state: dict = {"story:bushehr:c0": 4}  # written before times were kept: left alone
    alerter = StoryAlerter(state, window_days=30, clock=lambda: now[0])
    alerter.record(article("a1", "c1", ["bushehr"]), shard=1)
    alerter.record(article("a2", "c2", ["bushehr"]), shard=2)
    assert alerter.copies("bushehr", "c0") == 4 and alerter.copies("bushehr", "c1") == 1
    now[0] += 31 * 86400
    assert alerter.expire(shard=1) == 2
    assert set(state) == {"story:bushehr:c0", "seen:a2", "story:bushehr:c2"}
    assert alerter.expire() == 2 and set(state) == {"story:bushehr:c0"}


def test_a_batch_is_planned_as_if_each_article_were_recorded_before_the_next() -> None:
    batch = [article("a1", "c1", ["snapback"]), article("a2", "c1", ["snapback", "bushehr"]),
             article("a1", "c1", ["snapback"]), article("b1", "c2", ["bushehr"])]
    one_by_one = StoryAlerter({})
    expected = [one_by_one.decide(a) for a in batch]
    alerter = StoryAlerter({})
    assert alerter.plan_all(batch) == expected == [
        [("snapback", True)], [("snapback", False), ("bushehr", True)], [], [("bushehr", True)]]
    assert alerter.state == {}  # planning writes nothing; `record` does, after the alerts are acknowledged


def test_an_article_dated_in_the_future_cannot_move_the_window_past_the_present():
    now = T0 + 24 * HOUR
    volume = BreakingVolume({}, window_minutes=60, min_articles=5, clock=lambda: now)
    assert volume.observe("bushehr", now + 6 * HOUR) is None  # a feed whose clock is six hours ahead
    bursts = [b for i in range(5) if (b := volume.observe("bushehr", now - 10 * MINUTE + i * MINUTE))]
    assert [b.topic for b in bursts] == ["bushehr"], "the real burst of the last hour still alerts"


def test_one_alert_per_event_then_follow_ups_only_at_steps() -> None:
    from newsmon.schemas.article import Story

    alerter = StoryAlerter({}, outlet_steps=(10, 25))
    reports = [Article(id=f"r{i}", url=f"https://e.org/{i}", cluster_id=f"c{i}", story_id="s1", topics=["snapback"])
               for i in range(3)]
    assert [d for a in reports for d in alerter.decide(a)] == [("snapback", True), ("snapback", False), ("snapback", False)]
    alerter.record_steps("snapback", Story(story_id="s1", topics=["snapback"], source_count=3, languages=["en"]))
    later = Article(id="r9", url="https://e.org/9", cluster_id="c9", story_id="s1", topics=["snapback"])
    grown = Story(story_id="s1", topics=["snapback"], source_count=26, languages=["en", "fa"])
    assert [step for _, _, step in alerter.updates([grown], [later])] == ["language:fa", "outlets:25"]
    alerter.record(later)
    alerter.record_steps("snapback", grown)
    again = Article(id="r10", url="https://e.org/10", cluster_id="c10", story_id="s1", topics=["snapback"])
    assert alerter.updates([grown], [again]) == []  # nothing new: no second follow-up
    assert alerter.updates([Story(story_id="s2", topics=["snapback"], source_count=30)], [again]) == []  # never alerted
