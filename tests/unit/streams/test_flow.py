"""The worker's stages chained without a broker: tag_all -> pack -> decide_all -> split by
partition -> pack -> unpack_all, exactly as the agents call them, must decide what
`newsmon process` (LocalPipeline, one article at a time) decides, whatever the batch size."""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest
from newsmon.bench.corpus import synthetic_articles
from newsmon.schemas.article import Article, Story, decode_batch, encode, pack
from newsmon.streams.dedupe import decide_all, split_by_partition
from newsmon.streams.indexing import unpack_all
from newsmon.streams.tagging import tag_all
from newsmon.streams.topics import partitioner

from newsmon.core.assignments import StoryAssignments
from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.events import DAY, EventClusterer, EventConfig
from newsmon.core.pipeline import LocalPipeline
from newsmon.core.rules import load_rules

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "dedupe" / "seeds"
NOW = time.time()  # as LocalPipeline's: later than every article, so events use their published times
PARTITIONS = 4


def flow(articles: list[Article], batch: int, max_bytes: int) -> tuple[dict[int, list[Article]], dict[str, Story]]:
    """What reaches each news.articles partition, and the latest story documents indexed."""
    rules, partition_of = load_rules(None), partitioner(PARTITIONS)
    deduper = Deduper(DedupeConfig(), seen={}, signatures={}, stories={})
    clusterer = EventClusterer(EventConfig(), {})
    assignments = StoryAssignments({}, horizon_seconds=EventConfig().window_days * DAY)
    indexed: dict[int, list[Article]] = defaultdict(list)
    stories: dict[str, Story] = {}
    payloads = [encode(a) for a in articles]
    for start in range(0, len(payloads), batch):
        tagged, refused = tag_all(payloads[start:start + batch], rules)
        assert refused == []
        for message in pack(tagged, max_bytes):
            decided, touched, refused = decide_all(decode_batch(message).articles, deduper, NOW, clusterer, assignments)
            assert refused == []
            for partition, (group, summaries) in split_by_partition(decided, touched, partition_of).items():
                got, latest, undecodable = unpack_all(pack(group, max_bytes, summaries))
                assert undecodable == []
                indexed[partition] += got
                stories.update((s.story_id, s) for s in latest)
    return indexed, stories


@pytest.fixture(scope="module")
def corpus() -> list[Article]:
    """Synthetic news with near copies, and the real seed articles each also at a second URL
    (exact copies: counted toward their story, never indexed)."""
    seeds = [p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    twice = [Article(id=f"seed-{i}-{n}", url=f"https://e{n}.org/{i}", title=text.split("\n", 1)[0], content=text)
             for n in (1, 2) for i, text in enumerate(seeds)]
    return [*synthetic_articles(200, seed=11), *twice, *synthetic_articles(200, seed=12)]


@pytest.mark.parametrize("batch,max_bytes", [(1, 1 << 20), (37, 20_000), (400, 512 * 1024)])
def test_batched_stages_decide_as_one_article_at_a_time(corpus, batch, max_bytes) -> None:
    local = LocalPipeline(rules=load_rules(None))
    expected = {a.id: (a, d) for a, d in (local.run(article) for article in corpus)}
    indexed, stories = flow(corpus, batch, max_bytes)
    got = {a.id: a for group in indexed.values() for a in group}
    assert set(got) == {i for i, (_, d) in expected.items() if not d.is_exact_copy}
    assert {f"seed-{i}-2" for i in range(5)}.isdisjoint(got)
    assert {i: (a.cluster_id, a.story_id, a.duplicate_of, a.topics) for i, a in got.items()} == {
        i: (expected[i][0].cluster_id, expected[i][0].story_id, expected[i][0].duplicate_of, expected[i][0].topics)
        for i in got}
    def survivor(story_id: str) -> str:  # a merge is recorded on the absorbed story, articles keep their id
        while stories[story_id].merged_into:
            story_id = stories[story_id].merged_into
        return story_id

    articles, groups = defaultdict(int), defaultdict(set)
    for article, _ in expected.values():
        articles[survivor(article.story_id)] += 1
        groups[survivor(article.story_id)].add(article.cluster_id)
    live = {s: story for s, story in stories.items() if not story.merged_into}
    assert {s: (story.articles, story.clusters) for s, story in live.items()} == {
        s: (articles[s], len(groups[s])) for s in live}


def test_every_article_of_a_story_reaches_the_partition_its_story_id_keys(corpus) -> None:
    indexed, _ = flow(corpus, 50, 64_000)
    partition_of = partitioner(PARTITIONS)
    assert all(partition_of(a.story_id) == p for p, group in indexed.items() for a in group)
    clusters = defaultdict(set)  # copies share their copy group's story
    for group in indexed.values():
        for article in group:
            clusters[article.cluster_id].add(article.story_id)
    assert all(len(stories) == 1 for stories in clusters.values())
    assert len(indexed) == PARTITIONS


def test_a_payload_that_is_not_an_article_is_refused_with_the_reason() -> None:
    tagged, refused = tag_all([b'{"url": 1}', encode(Article(id="a", url="https://e.org/a", content="<p>Bushehr</p>"))], load_rules(None))
    assert [a.id for a in tagged] == ["a"]
    assert refused[0][0] == b'{"url": 1}' and "undecodable article" in refused[0][1]
