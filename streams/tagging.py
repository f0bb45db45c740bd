"""Stage 1, scaled out over news.raw partitions: decode, normalise, tag.

Stateless, so any number of workers share it. Output goes to the single-partition
dedupe topic, where every article meets every earlier one.
"""
from __future__ import annotations

import logging

import faust
import msgspec

from newsmon.core.pipeline import normalise, tag
from newsmon.core.rules import RuleSet
from schemas.article import decode_article, encode
from streams.topics import Topics, dead_letter

log = logging.getLogger(__name__)


def register(app: faust.App, topics: Topics, rules: RuleSet) -> None:
    @app.agent(topics.raw, name="newsmon.tagging")
    async def normalise_and_tag(stream: faust.StreamT) -> None:
        async for key, payload in stream.items():
            try:
                article = decode_article(payload)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await dead_letter(topics, "tagging", f"undecodable article: {exc}", payload)
                continue
            article = tag(normalise(article), rules)
            await topics.dedupe.send(key=article.id.encode(), value=encode(article))
