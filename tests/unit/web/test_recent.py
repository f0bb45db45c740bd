"""The live page's alert window: newest first, bounded, each alert once."""
from __future__ import annotations

from newsmon.schemas.article import Alert

from newsmon.web.recent import RecentAlerts


def story(n: int) -> Alert:
    return Alert(kind="story", topic="bushehr", cluster_id=f"c{n}", title=f"story {n}")


def test_newest_first_bounded_and_once():
    recent = RecentAlerts(size=3)
    assert [recent.add(story(n)) for n in range(5)] == [True] * 5
    assert not recent.add(story(4)), "re-reading the tail shows nothing twice"
    assert [a["title"] for a in recent.latest()] == ["story 4", "story 3", "story 2"]
