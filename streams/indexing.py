"""Stage 3: bulk-index decided articles and story documents into Elasticsearch.

Each news.articles message is a batch of articles with their stories; `stream.take` joins a
few (by count and time) into one bulk write. Faust acks a batch's offsets only after this
body returns, so offsets are committed only once every record of the batch was indexed or
dead-lettered:

* no write before the index set-up (templates, mappings) finished: the set-up is a
  supervised task, restarted with backoff while it fails, and the stage waits for it;
* while Elasticsearch is unavailable the write is retried for ever (INDEXING_RETRY), so
  nothing is skipped and nothing is committed early;
* what Elasticsearch refuses for good (a mapping error, a 400/413 split down to the refusing
  documents, a 401/403) comes back per document, article or story, and goes to news.dlq
  with the reason; a message that does not decode goes there too; the partition moves on.
"""
from __future__ import annotations

import asyncio
import logging

import faust
import msgspec
import orjson
from newsmon.schemas.article import Article, Story, decode_batch, encode
from newsmon.streams.health import Health, supervise
from newsmon.streams.topics import RECORD_ERRORS, Topics, dead_letter

from newsmon.es.client import make_client
from newsmon.es.sink import ElasticsearchSink, WriteResult
from newsmon.retry import RetryPolicy, describe, retry
from newsmon.settings import Settings

log = logging.getLogger(__name__)
STAGE = "indexing"
SETUP = "index-setup"
MESSAGES_PER_WRITE = 8  # news.articles messages are batches already: a few make one bulk request
INDEXING_RETRY = RetryPolicy(first=1.0, cap=30.0)  # for ever: the offsets wait for Elasticsearch


async def write_until_acknowledged(sink: ElasticsearchSink, articles: list[Article], stories: list[Story],
                                   health: Health) -> WriteResult:
    """Retry a batch until Elasticsearch takes it: never skip, never commit early."""
    return await retry(INDEXING_RETRY, lambda: asyncio.to_thread(sink.write, articles, stories),
                       what="Elasticsearch unavailable", on_retry=lambda exc, n: health.failing(STAGE, exc),
                       batch=len(articles) + len(stories))


def record_bytes(record: msgspec.Struct | dict) -> bytes:
    return encode(record) if isinstance(record, msgspec.Struct) else orjson.dumps(record)


async def dead_letter_refused(topics: Topics, result: WriteResult) -> None:
    for article, reason in result.rejected:
        await dead_letter(topics, STAGE, f"article {article.id} refused: {reason}", record_bytes(article))
    for story, reason in result.rejected_stories:
        await dead_letter(topics, STAGE, f"story document refused: {reason}", record_bytes(story))


def register(app: faust.App, topics: Topics, settings: Settings, health: Health) -> None:
    sink = ElasticsearchSink(make_client(settings), settings)
    ready = asyncio.Event()
    health.expect(STAGE)

    @app.task
    async def set_up_indices() -> None:
        await supervise(health, SETUP, lambda: asyncio.to_thread(sink.setup))
        ready.set()

    @app.agent(topics.articles, name="newsmon.index-articles")
    async def index_articles(stream: faust.StreamT) -> None:
        async for payloads in stream.take(MESSAGES_PER_WRITE, within=settings.index_batch_seconds):
            await ready.wait()  # templates and mappings first: a write must not create an index without them
            articles, stories, undecodable = unpack_all(payloads)
            for payload, reason in undecodable:
                await dead_letter(topics, STAGE, reason, payload)
            if articles or stories:
                await dead_letter_refused(topics, await write_until_acknowledged(sink, articles, stories, health))
            health.ok(STAGE)


def unpack_all(payloads: list[bytes]) -> tuple[list[Article], list[Story], list[tuple[bytes, str]]]:
    """All articles of the batches in order, each story's latest document, and the payloads that
    do not decode, with why."""
    articles: list[Article] = []
    stories: dict[str, Story] = {}
    undecodable: list[tuple[bytes, str]] = []
    for payload in payloads:
        try:
            batch = decode_batch(payload)
        except RECORD_ERRORS as exc:
            undecodable.append((payload, f"undecodable batch: {describe(exc)}"))
            continue
        articles.extend(batch.articles)
        stories.update((story.story_id, story) for story in batch.stories)
    return articles, list(stories.values()), undecodable

