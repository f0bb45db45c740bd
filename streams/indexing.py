"""Stage 3: bulk-index decided articles and story summaries into Elasticsearch.

Batches come from `stream.take` (by count and time). Faust acks a batch's offsets only
after this body returns, so offsets are committed only once Elasticsearch acknowledged
the batch. While Elasticsearch is unavailable the agent backs off and retries the same
batch; documents Elasticsearch rejects go to news.dlq with the reason and never block
the partition.
"""
from __future__ import annotations

import asyncio
import logging

import faust

from newsmon.es.client import make_client
from newsmon.es import IndexingUnavailable
from newsmon.es.sink import ElasticsearchSink
from newsmon.log import kv
from newsmon.settings import Settings
from schemas.article import ARTICLE_DECODER, STORY_DECODER, encode
from streams.topics import Topics, dead_letter

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0


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
        async for payloads in stream.take(settings.index_batch_size, within=settings.index_batch_seconds):
            articles = [ARTICLE_DECODER.decode(p) for p in payloads]
            result = await write_until_acknowledged(sink, articles, [])
            for article, reason in result.rejected:
                await dead_letter(topics, "indexing", reason, encode(article))

    @app.agent(topics.stories, name="newsmon.index-stories")
    async def index_stories(stream: faust.StreamT) -> None:
        async for payloads in stream.take(settings.index_batch_size, within=settings.index_batch_seconds):
            latest = {s.cluster_id: s for s in (STORY_DECODER.decode(p) for p in payloads)}
            await write_until_acknowledged(sink, [], list(latest.values()))
