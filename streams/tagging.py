"""Stage 1, scaled out over news.raw partitions: decode, normalise, tag.

Stateless, so any number of workers share it. Articles are taken in batches (by count and
time) and go on as a few large messages to the single-partition dedupe topic, where every
article meets every earlier one: the broker and Faust charge per message, not per byte.

Record by record inside the batch: a payload that does not decode, or an article that
enrichment or tagging cannot handle (a link that is not a URL, a lone surrogate), goes to
news.dlq with the reason and its original bytes; the rest of the batch goes on. The batch's
offsets are committed only after every record was sent on or dead-lettered.
"""
from __future__ import annotations

import logging

import faust
from newsmon.schemas.article import Article, decode_article, encode, pack
from newsmon.streams.health import Health
from newsmon.streams.topics import RECORD_ERRORS, Topics, dead_letter, isolate

from newsmon.core.pipeline import enrich_all, tag
from newsmon.core.rules import RuleSet
from newsmon.retry import describe
from newsmon.settings import Settings

log = logging.getLogger(__name__)
STAGE = "tagging"


def tag_all(payloads: list[bytes], rules: RuleSet) -> tuple[list[Article], list[tuple[bytes, str]]]:
    """Normalised, tagged articles in input order, and the payloads that failed, each with why."""
    articles: list[Article] = []
    refused: list[tuple[bytes, str]] = []
    for payload in payloads:
        try:
            articles.append(decode_article(payload))
        except RECORD_ERRORS as exc:
            refused.append((payload, f"undecodable article: {describe(exc)}"))
    tagged, failed = isolate(articles, lambda batch: [tag(a, rules) for a in enrich_all(batch)])
    refused += [(encode(article), f"unprocessable article {article.id}: {why}") for article, why in failed]
    return tagged, refused


def register(app: faust.App, topics: Topics, rules: RuleSet, settings: Settings, health: Health) -> None:
    health.expect(STAGE)

    @app.agent(topics.raw, name="newsmon.tagging")
    async def normalise_and_tag(stream: faust.StreamT) -> None:
        async for payloads in stream.take(settings.stream_batch_size, within=settings.stream_batch_seconds):
            tagged, refused = tag_all(payloads, rules)
            for payload, reason in refused:
                await dead_letter(topics, STAGE, reason, payload)
            if tagged:
                for message in pack(tagged, settings.stream_batch_bytes):
                    await topics.dedupe.send(value=message)
            health.ok(STAGE)
