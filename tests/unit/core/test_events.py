"""Events: reports of one happening join one story across wording and language; different
events on one subject stay apart; copies follow their group; merges are recorded, not silent."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from newsmon.core.events import EventClusterer, EventConfig, features

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "events" / "corpus.py"
T0 = 1_760_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def events_corpus():
    spec = importlib.util.spec_from_file_location("events_corpus", CORPUS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def assign(clusterer: EventClusterer, article_id: str, title: str, text: str, language: str, when: float,
           cluster: str = "", copies: int = 1, source: str = "") -> str:
    return clusterer.assign(
        article_id=article_id, cluster_id=cluster or article_id, cluster_copies=copies, title=title, text=text,
        url=f"https://e.org/{article_id}", source=source or f"{article_id}.example", language=language,
        published="", topics=(), now=when).story_id


def test_one_name_in_four_scripts_is_one_key() -> None:
    keys = [features(name, "").terms for name in ("Araghchi", "Arakchi", "Аракчи", "عراقچی", "عراقجي")]
    assert all(set(k) == {"~rkc"} for k in keys)


def test_lavrov_and_novak_in_four_scripts_are_one_name_each() -> None:
    """v is a vowel letter in Persian (لاوروف) and f in Arabic (لافروف): both silent, like в."""
    for names in (("Lavrov", "Лавров", "لاوروف", "لافروف", "Лавровым"), ("Novak", "Новак", "نواک", "نوفاك")):
        found = [features(name, "") for name in names]
        assert len({frozenset(f.terms) for f in found}) == 1 and all(f.names == set(f.terms) for f in found)


def test_arabic_spellings_and_the_article_fold_onto_the_lexicon_and_names() -> None:
    assert set(features("العقوبات النووية", "", language="ar").terms) == {"#sanctions", "#nuclear"}
    assert set(features("الكرملين", "", language="ar").terms) == set(features("Kremlin", "").terms)


def test_datelines_agency_tags_and_weekdays_are_not_keys() -> None:
    """Two events of one day under one agency's dateline share nothing but the city."""
    a = features("x", "МОСКВА, 17 дек – РИА Новости. В среду Лавров провел переговоры.", language="ru")
    b = features("x", "МОСКВА, 17 дек – РИА Новости. В среду открылась ярмарка.", language="ru")
    assert a.names & b.names == {"#moscow"}
    fa = features("x", "تهران- ایرنا- امروز دوشنبه ۱۷ آذر خبر رسید", language="fa")
    assert "#tehran" in fa.terms and not {"~rn", "~17"} & set(fa.terms)


def test_labelled_corpus_meets_the_bar_across_languages(events_corpus) -> None:
    """The tuning files (thresholds were chosen on them)."""
    items = events_corpus.articles()
    stories, clusters, languages, us = events_corpus.run_pipeline(items)
    labels = [label for _, label in items]
    scores = events_corpus.pairwise(stories, labels, languages)
    baseline = events_corpus.pairwise(clusters, labels, languages)
    print(f"\nevents: {scores} cluster_id: {baseline['all']} µs/article={us:.0f}")
    assert scores["all"][0] >= 0.95 and scores["all"][2] >= 0.85
    assert scores["cross"][0] >= 0.95 and scores["cross"][1] >= 0.75
    assert scores["all"][2] > baseline["all"][2] + 0.5


def test_held_out_corpus_meets_the_issue_bar(events_corpus) -> None:
    """The two held-out files in one stream, never tuned on (measured P 0.975 R 0.904 F1 0.938,
    across languages P 0.975 F1 0.930): the issue's bar (P >= 0.90, F1 >= 0.85) with a margin
    below those. January alone, a stream of 47 articles where idf and the common-name rule have
    little to go on, measured P 0.909 F1 0.839: asserted below that, as the small-stream floor."""
    items = events_corpus.articles(events_corpus.HELD_OUT)
    stories, _, languages, _ = events_corpus.run_pipeline(items)
    scores = events_corpus.pairwise(stories, [label for _, label in items], languages)
    print(f"\nheld-out events: {scores}")
    assert scores["all"][0] >= 0.93 and scores["all"][2] >= 0.90
    assert scores["cross"][0] >= 0.93 and scores["cross"][2] >= 0.89
    january = events_corpus.articles(("heldout_january.yaml",))
    stories, _, languages, _ = events_corpus.run_pipeline(january)
    small = events_corpus.pairwise(stories, [label for _, label in january], languages)
    print(f"held-out January alone: {small}")
    assert small["all"][0] >= 0.88 and small["all"][2] >= 0.80
