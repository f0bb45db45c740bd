"""`newsmon collect`: poll feeds and publish their new articles to Kafka, or print them.

Without `--stdout` it publishes to settings.kafka_bootstrap_servers (by default the
embedded broker `newsmon up` starts); an unreachable broker is retried with backoff, for
ever when polling, for about a minute with `--once`.
`--stdout` turns the collectors into a plain command-line tool (JSON lines on stdout,
one line per failed feed on stderr) that needs no broker and keeps no fetch state, so
the same invocation always prints what the feeds currently hold.

Exit codes: 0 the pass completed (a failed feed is one stderr line and backs off, it does
not fail the run: the other feeds' articles are out); 1 the fetch state could not be saved
(full or read-only disk: the next run re-sends what this one sent, deduped downstream by
id), or with `--once` the broker stayed unreachable (those articles stay unseen and the next
run fetches them again); 2 a usage error.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from newsmon.cli.arguments import positive_number
from newsmon.collectors.pages import shard_feeds
from newsmon.collectors.publisher import ONE_SHOT_RETRY, PUBLISH_RETRY, Publisher
from newsmon.collectors.run import UNPUBLISHED, CycleReport, Sink, collect_once, poll
from newsmon.collectors.state import StateStore
from newsmon.schemas.article import Article, encode
from newsmon.settings import Settings


def positive_seconds(value: str) -> float:
    return positive_number(value, "a number of seconds > 0")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="poll RSS/Atom feeds, publish new articles to Kafka (or print them)",
        description="Poll RSS/Atom feeds and publish new articles to the raw topic. "
        "Feed failures are reported one line per feed on stderr; the exit code is 0 once the run completed, "
        "1 when the fetch state could not be saved or (with --once) the broker stayed unreachable, 2 on a usage error.",
    )
    parser.add_argument("--once", action="store_true", help="one pass over the feeds, then exit")
    parser.add_argument("--feed", action="append", metavar="URL",
                        help="feed URL (http, https or file://); repeatable; replaces the configured feeds")
    parser.add_argument("--stdout", action="store_true",
                        help="print one JSON object per article instead of publishing (no broker, no fetch state)")
    parser.add_argument("--interval", type=positive_seconds, metavar="S",
                        help="seconds between polls (default: poll_interval_seconds setting)")
    parser.add_argument("--no-full-text", action="store_true",
                        help="never fetch the linked article page: a teaser stays a teaser (full_text=never)")
    parser.add_argument("--shard", type=shard, metavar="K/N",
                        help="poll only this collector's share of the feeds, split by host (1/3, 2/3, 3/3): "
                        "one host's pages are then fetched by one collector")
    parser.set_defaults(func=run)


def shard(value: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N, or an argparse error."""
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N (e.g. 2/3), got {value!r}")
    return int(index), int(count)


def run(args: argparse.Namespace, settings: Settings) -> int:
    feeds = args.feed or settings.feeds
    if args.shard:
        feeds = shard_feeds(feeds, *args.shard)
    if args.interval:
        settings = settings.model_copy(update={"poll_interval_seconds": args.interval})
    if args.no_full_text:
        settings = settings.model_copy(update={"full_text": "never"})
    report, stopped = asyncio.run(collect(settings, feeds, once=args.once, to_stdout=args.stdout))  # `| head`: main()
    unpublished = report.count(UNPUBLISHED) if report is not None and not stopped else 0  # a stop is no failure
    if unpublished:
        print(f"newsmon collect: the articles of {unpublished} feed(s) not published (broker unreachable); "
              "they stay unseen and are fetched again by the next run", file=sys.stderr)
    return 1 if report is not None and (report.state_error or unpublished) else 0


async def print_articles(articles: list[Article]) -> None:
    out = sys.stdout.buffer
    out.write(b"".join(encode(article) + b"\n" for article in articles))
    out.flush()


async def collect(settings: Settings, feeds: list[str], *, once: bool, to_stdout: bool) -> tuple[CycleReport | None, bool]:
    """The pass's report (None when polling), and whether a signal stopped the run."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    store = StateStore(None) if to_stdout else StateStore.load(settings.data_dir)
    if to_stdout:
        return await cycle_or_poll(settings, feeds, print_articles, stop, store, once), stop.is_set()
    async with Publisher(settings, stop, policy=ONE_SHOT_RETRY if once else PUBLISH_RETRY) as publisher:
        return await cycle_or_poll(settings, feeds, publisher.publish, stop, store, once), stop.is_set()


async def cycle_or_poll(settings: Settings, feeds: list[str], sink: Sink, stop: asyncio.Event,
                        store: StateStore, once: bool) -> CycleReport | None:
    """The report of the one pass with `once`; polling returns None when stopped."""
    if once:
        return await collect_once(settings, feeds, sink, store=store)
    await poll(settings, feeds, sink, stop, store)
    return None
