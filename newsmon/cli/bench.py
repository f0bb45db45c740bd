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
import resource
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


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="measure raw server limits, end-to-end throughput, latency, process speed")
    parser.add_argument("--articles", type=int, default=20_000, help="burst size for throughput figures")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="how long to feed at 100 articles/s")
    parser.add_argument("--dedupe-articles", type=int, default=50_000, help="articles for the dedupe cost and state-size figures")
    parser.add_argument("--skip", action="append", default=[], choices=("process", "dedupe", "latency"),
                        help="leave a part out (repeatable), e.g. while tuning the end-to-end figure")
    parser.add_argument("--output", type=Path, default=Path("bench/results/latest.json"))
    parser.set_defaults(func=run)


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def process_figures(articles: list, workdir: Path) -> dict[str, float]:
    """`newsmon process` as a user runs it: a child process over a JSON-lines file. The wall-clock
    rate includes start-up (loading the rules, about 0.4 s); the loop rate is the command's own
    summary line, articles read to lines written."""
    path = workdir / "corpus.jsonl"
    with path.open("wb") as out:
        for a in articles:
            out.write(orjson.dumps({"id": a.id, "url": a.url, "title": a.title, "content": a.content,
                                    "published": a.published, "source": a.source}) + b"\n")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "process", "--input", str(path), "--output", os.devnull],
                          check=True, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = dict(field.split("=", 1) for field in done.stderr.strip().splitlines()[-1].split()[2:])
    return {"process_articles": len(articles), "process_per_s": len(articles) / seconds,
            "process_loop_per_s": float(summary["per_s"]), "process_peak_rss_mb": peak_mb}


def measure(args: argparse.Namespace, settings: Settings, workdir: Path, console: Console) -> dict[str, object]:
    from newsmon.bench import dedupe, pipeline, raw
    from newsmon.bench.corpus import synthetic_articles
    from newsmon.core.rules import load_rules
    from newsmon.stack import Stack, ensure_topics

    articles = list(synthetic_articles(args.articles, seed=1))
    results: dict[str, object] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if "process" not in args.skip:
        console.print(f"[bold]process[/]: {len(articles)} articles through newsmon process")
        results.update(process_figures(articles, workdir))
    if "dedupe" not in args.skip:
        console.print(f"[bold]dedupe state[/]: {args.dedupe_articles} articles through the deduper alone")
        results.update({f"dedupe_{name}": value for name, value in dedupe.run(args.dedupe_articles).items()})

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
        pipeline.throughput(live, list(synthetic_articles(50, seed=2)), timeout=180)
        if "latency" not in args.skip:
            console.print(f"[bold]latency[/]: 100 articles/s for {args.latency_seconds:.0f}s")
            results.update(pipeline.latency(live, list(synthetic_articles(int(100 * args.latency_seconds), seed=3))))
        console.print(f"[bold]end to end[/]: burst of {len(articles)} articles")
        results.update(pipeline.throughput(live, list(synthetic_articles(args.articles, seed=4))))
        stack.check_worker()
    finally:
        stack.stop()
    return results


def run(args: argparse.Namespace, settings: Settings) -> int:
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
