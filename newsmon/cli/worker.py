"""`newsmon worker`: run the Faust worker (normally started by `newsmon up`, or one per container).

A taken web port or a data dir it cannot write is one line and exit code 2. It then waits for
the broker and Elasticsearch to accept connections (one line per retry, as `up` does; a container
may start before its servers) and gives up after about five minutes with one line and exit code 2,
instead of Faust's traceback from a failed start.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from newsmon.cli.arguments import port_number
from newsmon.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run the Faust stream worker against configured Kafka/Elasticsearch")
    parser.add_argument("--web-port", type=port_number, help="port of the worker's web server (default: settings.web_port)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import faust

    from newsmon.cli.up import start_problems
    from newsmon.stack import Stack, StackError
    from newsmon.streams.app import create_app

    if args.web_port:
        settings = settings.model_copy(update={"web_port": args.web_port})
    if not settings.kafka_bootstrap_servers or not settings.elasticsearch_url:
        raise SystemExit("newsmon worker needs KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL (newsmon up sets both)")
    problems = start_problems(settings, ["web_port"])
    for problem in problems:
        print(f"newsmon worker: {problem}", file=sys.stderr)
    if problems:
        return 2
    try:
        asyncio.run(Stack(settings).wait_reachable())
    except StackError as exc:
        print(f"newsmon worker: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    worker = faust.Worker(app, loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0
