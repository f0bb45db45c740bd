"""What the alert stage derives from a batch: replay quieting and breaking-volume events."""
from __future__ import annotations

from newsmon.schemas.article import Article
from newsmon.streams.alerts import quieted, volume_events


def test_replayed_articles_stay_quiet_unless_the_replay_asked_for_alerts() -> None:
    assert quieted(Article(id="a", url="u", replay=True)).replay is True
    assert quieted(Article(id="a", url="u", replay=True, replay_alerts=True)).replay is False
    assert quieted(Article(id="a", url="u")).replay is False


def test_each_story_counts_once_per_topic_toward_volume() -> None:
    first = Article(id="a", url="u", published="2025-11-01T00:00:00Z", topics=["bushehr", "snapback"])
    copy = Article(id="b", url="v", published="2025-11-01T00:01:00Z", topics=["bushehr"], is_duplicate=True)
    plans = [[("bushehr", True), ("snapback", True)], [("bushehr", False)]]
    assert volume_events([first, copy], plans) == [
        ["bushehr", "2025-11-01T00:00:00Z", False], ["snapback", "2025-11-01T00:00:00Z", False]]
