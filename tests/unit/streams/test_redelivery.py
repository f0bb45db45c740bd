"""A kill -9 of the worker re-delivers the batches after its last offset commit to a dedupe
stage whose state moved on (stories merged since) or lost its last writes. Every re-delivered
article must come out in the story it was first sent with, or an event alert sent under that
story would belong to no indexed article and the article could alert again under another.

The stage is driven as the agent drives it (decide_all, then the flushes in the agent's order),
with dicts standing in for its three changelog-backed tables; a "restart" derives everything
again from the dicts, as the worker does from the recovered tables."""
from __future__ import annotations

import time
from collections import defaultdict

import msgspec
import pytest
from newsmon.bench.corpus import synthetic_articles
from newsmon.schemas.article import Article, encode
from newsmon.streams.dedupe import decide_all
from newsmon.streams.tagging import tag_all

from newsmon.core.assignments import StoryAssignments
from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.dedupe_records import ClusterRecords
from newsmon.core.events import DAY, EventClusterer, EventConfig
from newsmon.core.rules import load_rules

NOW = time.time()
BATCH = 20
SENTENCES = (  # each article names a monitored topic: reports of one subject, some of them merged stories
    "Diplomats weighed the snapback mechanism of Resolution 2231.",
    "Engineers returned to the Bushehr nuclear power plant.",
    "Freight moved along the North-South Transport Corridor.",
)


class Stage:
    """The sequenced dedupe stage over `tables` (copy groups, stories, assignments)."""

    def __init__(self, tables: tuple[dict, dict, dict]) -> None:
        self.tables = tables
        self.state = ClusterRecords(tables[0])
        self.deduper = Deduper(DedupeConfig(), seen=self.state.seen, signatures=self.state.signatures, stories=self.state.stories)
        self.deduper.rebuild()
        self.clusterer = EventClusterer(EventConfig(), tables[1])
        self.assignments = StoryAssignments(tables[2], horizon_seconds=4 * DAY)

    def process(self, batch: list[Article], sent: dict[str, list[str]], documents: set[str]) -> None:
        decided, touched, refused = decide_all(batch, self.deduper, NOW, self.clusterer, self.assignments)
        assert refused == []
        self.state.flush()
        self.clusterer.flush()
        self.assignments.flush(NOW)
        for article in decided:
            sent[article.id].append(article.story_id)
        documents.update(touched)


def snapshot(tables: tuple[dict, dict, dict]) -> tuple[dict, dict, dict]:
    """What a changelog holds: the records as they were written (later writes replace, not mutate)."""
    return tuple(msgspec.json.decode(msgspec.json.encode(table)) for table in tables)


@pytest.fixture(scope="module")
def batches() -> list[list[Article]]:
    articles = [*synthetic_articles(300, seed=11), *synthetic_articles(300, seed=12)]
    articles = [msgspec.structs.replace(a, content=f"<p>{SENTENCES[i % 3]}</p>{a.content}") for i, a in enumerate(articles)]
    tagged, refused = tag_all([encode(a) for a in articles], load_rules(None))
    assert refused == []
    return [tagged[start:start + BATCH] for start in range(0, len(tagged), BATCH)]


def test_a_redelivered_article_keeps_its_story_after_the_state_moved_on(batches) -> None:
    tables: tuple[dict, dict, dict] = ({}, {}, {})
    sent: dict[str, list[str]] = defaultdict(list)
    documents: set[str] = set()
    stage = Stage(tables)
    for batch in batches:
        stage.process(batch, sent, documents)
    first = {article_id: stories[0] for article_id, stories in sent.items()}

    # Deciding them again over what the stage knows now would move some (their story was
    # merged into another since): the case the remembered assignments are for.
    recovered = snapshot(tables)
    again = Stage((recovered[0], recovered[1], {}))
    moved = {a.id for batch in batches for a in decide_all(batch, again.deduper, NOW, again.clusterer, again.assignments)[0]
             if a.story_id != first[a.id]}
    assert moved, "the corpus no longer merges stories: this test needs re-decisions that differ"

    restarted = Stage(snapshot(tables))  # a restart: everything derived again from the tables
    for batch in batches:  # every batch re-delivered, as after a kill before the first commit
        restarted.process(batch, sent, documents)
    assert {article_id: set(stories) for article_id, stories in sent.items()} == {a: {s} for a, s in first.items()}
    assert set(first.values()) <= documents  # every story an article carries has its document


def test_a_kill_between_the_writes_of_a_batch_changes_no_story_that_was_sent(batches) -> None:
    tables: tuple[dict, dict, dict] = ({}, {}, {})
    sent: dict[str, list[str]] = defaultdict(list)
    documents: set[str] = set()
    stage = Stage(tables)
    kill_after, committed = len(batches) - 5, 0  # batches sent before the kill; batches whose offsets were committed
    for batch in batches[:kill_after]:
        stage.process(batch, sent, documents)
    visible = {article_id: stories[0] for article_id, stories in sent.items()}
    # The next batch is decided and its copy groups and stories reach the broker, the kill
    # lands before its assignment record does (the stage waits for the first two before the
    # third, and for all three before it sends): nothing of it was sent.
    assignments_then = snapshot(tables)[2]
    stage.process(batches[kill_after], defaultdict(list), set())
    recovered = snapshot(tables)

    restarted = Stage((recovered[0], recovered[1], assignments_then))
    for batch in batches[committed:]:
        restarted.process(batch, sent, documents)
    assert all(sent[article_id][-1] == story for article_id, story in visible.items()), "a sent article changed story"
    assert all(len(set(stories)) == 1 for stories in sent.values()), "an article in two stories"
    assert {stories[-1] for stories in sent.values()} <= documents


def test_assignments_are_one_record_per_batch_and_come_back_after_a_restart() -> None:
    records: dict[str, dict] = {}
    assignments = StoryAssignments(records, horizon_seconds=100)
    assignments.add("a1", "a1")
    assignments.add("a2", "a1")
    assert assignments.get("a2") == "a1"  # known before the flush: a batch may carry an article twice
    assert assignments.flush(1000) == 2 and assignments.flush(1000) == 0
    assert records == {"a1": {"t": 1000, "a": {"a1": "", "a2": "a1"}}}  # "": the story it started
    again = StoryAssignments(records, horizon_seconds=100)
    assert (again.get("a1"), again.get("a2"), again.get("a3")) == ("a1", "a1", None)


def test_assignments_expire_by_processing_time_before_the_newest_record_not_by_the_clock() -> None:
    records: dict[str, dict] = {}
    assignments = StoryAssignments(records, horizon_seconds=100)
    for when, article_id in ((1000, "old"), (1060, "mid"), (1150, "new")):
        assignments.add(article_id, "s")
        assignments.flush(when)
    assert assignments.expire() == 1  # "old" is 150 s before the newest, "mid" 90 s
    assert (assignments.get("old"), assignments.get("mid"), set(records)) == (None, "s", {"mid", "new"})
    assert assignments.expire() == 0  # however long the worker was down: nothing newer arrived
