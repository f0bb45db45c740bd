"""Stage 1, scaled out over news.raw partitions: decode, normalise, tag.

Stateless, so any number of workers share it. Articles are taken in batches (by count and
time) and go on as a few large messages to the single-partition dedupe topic, where every
article meets every earlier one: the broker and Faust charge per message, not per byte.
"""
from __future__ import annotations

import logging

import faust
import msgspec
from newsmon.schemas.article import Article, decode_article, pack
from newsmon.streams.topics import Topics, dead_letter

from newsmon.core.pipeline import enrich_all, tag
from newsmon.core.rules import RuleSet
from newsmon.settings import Settings

log = logging.getLogger(__name__)


def tag_all(payloads: list[bytes], rules: RuleSet) -> tuple[list[Article], list[tuple[bytes, str]]]:
    """Normalised, tagged articles in input order, and the payloads that are not articles, with why."""
    articles, refused = [], []
    for payload in payloads:
        try:
            articles.append(decode_article(payload))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            refused.append((payload, f"undecodable article: {exc}"))
    return [tag(article, rules) for article in enrich_all(articles)], refused


def register(app: faust.App, topics: Topics, rules: RuleSet, settings: Settings) -> None:
    @app.agent(topics.raw, name="newsmon.tagging")
    async def normalise_and_tag(stream: faust.StreamT) -> None:
        async for payloads in stream.take(settings.stream_batch_size, within=settings.stream_batch_seconds):
            tagged, refused = tag_all(payloads, rules)
            for payload, reason in refused:
                await dead_letter(topics, "tagging", reason, payload)
            if tagged:
                for message in pack(tagged, settings.stream_batch_bytes):
                    await topics.dedupe.send(value=message)
