"""The `newsmon` command: one sub-command per thing a user does.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
its parser and sets ``func=run`` where ``run(args, settings) -> int`` is the exit code.
Settings are loaded here, once, and passed in; a wrong setting, an unreadable config file or
a bad flag is one line on stderr and exit code 2, before any command starts (EXIT_CODES).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from newsmon.log import configure_logging
from newsmon.settings import ConfigError, load_settings

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

EXIT_CODES = """exit codes: 0 done; 1 the command ran and failed (see its --help); 2 a usage or
configuration error (a bad flag, a wrong value in NEWSMON_* or newsmon.toml, a missing input file,
a taken port; for search, es, kibana check, alerts and reprocess also their server being down),
said in one line on stderr before anything is changed; 130 Ctrl-C."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` a known sub-command, just that one: each sub-command
    module imports its own stack (Elasticsearch, Faust, ...), and loading all of them
    costs most of a second that `newsmon process` on a small file would spend waiting."""
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="Streaming news monitor: feeds -> Kafka -> Faust (dedupe, tagging) -> Elasticsearch.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    try:
        settings = load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"newsmon: {line}", file=sys.stderr)
        return 2
    if args.command != "up":  # `up` decides itself which servers to start
        settings = settings.with_embedded_defaults()
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (`| head`): not an error; keep Python's exit flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # fd 1: the command may have closed sys.stdout
        return 0


if __name__ == "__main__":
    sys.exit(main())
