"""`newsmon worker`: run the Faust worker (normally started by `newsmon up`, or one per container)."""
from __future__ import annotations

import argparse

from newsmon.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run the Faust stream worker against configured Kafka/Elasticsearch")
    parser.add_argument("--web-port", type=int, help="port of the worker's web server (default: settings.web_port)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import faust

    from newsmon.streams.app import create_app

    if args.web_port:
        settings = settings.model_copy(update={"web_port": args.web_port})
    if not settings.kafka_bootstrap_servers or not settings.elasticsearch_url:
        raise SystemExit("newsmon worker needs KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL (newsmon up sets both)")
    app = create_app(settings)
    worker = faust.Worker(app, loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0
