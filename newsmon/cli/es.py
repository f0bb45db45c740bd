"""`newsmon es`: operator actions on the Elasticsearch side.

`setup` installs templates, the ILM policy (where the server has ILM) and the initial
indices; the compose `setup` service and fresh installs run it once, and it is safe to
re-run. `prune` is the retention for servers without ILM: it deletes whole months.
"""
from __future__ import annotations

import argparse
import sys

from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError

from newsmon.cli.arguments import positive_count
from newsmon.core.urls import redact_url
from newsmon.es import ElasticsearchError
from newsmon.es.client import elasticsearch_url, make_client
from newsmon.es.templates import ensure_templates, prune
from newsmon.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("es", help="set up or prune the Elasticsearch indices")
    actions = parser.add_subparsers(dest="es_action", metavar="ACTION", required=True)
    actions.add_parser("setup", help="install index templates, ILM policy (if available) and indices")
    pruner = actions.add_parser("prune", help="delete monthly article indices older than --keep-months")
    pruner.add_argument("--keep-months", type=positive_count, required=True, help="months to keep, the current one included")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    client = make_client(settings)
    try:
        if args.es_action == "setup":
            ensure_templates(client, settings)
        else:
            for name in prune(client, settings, args.keep_months):
                print(name)
    except (ConnectionError, ConnectionTimeout) as exc:
        print(f"newsmon es: Elasticsearch unreachable at {redact_url(elasticsearch_url(settings))}: {exc}", file=sys.stderr)
        return 2
    except (ApiError, ElasticsearchError, ValueError) as exc:
        print(f"newsmon es {args.es_action}: {exc}", file=sys.stderr)
        return 1
    return 0
