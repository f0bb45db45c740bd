"""The story each article was given, remembered, so that a re-delivered article gets it again.

The event clusterer (newsmon.core.events) decides an article's story from the live stories
as they stand when it arrives. A re-delivered article (the worker was killed after it sent
the article on but before the offset commit, or an upstream stage sent it twice) meets a
later state: its story may have been merged into another since, its copy group may have
moved, or the record that placed it may not have survived the crash. Deciding it again
could give it another story than the one it was indexed and alerted under. So the stream
remembers every assignment it sent on: `get` returns it, and only an article never seen
is decided.

State: one record per batch in a mapping passed in (a changelog-backed Faust table in the
worker): "<first article id of the batch>" -> {"t": processing time, "a": {article id: story
id, "" when the story is the article's own (a story started by it)}}, written by `flush()`
once per batch. The article index is derived from the records and rebuilt after a restart.
Records are kept for `horizon_seconds` of processing time before the newest one, a measure
that a worker down for a while does not shorten: a re-delivery after any downtime still
finds what was sent before it.
"""
from __future__ import annotations

from collections.abc import MutableMapping


class StoryAssignments:
    """article id -> story id for every article assigned within the horizon; see the module docstring."""

    def __init__(self, records: MutableMapping[str, dict], horizon_seconds: float) -> None:
        self.records = records
        self.horizon_seconds = horizon_seconds
        self.index: dict[str, str] = {}  # article id -> story id (derived)
        self.pending: dict[str, str] = {}  # assigned since the last flush
        self.rebuild()

    def get(self, article_id: str) -> str | None:
        """The story `article_id` was given, if it was assigned within the horizon."""
        return self.pending.get(article_id) or self.index.get(article_id)

    def add(self, article_id: str, story_id: str) -> None:
        """Remember a new assignment (written by the next `flush`)."""
        self.pending[article_id] = story_id

    def flush(self, now: float) -> int:
        """Write this batch's new assignments as one record; returns how many."""
        if not self.pending:
            return 0
        key = next(iter(self.pending))
        self.records[key] = {"t": int(now), "a": {a: "" if s == a else s for a, s in self.pending.items()}}
        self.index.update(self.pending)
        written = len(self.pending)
        self.pending.clear()
        return written

    def rebuild(self) -> None:
        """Derive the article index from the records (after a restart or a new assignment)."""
        self.index.clear()
        for record in self.records.values():
            self.index.update((a, s or a) for a, s in record["a"].items())

    def expire(self) -> int:
        """Drop the records older than the horizon before the newest; returns how many articles went."""
        newest = max((record["t"] for record in self.records.values()), default=0)
        stale = [key for key, record in self.records.items() if record["t"] < newest - self.horizon_seconds]
        dropped = 0
        for key in stale:
            for article_id in self.records[key]["a"]:
                self.index.pop(article_id, None)
                dropped += 1
            del self.records[key]
        return dropped
