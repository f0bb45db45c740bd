"""`newsmon replay`: publish historical articles into news.raw, as live collection would.

Archives (JSON lines, RSS/Atom files, gzipped or not, folders) are read with the
collectors' own parser and normaliser and published with the collectors' own publisher,
in publication order, marked as replayed. Ids are deterministic, so a second replay of
the same archive lands on the same documents and alerts nobody twice.

A bad line or file costs only itself: it is reported on stderr with file, line and reason
and counted by kind (collectors/replay.py says which and why they are not dead-lettered);
a record too large for the broker is cut or dead-lettered by the publisher. The run ends
with one summary line: read, published, cut, dead-lettered, skipped and rejected by reason.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from newsmon.cli.arguments import positive_number
from newsmon.collectors.publisher import ONE_SHOT_RETRY, Publisher, PublishError
from newsmon.collectors.replay import (
    PageReplay,
    Rejection,
    archive_files,
    read_archive,
)
from newsmon.core.pipeline import enrich, tag
from newsmon.core.rules import load_rules
from newsmon.core.times import (
    TimeFormatError,
    epoch_from_iso,
    iso_from_datetime,
    parse_iso,
)
from newsmon.schemas.article import Article
from newsmon.settings import Settings

BATCH = 500
PLAIN_PROGRESS_EVERY_SECONDS = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("replay", help="publish archived articles (JSON lines, RSS/Atom, .gz, folders) into news.raw")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--since", type=parse_date, help="only articles published at or after (YYYY-MM-DD or ISO 8601)")
    parser.add_argument("--until", type=parse_date, help="only articles published before")
    parser.add_argument("--speed", type=parse_speed, default=None, metavar="N|max",
                        help="max (default): as fast as the pipeline takes; N: N times real time, in publication order")
    parser.add_argument("--topic-rules", type=Path, help="replay only articles these rules tag (backfill one topic)")
    parser.add_argument("--alerts", action="store_true", help="let replayed stories alert subscribers (off by default)")
    parser.set_defaults(func=run)


def parse_date(value: str) -> str:
    try:
        return iso_from_datetime(parse_iso(value))
    except TimeFormatError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use YYYY-MM-DD or ISO 8601)") from None


def parse_speed(value: str) -> float | None:
    return None if value == "max" else positive_number(value, "a number > 0 or 'max'")


def select(args: argparse.Namespace, counts: Counter[str], rejections: list[Rejection],
           pages: PageReplay | None = None) -> list[Article]:
    """Read every file; keep in-range, first-seen articles (optionally only rule matches), in publication order.
    Teaser entries get their archived page's text again through `pages`."""
    rules = load_rules(args.topic_rules) if args.topic_rules else None
    chosen: dict[str, Article] = {}
    for path in archive_files(args.paths):
        for item in read_archive(path, pages):
            if isinstance(item, Rejection):
                rejections.append(item)
                continue
            counts["read"] += 1
            counts["pages re-extracted"] += item.body_source == "page"
            if (args.since and item.published < args.since) or (args.until and item.published >= args.until):
                counts["skipped: outside --since/--until"] += 1
            elif item.id in chosen:
                counts["skipped: duplicate"] += 1
            elif rules is not None and not tag(enrich(item), rules).topics:
                counts["skipped: no topic rule matched"] += 1
            else:
                chosen[item.id] = msgspec.structs.replace(item, replay_alerts=args.alerts)
    return sorted(chosen.values(), key=lambda a: a.published)


async def publish(settings: Settings, articles: list[Article], speed: float | None, counts: Counter[str]) -> None:
    """Publish in publication order; with `speed`, keep history's spacing divided by it."""
    console = Console(stderr=True)
    progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]:>7.0f}/s"),
                        TimeRemainingColumn(), console=console, disable=not console.is_terminal)
    task = progress.add_task("replay", total=len(articles), rate=0.0)
    started, last_line = time.monotonic(), time.monotonic()
    history_start = epoch_from_iso(articles[0].published) if articles else 0.0
    async with Publisher(settings, stage="replay", policy=ONE_SHOT_RETRY) as publisher:
        with progress:
            for offset in range(0, len(articles), 1 if speed else BATCH):
                batch = articles[offset: offset + (1 if speed else BATCH)]
                if speed:
                    due = started + (epoch_from_iso(batch[0].published) - history_start) / speed
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                try:
                    await publisher.publish(batch)
                finally:
                    counts["published"], counts["cut to size"] = publisher.acknowledged, publisher.cut
                    counts["dead-lettered"] = publisher.dead_lettered
                elapsed = max(time.monotonic() - started, 1e-6)
                progress.update(task, advance=len(batch), rate=counts["published"] / elapsed)
                if not console.is_terminal and time.monotonic() - last_line > PLAIN_PROGRESS_EVERY_SECONDS:
                    print(f"replay: {counts['published']}/{len(articles)} published, {counts['published'] / elapsed:.0f}/s",
                          file=sys.stderr)
                    last_line = time.monotonic()


def print_summary(counts: Counter[str], rejections: list[Rejection]) -> None:
    for rejection in rejections:
        print(f"replay: rejected {rejection}", file=sys.stderr)
    parts = [f"read {counts['read']}", f"published {counts['published']}",
             f"pages re-extracted {counts['pages re-extracted']}", f"cut to size {counts['cut to size']}",
             f"dead-lettered {counts['dead-lettered']}"]
    parts += [f"{name} {value}" for name, value in sorted(counts.items()) if name.startswith("skipped")]
    kinds = Counter(rejection.kind for rejection in rejections)
    by_kind = f" ({', '.join(f'{kind} {n}' for kind, n in sorted(kinds.items()))})" if kinds else ""
    parts.append(f"rejected {len(rejections)}{by_kind}")
    print("replay summary: " + ", ".join(parts))


def run(args: argparse.Namespace, settings: Settings) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"newsmon replay: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    rejections: list[Rejection] = []
    pages = PageReplay(settings.data_dir, settings.full_text, settings.full_text_min_words)
    articles = select(args, counts, rejections, pages)
    try:
        asyncio.run(publish(settings, articles, args.speed, counts))
    except PublishError as exc:
        print(f"newsmon replay: publishing failed after {counts['published']} articles: {exc}", file=sys.stderr)
        print_summary(counts, rejections)
        return 1
    print_summary(counts, rejections)
    return 0
