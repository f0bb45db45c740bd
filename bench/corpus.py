"""A synthetic stream of realistic articles for benchmarks: several hundred words each,
a fifth of them republished copies (new headline, dateline, reformatted HTML).

Words follow a Zipf law over a 30k-word vocabulary, as in real prose (a few very common
words, a long tail); about a third of the articles are on a monitored subject and name it
in one sentence in five, so the tagger, the deduper and the alerter do the work they do on
a feed of regional news. Deterministic for a given seed. (A tiny vocabulary would make
every article share phrases with every other, which no news stream does.)
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import numpy as np
from newsmon.schemas.article import Article

VOCABULARY = 30_000
ON_TOPIC = 0.3  # share of articles about a monitored subject: the feeds are chosen for the region
OUTLETS = ["tehrantimes.com", "tass.com", "presstv.ir", "mehrnews.com", "irna.ir", "reuters.com", "aljazeera.com", "rferl.org"]
PHRASES = [
    "the snapback mechanism of Resolution 2231", "the Bushehr nuclear power plant", "the North-South Transport Corridor",
    "the Rasht-Astara railway", "Rosatom engineers", "the E3 foreign ministers", "the UN Security Council",
    "the Caspian Sea ports", "the strategic partnership treaty", "energy cooperation", "cargo volumes",
]


def vocabulary(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-words and their cumulative Zipf weights (for sampling by searchsorted)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = np.array(["".join(rng.choice(letters, rng.integers(2, 11))) for _ in range(VOCABULARY)])
    weights = np.cumsum(1.0 / np.arange(1, VOCABULARY + 1))
    return words, weights / weights[-1]


def zipf_sentence(rng: np.random.Generator, words: np.ndarray, cumulative: np.ndarray, length: int) -> str:
    return " ".join(words[np.searchsorted(cumulative, rng.random(length))]).capitalize() + "."


def _news_sentence(rng: np.random.Generator, words: np.ndarray, cumulative: np.ndarray, phrase: str = "") -> str:
    sentence = zipf_sentence(rng, words, cumulative, int(rng.integers(12, 25)))
    if phrase:
        cut = sentence.rfind(" ", 0, len(sentence) // 2) + 1
        sentence = f"{sentence[:cut]}{phrase} {sentence[cut:]}"
    return sentence


def _news_body(rng: np.random.Generator, words: np.ndarray, cumulative: np.ndarray) -> list[str]:
    """5-8 paragraphs; on a monitored subject (`ON_TOPIC` of articles), one sentence in five names it."""
    phrase = PHRASES[int(rng.integers(len(PHRASES)))] if rng.random() < ON_TOPIC else ""
    return [
        " ".join(_news_sentence(rng, words, cumulative, phrase if rng.random() < 0.2 else "") for _ in range(int(rng.integers(3, 6))))
        for _ in range(int(rng.integers(5, 9)))
    ]


def synthetic_articles(count: int, seed: int = 7, copy_ratio: float = 0.2) -> Iterator[Article]:
    """`count` articles, about `copy_ratio` of them republished copies of an earlier one."""
    rng = np.random.default_rng(seed)
    words, cumulative = vocabulary(rng)
    start = datetime(2025, 11, 1, tzinfo=timezone.utc)
    originals: list[tuple[str, list[str]]] = []
    for i in range(count):
        published = (start + timedelta(seconds=20 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        outlet = OUTLETS[int(rng.integers(len(OUTLETS)))]
        if originals and rng.random() < copy_ratio:
            title, paragraphs = originals[-500:][int(rng.integers(min(len(originals), 500)))]
            title = f"{['Report:', 'Update:', 'Analysis:'][int(rng.integers(3))]} {title}"
            paragraphs = [f"TEHRAN, Nov. {rng.integers(1, 29)} ({outlet.split('.')[0].upper()}) - {paragraphs[0]}", *paragraphs[1:]]
        else:
            title = _news_sentence(rng, words, cumulative)[:90]
            paragraphs = _news_body(rng, words, cumulative)
            originals.append((title, paragraphs))
        yield Article(
            id=f"bench-{seed}-{i:08d}",
            url=f"https://www.{outlet}/news/{seed}/{i}",
            title=title,
            content="".join(f"<p>{p}</p>" for p in paragraphs),
            published=published,
            source=outlet,
            feed=f"https://www.{outlet}/rss",
        )
