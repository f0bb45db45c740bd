"""Stage 3: bulk-index decided articles and story summaries into Elasticsearch.

Each news.articles message is a batch of articles with their stories; `stream.take` joins a
few (by count and time) into one bulk write. Faust acks a batch's offsets only
after this body returns, so offsets are committed only once Elasticsearch acknowledged
the batch. While Elasticsearch is unavailable the agent backs off and retries the same
batch; documents Elasticsearch rejects go to news.dlq with the reason and never block
the partition.
"""
from __future__ import annotations

import asyncio
import logging

import faust
from newsmon.schemas.article import Article, Story, decode_batch, encode
from newsmon.streams.topics import Topics, dead_letter

from newsmon.es import IndexingUnavailable
from newsmon.es.client import make_client
from newsmon.es.sink import ElasticsearchSink
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0
MESSAGES_PER_WRITE = 8  # news.articles messages are batches already: a few make one bulk request


async def write_until_acknowledged(sink: ElasticsearchSink, articles: list, stories: list):
    """Retry a batch until Elasticsearch takes it: never skip, never commit early."""
    delay = 1.0
    while True:
        try:
            return await asyncio.to_thread(sink.write, articles, stories)
        except IndexingUnavailable as exc:
            log.warning(kv(event="elasticsearch-unavailable", retry_in=delay, batch=len(articles) + len(stories), error=exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def register(app: faust.App, topics: Topics, settings: Settings) -> None:
    sink = ElasticsearchSink(make_client(settings), settings)

    @app.task
    async def ensure_templates() -> None:
        delay = 1.0
        while True:
            try:
                await asyncio.to_thread(sink.setup)
                return
            except IndexingUnavailable as exc:
                log.warning(kv(event="elasticsearch-unavailable", stage="setup", retry_in=delay, error=exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    @app.agent(topics.articles, name="newsmon.index-articles")
    async def index_articles(stream: faust.StreamT) -> None:
        async for payloads in stream.take(MESSAGES_PER_WRITE, within=settings.index_batch_seconds):
            articles, stories = unpack_all(payloads)
            result = await write_until_acknowledged(sink, articles, stories)
            for article, reason in result.rejected:
                await dead_letter(topics, "indexing", reason, encode(article))


def unpack_all(payloads: list[bytes]) -> tuple[list[Article], list[Story]]:
    """All articles of the batches in order, and each story's latest summary."""
    articles: list[Article] = []
    stories: dict[str, Story] = {}
    for payload in payloads:
        batch = decode_batch(payload)
        articles.extend(batch.articles)
        stories.update((story.cluster_id, story) for story in batch.stories)
    return articles, list(stories.values())
