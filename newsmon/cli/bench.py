"""`newsmon bench`: every performance figure in one run, on fresh embedded servers.

Prints a short table and writes JSON (bench/results/latest.json by default) with the
machine it ran on, so the README's figures can be traced to a run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from newsmon.embedded import free_port
from newsmon.settings import Settings

SKIPPABLE = ("process", "dedupe", "stages", "extraction", "latency")
PAGES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pages"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="measure raw server limits, end-to-end throughput, latency, process speed")
    parser.add_argument("--articles", type=int, default=20_000, help="burst size for throughput figures")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="how long to feed at 100 articles/s")
    parser.add_argument("--dedupe-articles", type=int, default=50_000, help="articles for the dedupe cost and state-size figures")
    parser.add_argument("--stage-articles", type=int, default=2_000, help="coverage articles for the per-stage costs")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE,
                        help="leave a part out (repeatable), e.g. while tuning the end-to-end figure")
    parser.add_argument("--output", type=Path, default=Path("bench/results/latest.json"))
    parser.set_defaults(func=run)


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def write_jsonl(articles: list, path: Path) -> Path:
    """The articles as `newsmon process` reads them: one JSON object a line."""
    with path.open("wb") as out:
        for a in articles:
            out.write(orjson.dumps({"id": a.id, "url": a.url, "title": a.title, "content": a.content,
                                    "published": a.published, "source": a.source}) + b"\n")
    return path


def process_figures(articles: list, workdir: Path, prefix: str = "process") -> dict[str, float]:
    """`newsmon process` as a user runs it: a child process over a JSON-lines file. The wall-clock
    rate includes start-up (loading the rules and the language model, about 0.5 s); the loop rate
    and the peak memory are the command's own summary line, articles read to lines written."""
    path = write_jsonl(articles, workdir / f"{prefix}.jsonl")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "process", "--input", str(path), "--output", os.devnull],
                          check=True, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    summary = dict(field.split("=", 1) for field in done.stderr.strip().splitlines()[-1].split()[2:])
    return {f"{prefix}_articles": len(articles), f"{prefix}_per_s": len(articles) / seconds,
            f"{prefix}_loop_per_s": float(summary["per_s"]), f"{prefix}_peak_rss_mb": float(summary["peak_rss_mb"])}


def old_corpus_figure(count: int, workdir: Path) -> dict[str, float]:
    """`newsmon process` on the older English-like corpus, kept beside the coverage figure for comparison."""
    from newsmon.bench.corpus import synthetic_articles

    return {"process_old_corpus_per_s": process_figures(list(synthetic_articles(count, seed=1)), workdir, "old")["old_per_s"]}


def stage_figures(articles: list, rules: object) -> dict[str, float]:
    """CPU µs per article of each stage (bench/stages.py), and language identification alone."""
    from newsmon.bench.language import measure_language_id
    from newsmon.bench.stages import stage_costs
    from newsmon.core.pipeline import enrich_all

    figures = {f"stage_{name}": value for name, value in stage_costs(articles, rules).items()}
    texts = [f"{a.title}\n{a.text}" for a in enrich_all(articles)]
    return {**figures, "language_id_coverage_us": measure_language_id(texts, rounds=3),
            "language_id_coverage_cold_us": measure_language_id(texts, rounds=3, cold=True)}


def extraction_figures() -> dict[str, float]:
    """Page extraction speed on one core over the extraction dev set (tests/fixtures/pages)."""
    from newsmon.bench.extraction import dev_pages, pages_per_second

    per_s = pages_per_second(dev_pages(PAGES), min_seconds=3.0)
    return {"extraction_pages_per_s_per_core": per_s, "extraction_ms_per_page": 1000 / per_s if per_s else 0.0}


