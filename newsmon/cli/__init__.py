"""The `newsmon` command: one sub-command per thing a user does.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
its parser and sets ``func=run`` where ``run(args, settings) -> int`` is the exit code.
Settings are loaded here, once, and passed in.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from newsmon.log import configure_logging
from newsmon.settings import Settings

# Order is the order `newsmon --help` lists them in.
COMMANDS = [
    "up",
    "collect",
    "process",
    "replay",
    "reprocess",
    "alerts",
    "rules",
    "search",
    "kibana",
    "es",
    "bench",
    "worker",
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` a known sub-command, just that one: each sub-command
    module imports its own stack (Elasticsearch, Faust, ...), and loading all of them
    costs most of a second that `newsmon process` on a small file would spend waiting."""
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="Streaming news monitor: feeds -> Kafka -> Faust (dedupe, tagging) -> Elasticsearch.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in [only] if only in COMMANDS else COMMANDS:
        importlib.import_module(f"newsmon.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose)
    settings = Settings()
    if args.command != "up":  # `up` decides itself which servers to start
        settings = settings.with_embedded_defaults()
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
