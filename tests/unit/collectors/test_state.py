"""Fetch state: bounded seen ids, backoff arithmetic, durable and damage-tolerant file."""
from __future__ import annotations

from newsmon.collectors.state import (
    BACKOFF_MAX_SECONDS,
    MAX_SEEN_PER_FEED,
    STATE_FILE,
    FeedState,
    StateStore,
)


def test_seen_ids_are_bounded_and_still_listed_items_stay_remembered():
    state = FeedState()
    state.record_success(0, None, None, [f"old{i}" for i in range(MAX_SEEN_PER_FEED)])
    state.record_success(1, None, None, ["old0", "new"])  # old0 is still in the feed
    assert len(state.seen) == MAX_SEEN_PER_FEED
    assert state.seen[-2:] == ["old0", "new"] and "old1" not in state.seen
    assert state.unseen(["old0", "new", "newer"]) == {"newer"}


def test_backoff_doubles_up_to_a_cap_and_retry_after_wins():
    state = FeedState()
    delays = [state.record_failure(0, "HTTP 500") for _ in range(12)]
    assert delays[:3] == [60, 120, 240] and delays[-1] == BACKOFF_MAX_SECONDS
    assert state.record_failure(0, "HTTP 429", retry_after=5) == 5 and state.next_fetch == 5


def test_validators_survive_a_304_free_success_without_new_values():
    state = FeedState()
    state.record_success(0, '"v1"', "Sat, 08 Nov 2025 10:00:00 GMT", [])
    state.record_success(1, None, None, [])
    assert (state.etag, state.last_modified) == ('"v1"', "Sat, 08 Nov 2025 10:00:00 GMT")


def test_state_round_trips_through_the_file(tmp_path):
    store = StateStore.load(tmp_path)
    store.feed("https://a.example.com/rss").record_success(5, '"e"', None, ["x", "y"])
    store.feed("https://b.example.com/rss").record_failure(5, "HTTP 503", retry_after=30)
    store.save()
    assert not list(tmp_path.glob(".state-*"))  # the temp file was renamed into place
    again = StateStore.load(tmp_path)
    assert again.feeds == store.feeds


def test_damaged_state_file_starts_fresh(tmp_path, caplog):
    (tmp_path / STATE_FILE).write_text("{half a fi")
    assert StateStore.load(tmp_path).feeds == {}
    assert "state-unreadable" in caplog.text


def test_memory_only_store_writes_nothing(tmp_path):
    store = StateStore(None)
    store.feed("u").record_success(0, None, None, ["x"])
    store.save()
    assert list(tmp_path.iterdir()) == []
