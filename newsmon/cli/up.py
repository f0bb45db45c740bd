"""`newsmon up`: the whole monitor in the foreground — servers, worker, collectors.

With `--demo` it reads the bundled sample feeds when the network is unreachable (and the
default public feeds when it is), waits until every article went through, and prints a
summary a newcomer can act on. Ctrl-C or SIGTERM stops every child cleanly, also while
`up` is still waiting for an external Kafka or Elasticsearch. It exits 1, with one line saying
why, when the worker, an embedded server or the collectors die, or a worker stage stays failing
past `stage_failure_limit_seconds` (the worker's /health names it); 2, before starting anything,
when a port it would listen on is taken or the data dir cannot be written.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from newsmon.embedded import EmbeddedServerError, port_open
from newsmon.es.stats import print_summary
from newsmon.core.rules import RuleFileError
from newsmon.log import kv
from newsmon.retry import RetryStopped
from newsmon.samples import sample_feed_urls
from newsmon.settings import Settings
from newsmon.stack import Stack, StackError, alert_counts, ensure_topics, wait_drained

log = logging.getLogger(__name__)
COLLECTORS_GRACE_SECONDS = 20.0  # for the collectors' cycle in flight after a stop: a fetch, a publish


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="start the embedded stack (broker, Elasticsearch API, worker, collectors)")
    parser.add_argument("--feed", action="append", dest="feeds", metavar="URL", help="feed to poll (repeatable; replaces the configured list; file:// works)")
    parser.add_argument("--data-dir", type=Path, help="where state lives (default ./.newsmon)")
    parser.add_argument("--demo", action="store_true", help="bundled sample feeds when offline, then a summary")
    parser.add_argument("--once", action="store_true", help="one collection pass, wait until processed, print the summary, exit")
    parser.add_argument("--no-full-text", action="store_true", help="never fetch linked article pages (full_text=never)")
    parser.set_defaults(func=run)


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
        log.info(kv(event="offline", detail="network unreachable: using the bundled sample feeds, article pages not fetched"))
        return sample_feed_urls()
    return settings.feeds


def offline_settings(settings: Settings) -> Settings:
    """The bundled samples offline: their links name hosts that cannot be reached, so the
    article pages are not asked for (one robots-unavailable line per host otherwise)."""
    return settings.model_copy(update={"full_text": "never"}) if settings.feeds == sample_feed_urls() else settings


def taken_ports(settings: Settings, names: list[str]) -> list[str]:
    """One line per port setting in `names` where something already accepts connections."""
    host = {"web_port": settings.web_host}
    return [f"port {getattr(settings, name)} ({name}, NEWSMON_{name.upper()}) is already in use"
            for name in names if port_open(getattr(settings, name), host.get(name, "127.0.0.1"))]


def start_problems(settings: Settings, ports: list[str]) -> list[str]:
    """What would make a start fail half-way, said before anything starts: a port (of these
    settings) another program holds, a data dir that cannot be created or written."""
    problems = taken_ports(settings, ports)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=settings.data_dir).close()
    except OSError as exc:
        problems.append(f"data dir {settings.data_dir} is not writable: {exc.strerror}")
    return problems


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    if args.no_full_text:
        settings = settings.model_copy(update={"full_text": "never"})
    settings = offline_settings(settings.model_copy(update={"feeds": choose_feeds(args, settings)}))
    ports = ["web_port"]
    ports += [] if settings.kafka_bootstrap_servers else ["embedded_kafka_port"]
    ports += [] if settings.elasticsearch_url else ["embedded_elasticsearch_port"]
    problems = start_problems(settings, ports)
    for problem in problems:
        print(f"newsmon up: {problem}", file=sys.stderr)
    if problems:
        return 2
    stack = Stack(settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return loop.run_until_complete(serve(stack, stop, summary=args.demo or args.once, once=args.once))
    except (StackError, EmbeddedServerError) as exc:
        log.error(kv(event="stack-failed", error=exc))
        return 1
    except RuleFileError as exc:
        print(f"newsmon up: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
        loop.close()


async def serve(stack: Stack, stop: asyncio.Event, summary: bool, once: bool) -> int:
    from newsmon.collectors.run import collect_once, run_collectors
    from newsmon.core.rules import load_rules

    settings = await asyncio.to_thread(stack.start_servers)
    try:
        await stack.wait_reachable(stop)
    except RetryStopped:
        log.info(kv(event="stopping", detail="stopped while waiting for the servers"))
        return 0
    topic_ids = load_rules(settings.topic_rules).topics
    await ensure_topics(settings, topic_ids)
    stack.start_worker()
    log.info(kv(event="up", kafka=settings.kafka_bootstrap_servers, elasticsearch=settings.elasticsearch_url,
                live=f"http://{settings.web_host}:{settings.web_port}/", feeds=len(settings.feeds)))
    if summary:  # first pass in the foreground, then say what the monitor holds
        await collect_once(settings, settings.feeds)
        drained = await wait_drained(settings, stack)
        await asyncio.to_thread(print_summary, settings, drained, await alert_counts(settings, topic_ids))
        if once:
            return 0
        print(f"\nStill running: polling {len(settings.feeds)} feeds every {settings.poll_interval_seconds:.0f}s. Ctrl-C stops.", flush=True)
    collectors = asyncio.create_task(run_collectors(settings, settings.feeds, stop))
    try:
        while not stop.is_set():
            await stack.check()  # the worker, the embedded servers, every worker stage
            if collectors.done() and not stop.is_set():  # after a stop they end by design
                raise StackError(f"collectors stopped: {collectors.exception() or 'returned'}")
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            except asyncio.TimeoutError:
                pass
        log.info(kv(event="stopping"))
    finally:  # a failed check too: the collectors end their cycle before the servers stop
        stop.set()
        error = await wind_down(collectors)
    if error is not None:
        raise StackError(f"collectors stopped: {error}")
    return 0


async def wind_down(collectors: asyncio.Task, grace: float = COLLECTORS_GRACE_SECONDS) -> BaseException | None:
    """Wait for the collectors, told to stop, to end their cycle; cancel them past `grace`.

    Returns the error they ended with. Why: `up` leaving on a failed check with the task still
    running closed the loop under it, which printed a traceback after the one-line reason.
    """
    done, _ = await asyncio.wait({collectors}, timeout=grace)
    if not done:
        collectors.cancel()
        await asyncio.wait({collectors})
        return None
    return collectors.exception()
