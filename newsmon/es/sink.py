"""The pipeline's writer to Elasticsearch, shaped like a quix-streams sink.

`write()` indexes a batch of tagged articles and the story clusters they touched, and
returns what Elasticsearch refused per document so the caller can send it to `news.dlq`.
Idempotence is by construction: `_id` is the article id and the index is the article's
published month, so a batch redelivered after `IndexingUnavailable` (offsets not
committed) overwrites the same documents instead of adding copies.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import msgspec
from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from newsmon.core.times import now_iso_ms
from newsmon.es import IndexingUnavailable, RoutingError
from newsmon.es.bulk import ES_BULK_RETRY, Action, BulkOutcome, BulkSender, Failure, chunks
from newsmon.es.templates import analysed_copy, ensure_templates, index_for
from newsmon.log import kv
from newsmon.retry import RetryPolicy, is_transient
from newsmon.schemas.article import Article, Story
from newsmon.settings import Settings

__all__ = ["ElasticsearchSink", "IndexingUnavailable", "RetagResult", "WriteResult"]

log = logging.getLogger(__name__)

ENCODER = msgspec.json.Encoder()
MAX_CHUNK_BYTES = 8 * 1024 * 1024
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MISSING_DOCUMENT = "document_missing_exception"
# What `reprocess --reextract` rewrites: an article's text and the fields derived from it.
BODY_FIELDS = frozenset({"content", "text", "summary", "title", "authors", "canonical_link", "canonical_url",
                         "content_hash", "language", "declared_language", "body_source", "body_reason"})




def document_of(record: msgspec.Struct) -> dict:
    """Every field except unset strings/None: booleans and counts are stored even when default,
    so `is_duplicate:false` or `copies:1` are searchable, while "" never hits a date field."""
    return {key: value for key, value in msgspec.structs.asdict(record).items() if value != "" and value is not None}


def article_index(article: Article, alias: str) -> str:
    """Month of publication, falling back to the fetch time for feeds without dates."""
    return index_for(article.published or article.fetched, alias)


def action_lines(op: str, index: str, doc_id: str, source: bytes, **meta: object) -> bytes:
    header = ENCODER.encode({op: {"_index": index, "_id": doc_id, **meta}})
    return header + b"\n" + source + b"\n"


@dataclass
class WriteResult:
    """What one `write()` did; `rejected` goes to the dead-letter topic."""

    indexed: int = 0
    stories: int = 0
    rejected: list[tuple[Article, str]] = field(default_factory=list)
    rejected_stories: list[tuple[Story | dict, str]] = field(default_factory=list)
    retries: int = 0
    ms: float = 0.0


@dataclass
class RetagResult:
    """What one `update_topics()` did; `missing` ids were never indexed (nothing is created)."""

    updated: int = 0
    missing: list[str] = field(default_factory=list)
    rejected: list[tuple[Article, str]] = field(default_factory=list)
    retries: int = 0
    ms: float = 0.0


class ElasticsearchSink:
    """Bulk writer for articles (monthly indices) and stories (one index, one document per event, `_id` = story_id)."""

    def __init__(
        self,
        client: Elasticsearch,
        settings: Settings,
        *,
        policy: RetryPolicy = ES_BULK_RETRY,
        max_chunk_bytes: int = MAX_CHUNK_BYTES,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], str] = now_iso_ms,
    ) -> None:
        self.client = client
        self.settings = settings
        self.sender = BulkSender(client, policy, sleep=sleep)
        self.max_chunk_docs = settings.index_batch_size
        self.max_chunk_bytes = max(max_chunk_bytes, max_document_bytes)
        self.max_document_bytes = max_document_bytes
        self.now = now

    def setup(self) -> None:
        """Install templates and indices; `IndexingUnavailable` while the server is not reachable."""
        try:
            ensure_templates(self.client, self.settings)
        except (ConnectionError, ConnectionTimeout) as exc:
            raise IndexingUnavailable(f"Elasticsearch unreachable during setup: {exc}") from exc
        except ApiError as exc:
            if is_transient(exc):
                raise IndexingUnavailable(f"Elasticsearch busy during setup: HTTP {exc.meta.status}") from exc
            raise

    def write(self, batch: Sequence[Article], stories: Iterable[Story | dict] = ()) -> WriteResult:
        started = time.perf_counter()
        result = WriteResult()
        indexed_at = self.now()
        actions: list[Action] = []
        for article in batch:
            self._add(actions, result.rejected, self._article_action, article, indexed_at)
        for story in stories:
            self._add(actions, result.rejected_stories, self._story_action, story, indexed_at)
        outcome = self._send(actions)
        for failure in outcome.failures:
            self._reject(result, failure)
        sent_articles = sum(isinstance(action.record, Article) for action in actions)
        failed_articles = sum(isinstance(failure.action.record, Article) for failure in outcome.failures)
        result.indexed = sent_articles - failed_articles
        result.stories = len(actions) - sent_articles - (len(outcome.failures) - failed_articles)
        result.retries = outcome.retries
        result.ms = (time.perf_counter() - started) * 1000
        log.info(kv(event="es-write", docs=result.indexed, stories=result.stories,
                    rejected=len(result.rejected) + len(result.rejected_stories), retries=result.retries, ms=result.ms))
        return result

    def update_topics(self, articles: Sequence[Article], bodies: bool = False) -> RetagResult:
        """Re-tag already indexed articles in place: partial update of topics and matched_rules;
        with `bodies`, also of the text and what derives from it (BODY_FIELDS: re-extracted pages)."""
        started = time.perf_counter()
        result = RetagResult()
        actions: list[Action] = []
        for article in articles:
            self._add(actions, result.rejected, self._retag_action, article, bodies)
        outcome = self._send(actions)
        for failure in outcome.failures:
            if MISSING_DOCUMENT in failure.reason:
                result.missing.append(failure.action.record.id)
            else:
                result.rejected.append((failure.action.record, failure.reason))
        result.updated = len(actions) - len(outcome.failures)
        result.retries = outcome.retries
        result.ms = (time.perf_counter() - started) * 1000
        log.info(kv(event="es-retag", docs=result.updated, missing=len(result.missing),
                    rejected=len(result.rejected), retries=result.retries, ms=result.ms))
        return result

    # --- building actions -------------------------------------------------------------

    def _add(self, actions: list[Action], rejected: list, build: Callable[..., Action], record: object, *args: object) -> None:
        """Build one action, or reject the record before it is sent (no date, unencodable, oversize)."""
        try:
            action = build(record, *args)
        except RoutingError as exc:
            rejected.append((record, f"unroutable: {exc}"))
            return
        except (TypeError, msgspec.EncodeError) as exc:
            rejected.append((record, f"unencodable: {exc}"))
            return
        if len(action.lines) > self.max_document_bytes:
            rejected.append((record, f"oversize: {len(action.lines)} bytes > {self.max_document_bytes}"))
            return
        actions.append(action)

    def _article_action(self, article: Article, indexed_at: str) -> Action:
        document = analysed_copy(document_of(article), article.language)
        document["indexed"] = indexed_at
        index = article_index(article, self.settings.index_alias)
        return Action(action_lines("index", index, article.id, ENCODER.encode(document)), article)

    def _story_action(self, story: Story | dict, indexed_at: str) -> Action:
        document = document_of(story) if isinstance(story, Story) else dict(story)
        story_id = document.get("story_id")
        if not story_id:
            raise RoutingError("story has no story_id")
        source = ENCODER.encode({**document, "indexed": indexed_at})
        return Action(action_lines("index", self.settings.stories_index, str(story_id), source), story)

    def _retag_action(self, article: Article, bodies: bool = False) -> Action:
        index = article_index(article, self.settings.index_alias)
        doc = {"topics": article.topics, "matched_rules": article.matched_rules}
        if bodies:
            body = {key: value for key, value in document_of(article).items() if key in BODY_FIELDS}
            doc |= analysed_copy(body, article.language)
        source = ENCODER.encode({"doc": doc})
        return Action(action_lines("update", index, article.id, source, retry_on_conflict=3), article)

    # --- sending ----------------------------------------------------------------------

    def _send(self, actions: list[Action]) -> BulkOutcome:
        total = BulkOutcome()
        for chunk in chunks(actions, self.max_chunk_docs, self.max_chunk_bytes):
            outcome = self.sender.send(chunk)
            total.failures += outcome.failures
            total.retries += outcome.retries
        return total

    @staticmethod
    def _reject(result: WriteResult, failure: Failure) -> None:
        record = failure.action.record
        target = result.rejected if isinstance(record, Article) else result.rejected_stories
        target.append((record, failure.reason))
