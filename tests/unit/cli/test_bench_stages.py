"""The bench corpus has the shape bench/coverage.py promises, and every stage of the per-stage
table is measured: a missing or zero stage would hide where the time goes."""
from __future__ import annotations

import statistics
from collections import Counter

import pytest
from newsmon.bench.coverage import LANGUAGES, coverage_articles
from newsmon.bench.stages import stage_costs

from newsmon.core.pipeline import LocalPipeline
from newsmon.core.rules import load_rules
from newsmon.settings import Settings

STAGES = ("parse_us", "enrich_us", "language_us", "tag_us", "copies_us", "events_us", "index_document_us",
          "extract_per_page_us", "total_us")


@pytest.fixture(scope="module")
def rules():
    return load_rules(Settings().topic_rules)


@pytest.fixture(scope="module")
def processed(rules):
    pipeline = LocalPipeline(rules=rules)
    return [article for article, _ in pipeline.run_all(list(coverage_articles(400, seed=3)))]


def test_every_stage_is_measured(rules):
    figures = stage_costs(list(coverage_articles(50, seed=3)), rules, pages=5)
    assert set(STAGES) <= set(figures)
    assert all(figures[name] > 0 for name in STAGES), figures
    assert figures["total_us"] > figures["enrich_us"] + figures["tag_us"]


def test_languages_in_their_shares(processed):
    counts = Counter(article.language for article in processed)
    for language in LANGUAGES:
        assert abs(counts[language.code] / len(processed) - language.share) < 0.07, (language.code, counts)


def test_a_fifth_are_copies(processed):
    copies = sum(article.cluster_id != article.id for article in processed)
    assert 0.12 < copies / len(processed) < 0.28


def test_teasers_and_article_lengths(processed):
    words = [len(article.text.split()) for article in processed]
    assert 0.06 < sum(count < 60 for count in words) / len(words) < 0.14  # a tenth teasers of 25-45 words
    assert sum(60 <= count < 150 for count in words) / len(words) < 0.02  # the rest: bodies of 250+ words, a few trimmed copies
    assert 550 <= statistics.median(words) <= 900


def test_cpu_seconds_counts_a_process_work():
    import os
    import time

    from newsmon.bench.pipeline import cpu_seconds

    before, started = cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - started < 0.3:
        pass
    assert 0.2 <= cpu_seconds(os.getpid()) - before <= 1.0
