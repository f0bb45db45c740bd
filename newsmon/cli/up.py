"""`newsmon up`: the whole monitor in the foreground — servers, worker, collectors.

With `--demo` it reads the bundled sample feeds when the network is unreachable (and the
default public feeds when it is), waits until every article went through, and prints a
summary a newcomer can act on. Ctrl-C or SIGTERM stops every child cleanly.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from newsmon.log import kv
from newsmon.settings import Settings
from newsmon.stack import Stack, StackError, ensure_topics, wait_drained

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="start the embedded stack (broker, Elasticsearch API, worker, collectors)")
    parser.add_argument("--feed", action="append", dest="feeds", metavar="URL", help="feed to poll (repeatable; replaces the configured list; file:// works)")
    parser.add_argument("--data-dir", type=Path, help="where state lives (default ./.newsmon)")
    parser.add_argument("--demo", action="store_true", help="bundled sample feeds when offline, then a summary")
    parser.add_argument("--once", action="store_true", help="one collection pass, wait until processed, print the summary, exit")
    parser.set_defaults(func=run)


def sample_feeds() -> list[str]:
    folder = Path(str(resources.files("newsmon").joinpath("samples", "feeds")))
    return [path.resolve().as_uri() for path in sorted(folder.glob("*.xml"))]


def network_reachable(feeds: list[str], timeout: float = 3.0) -> bool:
    """True when the first remote feed's host resolves and accepts a connection."""
    for url in feeds:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            try:
                socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout).close()
                return True
            except OSError:
                return False
    return False


def choose_feeds(args: argparse.Namespace, settings: Settings) -> list[str]:
    if args.feeds:
        return args.feeds
    if args.demo and not network_reachable(settings.feeds):
        log.info(kv(event="offline", detail="network unreachable: using the bundled sample feeds"))
        return sample_feeds()
    return settings.feeds


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    settings = settings.model_copy(update={"feeds": choose_feeds(args, settings)})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return loop.run_until_complete(serve(stack, stop, once=args.once))
    except StackError as exc:
        log.error(kv(event="stack-failed", error=exc))
        return 1
    finally:
        stack.stop()
        loop.close()


async def serve(stack: Stack, stop: asyncio.Event, once: bool) -> int:
    from collectors.run import collect_once, run_collectors
    from newsmon.core.rules import load_rules
    from newsmon.es.stats import print_summary

    settings = await asyncio.to_thread(stack.start_servers)
    await asyncio.to_thread(stack.wait_reachable)
    await ensure_topics(settings, load_rules(settings.topic_rules).topics)
    stack.start_worker()
    log.info(kv(event="up", kafka=settings.kafka_bootstrap_servers, elasticsearch=settings.elasticsearch_url,
                live=f"http://{settings.web_host}:{settings.web_port}/", feeds=len(settings.feeds)))
    if once:
        await collect_once(settings, settings.feeds)
        drained = await wait_drained(settings, stack)
        stack.check_worker()
        await asyncio.to_thread(print_summary, settings, drained)
        return 0
    collectors = asyncio.create_task(run_collectors(settings, settings.feeds, stop))
    while not stop.is_set():
        stack.check_worker()
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except asyncio.TimeoutError:
            pass
    log.info(kv(event="stopping"))
    await collectors
    return 0