def measure(args: argparse.Namespace, settings: Settings, workdir: Path, console: Console) -> dict[str, object]:
    from newsmon.bench import dedupe, pipeline, raw
    from newsmon.bench.coverage import coverage_articles
    from newsmon.core.pipeline import enrich
    from newsmon.core.rules import load_rules
    from newsmon.stack import Stack, ensure_topics

    articles = list(coverage_articles(args.articles, seed=1))
    results: dict[str, object] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "corpus": "coverage (bench/coverage.py)"}
    if "process" not in args.skip:
        console.print(f"[bold]process[/]: {len(articles)} coverage articles through newsmon process, and the old corpus")
        results.update(process_figures(articles, workdir))
        results.update(old_corpus_figure(len(articles), workdir))
    if "stages" not in args.skip:
        console.print(f"[bold]stages[/]: CPU per article of each stage over {args.stage_articles} coverage articles")
        results.update(stage_figures(articles[:args.stage_articles], load_rules(settings.topic_rules)))
    if "extraction" not in args.skip:
        console.print("[bold]extraction[/]: pages per second on one core (extraction dev set)")
        results.update(extraction_figures())
    if "dedupe" not in args.skip:
        console.print(f"[bold]dedupe state[/]: {args.dedupe_articles} coverage articles through the deduper alone")
        stream = ((a.id, a.text, a.language) for a in map(enrich, coverage_articles(args.dedupe_articles, seed=5)))
        results.update({f"dedupe_{name}": value for name, value in dedupe.run(args.dedupe_articles, stream).items()})

    bench_settings = settings.model_copy(update={
        "kafka_bootstrap_servers": None, "elasticsearch_url": None, "data_dir": workdir / "stack",
        "embedded_kafka_port": free_port(), "embedded_elasticsearch_port": free_port(), "web_port": free_port(),
    })
    stack = Stack(bench_settings)
    try:
        live = stack.start_servers()
        console.print("[bold]raw limits[/]: bare aiokafka and elasticsearch clients")
        rules = load_rules(live.topic_rules)
        results.update(raw.measure(live.kafka_bootstrap_servers, live.elasticsearch_url, articles[:10_000], rules))
        asyncio.run(ensure_topics(live, rules.topics))
        stack.start_worker()
        console.print("[bold]warm-up[/]: waiting for the worker to join and index")
        pipeline.throughput(live, list(coverage_articles(50, seed=2)), timeout=180)
        if "latency" not in args.skip:
            console.print(f"[bold]latency[/]: 100 articles/s for {args.latency_seconds:.0f}s")
            results.update(pipeline.latency(live, list(coverage_articles(int(100 * args.latency_seconds), seed=3))))
        console.print(f"[bold]end to end[/]: burst of {len(articles)} coverage articles")
        watched = {"worker": stack.worker.pid, **{server.name: server.process.pid for server in stack.servers if server.process}}
        results.update(pipeline.throughput(live, list(coverage_articles(args.articles, seed=4)), processes=watched))
        stack.check_worker()
    finally:
        stack.stop()
    return results


def output_problem(path: Path) -> str | None:
    """Why the results could not be written at the end of a run of many minutes, told before it starts."""
    if path.is_dir():
        return f"--output {path} is a folder"
    folder = next(p for p in [path.parent, *path.parent.parents] if p.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"--output {path}: cannot create files in {folder}"
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    if problem := output_problem(args.output):
        print(f"newsmon bench: {problem}", file=sys.stderr)
        return 2
    console = Console(stderr=True)
    workdir = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    try:
        results = measure(args, settings, workdir, console)
    finally:
        shutil.rmtree(workdir)  # the servers' data: about 2 GB a run
    results["e2e_to_slowest_raw"] = results["e2e_per_s"] / results["slowest_raw_per_s"]
    results["e2e_to_es_bulk_plain"] = results["e2e_per_s"] / results["es_bulk_plain_per_s"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    table = Table("figure", "value")
    for key, value in results.items():
        if key != "machine":
            table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
    console.print(f"written to {args.output}")
    return 0
