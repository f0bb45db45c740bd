"""What each stage costs per article, on the coverage-shaped corpus, so a regression points at
its stage instead of at "the pipeline".

Each stage runs alone over a chunk of articles, in the order the pipeline runs them, on the
output of the stage before, chunk after chunk as `newsmon process` runs them (CHUNK lines: a
chunk's folded texts are still remembered when dedupe asks for them; over one batch of 2,000
the copies figure paid for folding most texts again). The figure is CPU microseconds per
article (process time, so the other processes on the machine count less). Page extraction is
per page, on page HTML built from the same articles.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TypeVar
from xml.sax.saxutils import escape

import msgspec

from newsmon.cli.process import CHUNK
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.events import EventClusterer, EventConfig
from newsmon.core.language import identify_language, identify_languages
from newsmon.core.pipeline import assign_event, dedupe, enrich_all, tag
from newsmon.core.rules import RuleSet
from newsmon.core.times import parse_iso
from newsmon.es.sink import document_of
from newsmon.schemas.article import Article

T = TypeVar("T")


def _timed(items: Sequence[T], work: Callable[[Sequence[T]], object]) -> tuple[float, object]:
    """CPU µs per item of `work(items)`, and what it returned."""
    started = time.process_time()
    result = work(items)
    return (time.process_time() - started) / max(1, len(items)) * 1e6, result


def feed_bytes(articles: Sequence[Article]) -> bytes:
    """The articles as one RSS 2.0 document, full text in `description`."""
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
        f"<pubDate>{format_datetime(parse_iso(a.published))}</pubDate>"
        f"<description>{escape(a.content)}</description></item>"
        for a in articles
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>' \
           f"<link>https://bench.test/</link><description>d</description>{items}</channel></rss>".encode()


def page_html(article: Article) -> bytes:
    """An article page as outlets serve it: navigation, the article, related links, a footer."""
    nav = "".join(f'<li><a href="/s/{i}">Section {i}</a></li>' for i in range(12))
    related = "".join(f'<li><a href="/n/{i}">Related story number {i}</a></li>' for i in range(8))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(article.title)} | Outlet</title>'
        f'<link rel="canonical" href="{escape(article.url)}"></head><body><header><nav><ul>{nav}</ul></nav></header>'
        f"<main><article><h1>{escape(article.title)}</h1><time datetime=\"{article.published}\">"
        f"{article.published[:10]}</time>{article.content}</article><aside><ul>{related}</ul></aside></main>"
        "<footer><p>All rights reserved. Subscribe to our newsletter.</p></footer></body></html>"
    ).encode()


def stage_costs(articles: Sequence[Article], rules: RuleSet, pages: int = 200) -> dict[str, float]:
    """µs per article of each stage (and per page of extraction) over `articles`."""
    from newsmon.collectors.extract import extract_page

    figures: dict[str, float] = {}
    identify_language("warm up")  # the model loads once per process: not an article's cost
    raw = feed_bytes(articles)
    figures["parse_us"], _ = _timed(articles, lambda _: articles_from_bytes(raw, "https://bench.test/rss", datetime.now(UTC)))
    deduper = Deduper(DedupeConfig(), seen={}, signatures={}, stories={})
    clusterer = EventClusterer(EventConfig(), {})
    now = parse_iso(articles[0].published).timestamp() if articles else 0.0

    def events(batch: Sequence[Article]) -> list[Article]:
        grouped = [assign_event(a, clusterer, deduper, now)[0] for a in batch]
        clusterer.flush()
        return grouped

    stages: list[tuple[str, Callable[[Sequence[Article]], list]]] = [
        ("enrich_us", enrich_all),
        ("language_us", lambda batch: identify_languages([f"{a.title}\n{a.text}" for a in batch], [""] * len(batch))),  # enrich's share, apart, as enrich_all calls it
        ("tag_us", lambda batch: [tag(a, rules) for a in batch]),
        ("copies_us", lambda batch: [dedupe(a, deduper, now)[0] for a in batch]),
        ("events_us", events),
        ("index_document_us", lambda batch: [msgspec.json.encode(document_of(a)) for a in batch]),
    ]
    costs = dict.fromkeys((name for name, _ in stages), 0.0)
    for start in range(0, len(articles), CHUNK):
        batch: Sequence[Article] = articles[start:start + CHUNK]
        for name, work in stages:
            cost, out = _timed(batch, work)
            costs[name] += cost * len(batch)
            if name not in ("language_us", "index_document_us"):  # the others' output is the next stage's input
                batch = out
    figures.update({name: cost / max(1, len(articles)) for name, cost in costs.items()})
    sample = [page_html(a) for a in articles[:pages]]
    figures["extract_per_page_us"], _ = _timed(sample, lambda batch: [extract_page(b, "https://bench.test/a") for b in batch])
    figures["total_us"] = sum(v for k, v in figures.items() if k not in ("language_us", "extract_per_page_us"))  # enrich includes language id
    return figures
