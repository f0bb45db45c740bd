"""`newsmon process`: the stream's normalise -> tag -> dedupe logic in one process, no servers.

Rule authors try rules on a corpus with it; benchmarks measure the logic alone with it.
One JSON line out per JSON line in, in input order; a line that cannot be read yields an
`error` line (and a message on stderr) instead of vanishing.
Exit codes: 0 done; 1 the output could not be written to the end (a full disk); 2 the input or
the rule file cannot be read, the output cannot be opened, or --output is the input itself (a
hard link or symlink to it too: refused before anything is truncated).
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import stat
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO

import msgspec
import orjson

from newsmon.core.dedupe import DedupeConfig
from newsmon.core.events import EventConfig
from newsmon.core.pipeline import LocalPipeline, article_from_record
from newsmon.core.rules import RuleFileError, RuleSet, load_rules
from newsmon.schemas.article import Article
from newsmon.settings import Settings

CHUNK = 256  # lines per batch: within the deduper's memory of recent folds (fingerprint.RECENT_TEXTS)
OUTPUT_FIELDS = ("topics", "matched_rules", "cluster_id", "story_id", "duplicate_of", "is_duplicate", "language", "canonical_url", "content_hash")


class InputLineError(ValueError):
    """A JSON line that is not an article; carries the line number."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("process", help="run normalise/dedupe/tag over a JSON-lines file, no Kafka or Elasticsearch")
    parser.add_argument("--input", "-i", required=True, help="articles as JSON lines (id, url, title, content, published, source); - for stdin")
    parser.add_argument("--output", "-o", default="-", help="where to write the JSON lines (default stdout)")
    parser.add_argument("--rules", type=Path, help="topic rule file (default: settings.topic_rules or the shipped schemas/topics.yaml)")
    parser.set_defaults(func=run)


def parse_line(line: bytes, number: int) -> Article:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InputLineError(f"line {number}: not JSON: {exc}") from None
    try:
        return article_from_record(record)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InputLineError(f"line {number}: {exc}") from None


def process_lines(lines: Iterator[bytes], pipeline: LocalPipeline) -> Iterator[bytes]:
    """Yield one output line per non-blank input line, running `CHUNK` lines at a time
    through the pipeline's batch path (stage by stage: faster, same results)."""
    numbered = enumerate(lines, 1)
    while chunk := list(islice(numbered, CHUNK)):
        yield from _process_chunk(chunk, pipeline)


def _process_chunk(chunk: list[tuple[int, bytes]], pipeline: LocalPipeline) -> Iterator[bytes]:
    parsed = [(number, line, _parse_or_error(line, number)) for number, line in chunk if line.strip()]
    done = iter(pipeline.run_all([item for _, _, item in parsed if isinstance(item, Article)]))
    for number, line, item in parsed:
        if isinstance(item, InputLineError):
            print(f"newsmon process: {item}", file=sys.stderr)
            yield orjson.dumps({"id": _raw_id(line), "line": number, "error": str(item)}) + b"\n"
        else:
            article, _ = next(done)
            yield orjson.dumps({"id": article.id, **{name: getattr(article, name) for name in OUTPUT_FIELDS}}) + b"\n"


def _parse_or_error(line: bytes, number: int) -> Article | InputLineError:
    try:
        return parse_line(line, number)
    except InputLineError as exc:
        return exc


def _raw_id(line: bytes) -> str | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


class OutputIsInputError(ValueError):
    """--output names the input file (itself, a hard link or a symlink to it): opening it would truncate the input."""


def _open_in(name: str) -> IO[bytes]:
    return sys.stdin.buffer if name == "-" else open(name, "rb")


def _open_out(name: str, source: IO[bytes]) -> IO[bytes]:
    """The output, refused before anything is truncated when it is the input's own file."""
    try:
        target = os.fstat(sys.stdout.fileno()) if name == "-" else os.stat(name)
    except FileNotFoundError:
        target = None
    if target is not None and stat.S_ISREG(target.st_mode) and os.path.samestat(target, os.fstat(source.fileno())):
        raise OutputIsInputError(f"--output {name} is the input file {source.name}: refusing to overwrite it")
    return sys.stdout.buffer if name == "-" else open(name, "wb")


def _one_line(exc: Exception) -> str:
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        source = _open_in(args.input)
    except OSError as exc:
        print(f"newsmon process: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
    with source:
        try:
            rules = load_rules(args.rules or settings.topic_rules)
            sink = _open_out(args.output, source)
        except (RuleFileError, OutputIsInputError) as exc:
            print(f"newsmon process: {_one_line(exc)}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"newsmon process: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        return _run(source, sink, args.output, rules, settings)


def _run(source: IO[bytes], sink: IO[bytes], output: str, rules: RuleSet, settings: Settings) -> int:
    pipeline = LocalPipeline(
        rules=rules,
        config=DedupeConfig(window_days=settings.dedupe_window_days),
        events_config=EventConfig(window_days=settings.events_window_days),
    )
    gc.freeze()  # the rules live as long as the run: later collections need not scan them
    started, count = time.perf_counter(), 0
    try:
        with sink:
            for count, out in enumerate(process_lines(iter(source), pipeline), 1):
                sink.write(out)
    except BrokenPipeError:
        raise  # the reader left (`| head`): main() ends quietly
    except OSError as exc:  # a full disk, an I/O error: the lines written so far stay, the rest is not claimed
        print(f"newsmon process: cannot write {output}: {exc.strerror or exc} (stopped at line {count})", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"newsmon process: lines={count} seconds={seconds:.2f} per_s={count / max(seconds, 1e-9):.0f} "
          f"stories={len(pipeline.stories)} events={len(pipeline.events)} events_us={pipeline.events_seconds / max(count, 1) * 1e6:.0f} "
          f"peak_rss_mb={peak_mb:.0f}", file=sys.stderr)
    return 0
