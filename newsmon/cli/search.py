"""`newsmon search`: find indexed articles from the terminal, newest first.

Prints a table for people or, with --json, one JSON object per line for scripts. Article
text comes from arbitrary feeds, so control characters and terminal markup are
neutralised before anything reaches the terminal.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from newsmon.cli.arguments import positive_count
from newsmon.es.client import make_client
from newsmon.es.search import Hit, SearchError, SearchQuery, search, search_stories, story_line
from newsmon.log import kv
from newsmon.settings import Settings

log = logging.getLogger(__name__)

# C0/C1 controls (incl. ESC) and bidi embedding/override/isolate marks that can spoof terminal output.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="search indexed articles (newest first)")
    parser.add_argument("query", nargs="?", default="", help='words or "quoted phrases"; all must match')
    parser.add_argument("--topic", action="append", default=[], help="only this topic (repeatable)")
    parser.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
    parser.add_argument("--language", action="append", default=[], help="only this language: en, ru, fa (repeatable)")
    parser.add_argument("--since", help="only articles newer than this: 30m, 12h, 7d, 2w or a date")
    parser.add_argument("--limit", type=positive_count, default=20, help="how many articles to show (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--by-story", action="store_true",
                        help="one line per event (story) with its outlets and languages: also reported by ...")
    parser.set_defaults(func=run)


def safe(value: str) -> str:
    return UNSAFE.sub(" ", value).strip()


def render_table(hits: list[Hit], total: int, console: Console) -> None:
    table = Table(title=f"{len(hits)} of {total} articles", show_lines=False, expand=True)
    for column, style in (("title", "bold"), ("source", "cyan"), ("published", "green"), ("topics", "magenta"), ("url", "blue")):
        table.add_column(column, style=style, overflow="fold")
    for hit in hits:
        cells = (hit.title, hit.source, hit.published, ", ".join(hit.topics), hit.url)
        table.add_row(*(Text(safe(cell)) for cell in cells))  # Text: never parsed as rich markup
    console.print(table)


def run(args: argparse.Namespace, settings: Settings) -> int:
    query = SearchQuery(
        text=args.query,
        topics=tuple(args.topic),
        sources=tuple(args.source),
        languages=tuple(args.language),
        since=args.since,
        limit=args.limit,
    )
    if args.by_story:
        return run_by_story(query, args.json, settings)
    try:
        total, hits = search(make_client(settings), settings.index_alias, query)
    except SearchError as exc:
        print(f"newsmon search: {exc}", file=sys.stderr)
        return 2
    log.info(kv(event="search", total=total, shown=len(hits)))
    if args.json:
        for hit in hits:
            sys.stdout.buffer.write(msgspec.json.encode(hit) + b"\n")
        sys.stdout.flush()
    else:
        render_table(hits, total, Console(highlight=False))
    return 0


def run_by_story(query: SearchQuery, as_json: bool, settings: Settings) -> int:
    try:
        total, stories = search_stories(make_client(settings), settings.index_alias, settings.stories_index, query)
    except SearchError as exc:
        print(f"newsmon search: {exc}", file=sys.stderr)
        return 2
    log.info(kv(event="search-by-story", total=total, shown=len(stories)))
    console = Console(highlight=False)
    for story in stories:
        if as_json:
            sys.stdout.buffer.write(msgspec.json.encode(story) + b"\n")
        else:
            console.print(Text(safe(story_line(story))), soft_wrap=True)
    sys.stdout.flush()
    return 0
