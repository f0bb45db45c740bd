"""`newsmon rules test [FILE]`: check a topic rule file before it goes live.

Rule authors edit schemas/topics.yaml (or their own copy) and need a fast answer to "did I
break anything, and what would this catch?": every topic's example sentences are run, each
failure is shown with the rules that fired, and optionally a corpus or a labelled set is tagged.
Exit codes: 0 all examples pass, 1 an example fails, 2 the rule file (or an input file) is unusable.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import msgspec
import orjson

from newsmon.core.pipeline import article_from_record, enrich
from newsmon.core.rules import (
    ExampleReport,
    RuleFileError,
    RuleSet,
    check_examples,
    load_rules,
)
from newsmon.core.rules_eval import LabelledFileError, read_labelled, score
from newsmon.settings import Settings


class CorpusError(ValueError):
    """A corpus line that is not an article."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("rules", help="topic rules")
    actions = parser.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="run the rule file's example sentences (exit 1 on a failure, 2 on a bad file)")
    test.add_argument("file", nargs="?", type=Path, help="rule file (default: settings.topic_rules or schemas/topics.yaml)")
    test.add_argument("--corpus", type=Path, metavar="FILE.jsonl", help="also print per-topic hit counts over these articles")
    test.add_argument("--labelled", type=Path, metavar="FILE.tsv", help="also print precision/recall on a labelled set")
    test.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        ruleset = load_rules(args.file or settings.topic_rules)
    except RuleFileError as exc:
        print(f"bad rule file: {exc}")
        return 2
    report = check_examples(ruleset)
    print_report(report)
    try:
        if args.corpus:
            print_corpus_hits(ruleset, args.corpus)
        if args.labelled:
            print("\n".join(["", f"labelled set {args.labelled}:"] + score(ruleset, read_labelled(args.labelled)).lines()))
    except (OSError, CorpusError, LabelledFileError) as exc:
        print(f"cannot read input: {exc}")
        return 2
    return 0 if report.ok else 1


def print_report(report: ExampleReport) -> None:
    for topic in report.topics:
        print(
            f"{topic.topic:<22} must-match {topic.match_passed}/{topic.match_total}  "
            f"must-not-match {topic.no_match_passed}/{topic.no_match_total}"
        )
        for failure in topic.failures:
            if failure.expected:
                print(f"  MISSED   {failure.sentence}\n           no {topic.topic} rule fired"
                      + (f" (fired: {', '.join(failure.fired)})" if failure.fired else ""))
            else:
                fired = ", ".join(k for k in failure.fired if k.startswith(f"{topic.topic}:"))
                print(f"  WRONGLY  {failure.sentence}\n           fired: {fired}")
    failed = sum(len(t.failures) for t in report.topics)
    print("all examples pass" if not failed else f"{failed} example(s) fail")


def print_corpus_hits(ruleset: RuleSet, path: Path) -> None:
    topics: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    total = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                article = enrich(article_from_record(orjson.loads(line)))
            except (orjson.JSONDecodeError, ValueError, msgspec.ValidationError) as exc:
                raise CorpusError(f"{path}:{number}: {exc}") from exc
            matches = ruleset.tag(article.title, article.text, article.language)
            topics.update({m.topic for m in matches})
            rules.update(m.key for m in matches)
            total += 1
    print(f"\ncorpus {path}: {total} articles")
    for topic in ruleset.topics:
        print(f"{topic:<22} {topics[topic]:>6} articles")
        for key, count in sorted((k, c) for k, c in rules.items() if k.startswith(f"{topic}:")):
            print(f"  {key:<56} {count:>6}")
