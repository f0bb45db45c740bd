import msgspec
import pytest
from newsmon.schemas.article import Article

from newsmon.core.fingerprint import RECENT_TEXTS
from newsmon.core.pipeline import LocalPipeline, enrich, enrich_all
from newsmon.core.rules import load_rules


def corpus_articles(dedupe_corpus) -> list[Article]:
    """The labelled dedupe corpus as raw articles: copies, teasers, exact duplicates, three languages."""
    return [
        Article(id=item.article_id, url=item.canonical_url, title=item.title, content=item.text, source=item.source)
        for item in dedupe_corpus.corpus("dev")
    ]


def without_clock(result: tuple[Article, object]) -> tuple[Article, object]:
    article, decision = result
    return msgspec.structs.replace(article, processed=""), decision


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One instant for every stage: run and run_all read the clock at different moments, and
    events decay with time, so a second ticking between them must not count as a difference."""
    monkeypatch.setattr("newsmon.core.pipeline.time.time", lambda: 1_762_000_000.0)


def test_run_all_decides_like_run_article_by_article(dedupe_corpus):
    articles = corpus_articles(dedupe_corpus)
    rules = load_rules(None)
    one_by_one, batched = LocalPipeline(rules=rules), LocalPipeline(rules=rules)
    expected = [without_clock(one_by_one.run(article)) for article in articles]
    got = [without_clock(r) for start in range(0, len(articles), 7) for r in batched.run_all(articles[start:start + 7])]
    assert got == expected
    assert any(decision.is_duplicate for _, decision in got) and any(article.topics for article, _ in got)
    assert {c: s["copies"] for c, s in batched.stories.items()} == {c: s["copies"] for c, s in one_by_one.stories.items()}


def test_run_all_longer_than_the_remembered_folds_still_decides_the_same(dedupe_corpus):
    articles = (corpus_articles(dedupe_corpus) * 3)[: RECENT_TEXTS + 50]
    rules = load_rules(None)
    expected = [without_clock(r) for r in map(LocalPipeline(rules=rules).run, articles)]
    assert [without_clock(r) for r in LocalPipeline(rules=rules).run_all(articles)] == expected


def test_enrich_all_equals_enrich_one_by_one(dedupe_corpus):
    articles = corpus_articles(dedupe_corpus) + [Article(id="empty", url="https://e.example/a", summary="<p>only a summary</p>")]
    assert enrich_all(articles) == [enrich(article) for article in articles]
