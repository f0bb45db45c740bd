"""The per-article logic shared by the Faust agents and `newsmon process`.

enrich -> tag -> dedupe, as plain functions over `Article`. The stream splits them over
stages (enrich+tag scale out over partitions, dedupe is the sequenced stage); `process`
runs them back to back in one process. Neither copies the other: both call these.
"""
from __future__ import annotations

import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field

import msgspec

from newsmon.core.dedupe import Decision, DedupeConfig, Deduper
from newsmon.core.events import EventClusterer, EventConfig, EventDecision
from newsmon.core.fingerprint import content_hash, text_words_all
from newsmon.core.language import identify_languages
from newsmon.core.rules import RuleSet
from newsmon.core.text import html_to_text
from newsmon.core.times import now_iso
from newsmon.core.urls import article_id, canonicalize_url
from newsmon.schemas.article import Article


def article_from_record(record: object, **overrides: object) -> Article:
    """A JSON object (a line of a corpus or an archive) as an Article; the id is derived
    from the canonical URL when the record has none. Raises ValueError / msgspec.ValidationError."""
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if not record.get("id") and record.get("url"):
        record = {**record, "id": article_id(canonicalize_url(str(record["url"]), str(record.get("canonical_link", ""))))}
    return msgspec.convert({**record, **overrides}, Article, strict=False)


def enrich(article: Article) -> Article:
    """Fill the derived fields: canonical URL, plain text, content hash, language."""
    return _enriched([article], [_plain_text(article)])[0]


def enrich_all(articles: Sequence[Article]) -> list[Article]:
    """`enrich` for each of a batch, the same results, with the texts' words hashed
    together (text_words_all) and their languages identified together: cheaper per
    article, and the words remembered for `dedupe`."""
    texts = [_plain_text(article) for article in articles]
    text_words_all(texts)  # remembered: content_hash below and dedupe later look them up
    return _enriched(articles, texts)


def _plain_text(article: Article) -> str:
    return html_to_text(article.content or article.summary)


def _enriched(articles: Sequence[Article], texts: Sequence[str]) -> list[Article]:
    languages = identify_languages(
        [f"{article.title}\n{text}" for article, text in zip(articles, texts)],
        [article.declared_language or article.language for article in articles],
    )
    return [
        msgspec.structs.replace(
            article,
            canonical_url=canonicalize_url(article.url, article.canonical_link),
            text=text,
            content_hash=content_hash(text),
            language=language,
        )
        for article, text, language in zip(articles, texts, languages)
    ]


def tag(article: Article, rules: RuleSet) -> Article:
    """Attach the topics the rules find, and for each, the rule that fired."""
    matches = rules.tag(article.title, article.text, article.language)
    topics = sorted({m.topic for m in matches})
    return msgspec.structs.replace(article, topics=topics, matched_rules=[m.key for m in matches])


def apply_decision(article: Article, decision: Decision) -> Article:
    return msgspec.structs.replace(
        article,
        cluster_id=decision.cluster_id,
        duplicate_of=decision.duplicate_of,
        is_duplicate=decision.is_duplicate,
        processed=now_iso(),
    )


def dedupe(article: Article, deduper: Deduper, now: float | None = None) -> tuple[Article, Decision]:
    decision = deduper.assign(
        article_id=article.id,
        canonical_url=article.canonical_url,
        title=article.title,
        text=article.text,
        source=article.source,
        published=article.published,
        language=article.language,
        now=time.time() if now is None else now,
        topics=article.topics,
    )
    return apply_decision(article, decision), decision


def assign_event(article: Article, clusterer: EventClusterer, deduper: Deduper, now: float | None = None) -> tuple[Article, EventDecision]:
    """The article's event (`story_id`), decided after its copy group: a copy joins its group's story."""
    decision = clusterer.assign(
        article_id=article.id,
        cluster_id=article.cluster_id,
        cluster_copies=deduper.stories[article.cluster_id]["copies"],
        title=article.title,
        text=article.text,
        url=article.url,
        source=article.source,
        language=article.language,
        published=article.published,
        topics=article.topics,
        now=time.time() if now is None else now,
    )
    return msgspec.structs.replace(article, story_id=decision.story_id), decision


@dataclass
class LocalPipeline:
    """All stages in one process with in-memory state: what `newsmon process` runs."""

    rules: RuleSet
    config: DedupeConfig = field(default_factory=DedupeConfig)
    seen: MutableMapping = field(default_factory=dict)
    signatures: MutableMapping = field(default_factory=dict)
    stories: MutableMapping = field(default_factory=dict)
    events_config: EventConfig = field(default_factory=EventConfig)
    events: MutableMapping = field(default_factory=dict)  # story id -> event record (newsmon.core.events)
    events_seconds: float = 0.0  # time spent assigning events, measured apart

    def __post_init__(self) -> None:
        self.deduper = Deduper(self.config, seen=self.seen, signatures=self.signatures, stories=self.stories)
        self.clusterer = EventClusterer(self.events_config, self.events)

    def run(self, article: Article) -> tuple[Article, Decision]:
        return self._with_events([dedupe(tag(enrich(article), self.rules), self.deduper)])[0]

    def run_all(self, articles: Sequence[Article]) -> list[tuple[Article, Decision]]:
        """`run` for each article of a batch, in order, with the same results, but stage by
        stage: each stage's code and tables stay in the CPU caches across the batch, a fifth
        faster than alternating stages per article. Batches up to `RECENT_TEXTS` long also
        fold each text once (dedupe finds normalisation's fold remembered)."""
        normalised = enrich_all(articles)
        tagged = [tag(article, self.rules) for article in normalised]
        return self._with_events([dedupe(article, self.deduper) for article in tagged])

    def _with_events(self, decided: list[tuple[Article, Decision]]) -> list[tuple[Article, Decision]]:
        started = time.perf_counter()
        now = time.time()
        done = [(assign_event(article, self.clusterer, self.deduper, now)[0], decision) for article, decision in decided]
        self.clusterer.flush()
        self.events_seconds += time.perf_counter() - started
        return done
