"""`newsmon reprocess`: re-tag articles already in news.raw with the current rules.

Reads news.raw from a point in time (Kafka offsets by timestamp), runs the same
normalise + tag functions as the worker, and updates `topics`/`matched_rules` of the
documents already indexed, in place. Nothing is fetched and no document is created.
With `--reextract`, articles whose page is archived get it extracted again by the current
extractor first (`collectors.replay.reextracted`), and their text and the fields derived from
it are updated too; copy groups and stories are not recomputed (replay into a fresh index for that).
Exit codes: 0 done; 1 a document was rejected or Elasticsearch stayed unavailable (run it again:
news.raw still holds every article); 2 a usage error, an unreadable rule file or the broker down.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import msgspec
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from newsmon.cli.replay import parse_date
from newsmon.collectors.replay import reextracted
from newsmon.core.pipeline import enrich_all, tag
from newsmon.core.rules import RuleFileError, load_rules
from newsmon.core.times import epoch_from_iso
from newsmon.es import IndexingUnavailable
from newsmon.es.client import make_client
from newsmon.es.sink import ElasticsearchSink
from newsmon.kafka import TopicTail
from newsmon.schemas.article import Article, decode_article
from newsmon.settings import Settings

BATCH = 500


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("reprocess", help="re-run topic rules over articles already in news.raw; updates documents in place")
    parser.add_argument("--since", type=parse_date, required=True, help="articles that reached news.raw at or after this date")
    parser.add_argument("--rules", type=Path, help="rule file (default: settings.topic_rules / schemas/topics.yaml)")
    parser.add_argument("--reextract", action="store_true",
                        help="extract archived article pages again with the current extractor and update the texts too")
    parser.set_defaults(func=run)


async def read_raw(settings: Settings, since_ms: int) -> list[Article]:
    """Every decodable article that entered news.raw since `since_ms`, last write per id wins."""
    articles: dict[str, Article] = {}
    async with TopicTail(settings, [settings.raw_topic]) as tail:
        await tail.seek_since(since_ms)
        async for record in tail.read_to_end():
            try:
                article = decode_article(record.value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # the worker already sent it to news.dlq with the reason
            articles[article.id] = article
    return list(articles.values())


def run(args: argparse.Namespace, settings: Settings) -> int:
    since_ms = int(epoch_from_iso(args.since) * 1000)
    try:
        rules = load_rules(args.rules or settings.topic_rules)
    except RuleFileError as exc:
        print(f"newsmon reprocess: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    try:
        raw = asyncio.run(read_raw(settings, since_ms))
    except (KafkaConnectionError, KafkaTimeoutError) as exc:
        print(f"newsmon reprocess: Kafka unreachable at {settings.kafka_bootstrap_servers}: {exc}", file=sys.stderr)
        return 2
    redone = [reextracted(a, settings.data_dir) for a in raw] if args.reextract else [None] * len(raw)
    todo = [again or a for a, again in zip(raw, redone)]
    articles = [tag(a, rules) for start in range(0, len(todo), BATCH) for a in enrich_all(todo[start:start + BATCH])]
    sink = ElasticsearchSink(make_client(settings), settings)
    updated, missing, rejected = 0, 0, 0
    for offset in range(0, len(articles), BATCH):
        try:
            result = sink.update_topics(articles[offset: offset + BATCH], bodies=args.reextract)
        except IndexingUnavailable as exc:  # news.raw still holds every article: running it again finishes the job
            print(f"newsmon reprocess: Elasticsearch unavailable after {updated} updates: {exc}", file=sys.stderr)
            return 1
        updated, missing, rejected = updated + result.updated, missing + len(result.missing), rejected + len(result.rejected)
        for article, reason in result.rejected:
            print(f"reprocess: {article.id}: {reason}", file=sys.stderr)
    pages = f", pages re-extracted {sum(again is not None for again in redone)}" if args.reextract else ""
    print(f"reprocess summary: read {len(articles)}{pages}, updated {updated}, not indexed (skipped) {missing}, rejected {rejected}")
    return 1 if rejected else 0
