"""Dedupe state per cluster record: the same decisions as plain mappings, one write per touched
story per flush, and the same state again when built from the records after a restart."""
from __future__ import annotations

import json

from newsmon.bench.corpus import synthetic_articles

from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.dedupe_records import ClusterRecords
from newsmon.core.pipeline import enrich

NOW = 1_760_000_000.0
DAY = 86400.0


class CountingDict(dict):
    """A table stand-in that counts writes (each one a changelog message in the worker)."""

    writes = 0

    def __setitem__(self, key, value):
        self.writes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.writes += 1
        super().__delitem__(key)


def assign(deduper: Deduper, article, now: float = NOW):
    return deduper.assign(article_id=article.id, canonical_url=article.canonical_url, title=article.title, text=article.text,
                          source=article.source, published=article.published, now=now, topics=article.topics)


def corpus():
    return [enrich(a) for a in synthetic_articles(300, seed=5)]


def test_decisions_and_state_equal_plain_mappings() -> None:
    plain = Deduper(DedupeConfig(), seen={}, signatures={}, stories={})
    state = ClusterRecords(CountingDict())
    stored = Deduper(DedupeConfig(), seen=state.seen, signatures=state.signatures, stories=state.stories)
    articles = corpus()
    for start in range(0, len(articles), 50):
        batch = articles[start:start + 50]
        assert [assign(stored, a) for a in batch] == [assign(plain, a) for a in batch]
        state.flush()
    assert (dict(state.seen), dict(state.signatures), dict(state.stories)) == (plain.seen, plain.signatures, plain.stories)


def test_one_write_per_touched_story_per_flush() -> None:
    records = CountingDict()
    state = ClusterRecords(records)
    deduper = Deduper(DedupeConfig(), seen=state.seen, signatures=state.signatures, stories=state.stories)
    batch = corpus()[:100]
    clusters = {assign(deduper, a).cluster_id for a in batch}
    assert records.writes == 0  # nothing persisted before the flush
    assert state.flush() == len(clusters) == records.writes
    assert len(clusters) < len(batch)  # the corpus republishes a fifth of its articles


def test_a_restart_from_the_records_continues_with_the_same_decisions() -> None:
    articles = corpus()
    records: dict = {}
    state = ClusterRecords(records)
    before = Deduper(DedupeConfig(), seen=state.seen, signatures=state.signatures, stories=state.stories)
    for a in articles[:200]:
        assign(before, a)
    state.flush()
    recovered = ClusterRecords(json.loads(json.dumps(records)))  # as read back from the changelog
    after = Deduper(DedupeConfig(), seen=recovered.seen, signatures=recovered.signatures, stories=recovered.stories)
    after.rebuild()
    assert [assign(after, a) for a in articles[200:]] == [assign(before, a) for a in articles[200:]]


def test_expiry_deletes_whole_records() -> None:
    records: dict = {}
    state = ClusterRecords(records)
    deduper = Deduper(DedupeConfig(window_days=1), seen=state.seen, signatures=state.signatures, stories=state.stories)
    old, new = corpus()[:20], corpus()[20:40]
    for a in old:
        assign(deduper, a, now=NOW)
    for a in new:
        assign(deduper, a, now=NOW + 2 * DAY)
    state.flush()
    assert deduper.expire(NOW + 2 * DAY) > 0
    state.flush()
    assert set(records) == set(state.stories) == {assign(deduper, a).cluster_id for a in new}
