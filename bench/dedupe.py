"""Dedupe cost per article and state size per million articles, printed as a short table.

Why a separate bench: the deduper is the one sequenced stage of the stream, so its cost
per article caps the whole pipeline's throughput, and its state (persistent maps plus
the derived in-memory index) is what the window bounds. Articles are synthetic but
shaped like news: ~400 words drawn from a Zipf-distributed 30k-word vocabulary, a fifth
of them near copies (dateline, teaser, update) of a recent one.

    python -m bench.dedupe [count]
"""
from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Iterator

import numpy as np
from newsmon.bench.corpus import vocabulary, zipf_sentence

from newsmon.core.dedupe import DedupeConfig, Deduper

CHUNK = 5_000
MILLION = 1_000_000


def articles(count: int, seed: int = 11, copy_ratio: float = 0.2) -> Iterator[tuple[str, str]]:
    """(article id, text) pairs; copies are of one of the last 500 originals."""
    rng = np.random.default_rng(seed)
    words, cumulative = vocabulary(rng)
    recent: list[list[str]] = []
    for i in range(count):
        if recent and rng.random() < copy_ratio:
            paragraphs = recent[int(rng.integers(len(recent)))]
            kind = rng.integers(3)
            if kind == 0:
                paragraphs = [f"TEHRAN, Nov. {rng.integers(1, 29)} (Agency) - {paragraphs[0]}", *paragraphs[1:]]
            elif kind == 1:
                paragraphs = paragraphs[:2]
            else:
                paragraphs = [zipf_sentence(rng, words, cumulative, 30), *paragraphs]
        else:
            paragraphs = [zipf_sentence(rng, words, cumulative, int(rng.integers(50, 81))) for _ in range(int(rng.integers(5, 9)))]
            recent = [*recent[-499:], paragraphs]
        yield f"bench-{i:09d}", "\n\n".join(paragraphs)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(count: int = 100_000, stream: Iterator[tuple[str, str, str]] | None = None) -> dict[str, float]:
    """Assign `count` articles, (id, text, language) from `stream` or else synthetic English ones;
    return cost and state-size figures."""
    seen: dict = {}
    signatures: dict = {}
    stories: dict = {}
    deduper = Deduper(DedupeConfig(), seen=seen, signatures=signatures, stories=stories)
    stream = stream or ((ident, text, "en") for ident, text in articles(count))
    gc.collect()
    rss_before, elapsed, done = _rss_bytes(), 0.0, 0
    while done < count:
        chunk = [next(stream) for _ in range(min(CHUNK, count - done))]
        started = time.perf_counter()
        for offset, (ident, text, language) in enumerate(chunk):
            deduper.assign(article_id=ident, canonical_url=f"https://news.example/{ident}", title="", text=text,
                           source="news.example", published="", now=1.76e9 + done + offset, language=language)
        elapsed += time.perf_counter() - started
        done += len(chunk)
    del chunk
    gc.collect()
    rss_growth = _rss_bytes() - rss_before
    serialised = sum(len(json.dumps(k)) + len(json.dumps(v)) for m in (seen, signatures, stories) for k, v in m.items())
    scale = MILLION / count
    return {
        "articles": count,
        "us_per_article": elapsed / count * 1e6,
        "articles_per_s": count / elapsed,
        "stories": len(stories),
        "indexed": len(signatures),
        "state_mb_per_million_serialised": serialised * scale / 1e6,
        "rss_mb_per_million": rss_growth * scale / 1e6,
    }


def show(figures: dict[str, float]) -> None:
    rows = [
        ("articles assigned", f"{figures['articles']:,}"),
        ("dedupe cost per article", f"{figures['us_per_article']:.1f} µs"),
        ("dedupe throughput", f"{figures['articles_per_s']:,.0f} articles/s"),
        ("stories / indexed articles", f"{figures['stories']:,} / {figures['indexed']:,}"),
        ("persistent state per 1M articles (JSON)", f"{figures['state_mb_per_million_serialised']:,.0f} MB"),
        ("process RSS growth per 1M articles", f"{figures['rss_mb_per_million']:,.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    show(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
