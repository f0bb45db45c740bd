"""How well and how fast `collectors.extract.extract_page` recovers article bodies.

Quality is the usual word-shingle measure of article-extraction benchmarks: the extracted
text and the true body are lower-cased, cut into word tokens, and compared as multisets of
4-word shingles (precision: extracted shingles that are in the truth; recall: true
shingles that were extracted; F1 their harmonic mean), averaged per page. Speed is pages
per second on one core, the page list read from memory so only extraction is timed.

The dev set is tests/fixtures/pages/ (see make_pages.py there); `newsmon bench` calls
`pages_per_second`, the unit tests call `evaluate` with a floor per language.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsmon.collectors.extract import Page, extract_page

SHINGLE = 4
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Case:
    name: str
    language: str
    body: bytes
    url: str
    content_type: str
    truth: str
    meta: dict


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) < size:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i: i + size]) for i in range(len(tokens) - size + 1))


def score(extracted: str, truth: str, size: int = SHINGLE) -> Score:
    """Shingle precision / recall / F1 of `extracted` against `truth` (multisets)."""
    got, want = shingles(extracted, size), shingles(truth, size)
    common = sum((got & want).values())
    precision = common / sum(got.values()) if got else 0.0
    recall = common / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1)


def load_cases(folder: Path) -> list[Case]:
    """The pages of a dev set folder laid out as tests/fixtures/pages (index.json + .html + .txt)."""
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return [Case(entry["file"].removesuffix(".html"), entry["language"], (folder / entry["file"]).read_bytes(),
                 entry["url"], entry["content_type"], (folder / entry["truth"]).read_text(encoding="utf-8"), entry)
            for entry in index]


def evaluate(cases: Sequence[Case], extract: Callable[[bytes, str, str], Page] = extract_page) -> dict[str, Score]:
    """Mean precision / recall / F1 per language, and over all pages under "all"."""
    by_language: dict[str, list[Score]] = defaultdict(list)
    for case in cases:
        result = score(extract(case.body, case.url, case.content_type).text, case.truth)
        by_language[case.language].append(result)
        by_language["all"].append(result)
    return {language: Score(*(statistics.fmean(getattr(s, f) for s in scores) for f in ("precision", "recall", "f1")))
            for language, scores in by_language.items()}


def pages_per_second(pages: Sequence[tuple[bytes, str, str]], min_seconds: float = 1.0) -> float:
    """Pages extracted per second on this core: (body, url, content type) pages, cycled for at least `min_seconds`."""
    done, started = 0, time.process_time()
    while True:
        for body, url, content_type in pages:
            extract_page(body, url, content_type)
        done += len(pages)
        elapsed = time.process_time() - started
        if elapsed >= min_seconds or not pages:
            return done / elapsed if elapsed else 0.0


def dev_pages(folder: Path) -> list[tuple[bytes, str, str]]:
    """The dev set as `pages_per_second` takes it."""
    return [(case.body, case.url, case.content_type) for case in load_cases(folder)]
