"""Stage 2, sequenced: story clustering on the single-partition news.dedupe topic.

Every article meets every earlier one here, whatever partition or worker it was
collected on, so a duplicate can never hide from its original. Persistent state is in
Faust tables backed by changelog topics (one write per article); the LSH index is
derived from them and rebuilt after recovery. Exact copies at another URL are not
forwarded (they only count toward their story); everything else goes on to
news.articles keyed by cluster id, with the updated story summary on news.stories.
"""
from __future__ import annotations

import logging
import time

import faust
import msgspec

from newsmon.core.dedupe import DedupeConfig, Deduper
from newsmon.core.pipeline import dedupe
from newsmon.log import kv
from newsmon.settings import Settings
from schemas.article import Article, Story, decode_article, encode
from streams.topics import Topics, json_table

log = logging.getLogger(__name__)
EXPIRE_EVERY_SECONDS = 600.0


def register(app: faust.App, topics: Topics, settings: Settings) -> None:
    seen, signatures, stories = (json_table(app, f"dedupe-{name}", partitions=1) for name in ("seen", "signatures", "stories"))
    config = DedupeConfig(window_days=settings.dedupe_window_days)
    deduper = Deduper(config, seen=seen, signatures=signatures, stories=stories)
    progress = {"rebuilt": False, "expired_at": 0.0}

    @app.agent(topics.dedupe, name="newsmon.dedupe")
    async def cluster(stream: faust.StreamT) -> None:
        async for payload in stream:
            now = time.time()
            if not progress["rebuilt"]:  # first event arrives only after table recovery
                deduper.rebuild()
                progress["rebuilt"] = True
                log.info(kv(event="dedupe-index-rebuilt", representatives=len(signatures), stories=len(stories)))
            if now - progress["expired_at"] > EXPIRE_EVERY_SECONDS:
                dropped = deduper.expire(now)
                progress["expired_at"] = now
                if dropped:
                    log.info(kv(event="dedupe-expired", entries=dropped))
            article, decision = dedupe(decode_article(payload), deduper, now)
            key = article.cluster_id.encode()
            if not decision.is_exact_copy:
                await topics.articles.send(key=key, value=encode(article))
            await topics.stories.send(key=key, value=encode(story_of(deduper, article)))


def story_of(deduper: Deduper, article: Article) -> Story:
    """The story summary to index: counts, sources and the topics its copies carry."""
    return msgspec.convert(deduper.story(article.cluster_id), Story)
