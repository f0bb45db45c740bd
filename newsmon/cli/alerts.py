"""`newsmon alerts subscribe`: follow alerts.<topic-id> topics live, for people or scripts.

Reads with partitions assigned by hand (no consumer group), so any number of people can
watch the same topics without taking alerts from each other.
Exit codes: 0 done (--max or --timeout reached); 1 none of the topics exists yet; 2 a usage
error or the broker cannot be reached.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

import msgspec
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from rich.console import Console
from rich.markup import escape

from newsmon.cli.search import safe
from newsmon.kafka import TopicTail, pace_empty_fetches
from newsmon.schemas.article import ALERT_DECODER, Alert
from newsmon.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("alerts", help="alert topics")
    alerts_sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    subscribe = alerts_sub.add_parser("subscribe", help="print alerts of the given topics as they arrive")
    subscribe.add_argument("topics", nargs="+", metavar="TOPIC", help="topic ids, e.g. snapback bushehr north-south-corridor")
    subscribe.add_argument("--from-beginning", action="store_true", help="replay every alert kept, then follow")
    subscribe.add_argument("--json", action="store_true", help="one JSON object per line instead of readable text")
    subscribe.add_argument("--max", type=int, help="stop after this many alerts")
    subscribe.add_argument("--timeout", type=float, help="stop after this many seconds without an alert")
    subscribe.set_defaults(func=run)


def shown(value: str) -> str:
    """Feed text as literal terminal text: control sequences and bidi marks removed, Rich markup escaped."""
    return escape(safe(value))


def render(alert: Alert) -> str:
    """One readable line; feed markup or terminal control sequences in article text cannot style it."""
    if alert.kind == "breaking-volume":
        return f"[bold red]BREAKING[/] [{alert.topic}] {alert.rate:.0f} articles in the window vs baseline {alert.baseline:.1f}"
    return (f"[bold]{shown(alert.published[:16])}[/] [cyan]\\[{alert.topic}][/] {shown(alert.title)} "
            f"[dim]({shown(alert.source)}) {shown(alert.url)} rule={shown(alert.matched_rule)}[/]")


async def subscribe(settings: Settings, args: argparse.Namespace) -> int:
    names = [settings.alerts_topic(t) for t in args.topics]
    pace_empty_fetches(settings.kafka_empty_fetch_wait_seconds)  # a subscriber mostly waits: not on a spinning core
    console = Console(highlight=False, soft_wrap=True)
    seen = 0
    async with TopicTail(settings, names) as tail:
        if tail.missing:
            print(f"newsmon alerts: no such alert topic yet: {', '.join(tail.missing)} (has the worker started?)", file=sys.stderr)
        if not tail.partitions:
            return 1
        if args.max is not None and args.max <= 0:
            return 0
        if not args.from_beginning:
            await tail.seek_end()
        async for batch in tail.follow(timeout_ms=int((args.timeout or 3600) * 1000)):
            if not batch and args.timeout:
                break
            for message in batch:
                try:
                    alert = ALERT_DECODER.decode(message.value)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    print(f"newsmon alerts: skipping unreadable message at {message.topic}:{message.offset}: {exc}", file=sys.stderr)
                    continue
                if args.json:
                    sys.stdout.write(message.value.decode() + "\n")
                    sys.stdout.flush()
                else:
                    console.print(render(alert))
                seen += 1
                if args.max is not None and seen >= args.max:
                    return 0
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(subscribe(settings, args))
    except (KafkaConnectionError, KafkaTimeoutError) as exc:
        print(f"newsmon alerts: Kafka unreachable at {settings.kafka_bootstrap_servers}: {exc}", file=sys.stderr)
        return 2
