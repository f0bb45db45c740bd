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


def test_a_story_copied_20000_times_keeps_every_record_bounded() -> None:
    """Issue 16: the record of a heavily copied story grew ~100 bytes per copy and passed Kafka's
    1 MB near 10,000 copies. Seen keys now move into sealed segments of bounded size."""
    records = CountingDict()
    state = ClusterRecords(records)
    deduper = Deduper(DedupeConfig(), seen=state.seen, signatures=state.signatures, stories=state.stories)
    original = corpus()[0]
    first = assign(deduper, original)
    sizes = []
    for copy in range(20_000):
        ident = f"copy-{copy:05d}"
        decision = deduper.assign(article_id=ident, canonical_url=f"https://mirror.example/{ident}", title=original.title,
                                  text=original.text, source=f"mirror{copy % 50}", published="", now=NOW + copy)
        assert decision.cluster_id == first.cluster_id
        if copy % 1000 == 999:
            state.flush()
            sizes.append(max(len(json.dumps(record)) for record in records.values()))
    assert max(sizes) < 64_000  # far below Kafka's 1 MB, and not growing with the copies
    assert sizes[-1] <= sizes[1] * 1.2
    assert len(records) > 20_000 // 256  # the keys are spread over sealed segments
    recovered = ClusterRecords(json.loads(json.dumps(dict(records))))
    assert dict(recovered.seen) == dict(state.seen) and dict(recovered.stories) == dict(state.stories)
    again = Deduper(DedupeConfig(), seen=recovered.seen, signatures=recovered.signatures, stories=recovered.stories)
    assert again.assign(article_id="copy-12345", canonical_url="https://mirror.example/copy-12345", title="", text="other",
                        source="mirror", published="", now=NOW) == _decision_of(first.cluster_id, "copy-12345")
    assert again.expire(NOW + 400 * DAY) > 0
    recovered.flush()
    assert not recovered.records  # expiry empties and deletes every segment


def _decision_of(cluster: str, ident: str):
    from newsmon.core.dedupe import Decision

    return Decision(cluster, cluster, True, "content")
