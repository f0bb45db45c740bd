"""A synthetic stream of realistic articles for benchmarks: several hundred words each,
a fifth of them republished copies (new headline, dateline, reformatted HTML).

Sentences are drawn from the seed articles' own vocabulary plus topic phrases, so the
tagger and the deduper do real work, and it is deterministic for a given seed.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from schemas.article import Article

OUTLETS = ["tehrantimes.com", "tass.com", "presstv.ir", "mehrnews.com", "irna.ir", "reuters.com", "aljazeera.com", "rferl.org"]
PHRASES = [
    "the snapback mechanism of Resolution 2231", "the Bushehr nuclear power plant", "the North-South Transport Corridor",
    "the Rasht-Astara railway", "Rosatom engineers", "the E3 foreign ministers", "the UN Security Council",
    "the Caspian Sea ports", "the strategic partnership treaty", "energy cooperation", "cargo volumes",
]
WORDS = (
    "Russian Iranian officials said the agreement covers trade security transport energy science culture education "
    "cooperation partnership ministers meeting Moscow Tehran sanctions pressure economic political regional stability "
    "long-term strategic development investment railway port fuel reactor inspection agency statement president talks "
    "delegation signed framework implementation financing corridor shipments growth forum summit committee"
).split()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(12, 24))
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), rng.choice(PHRASES))
    return " ".join(words).capitalize() + "."


def body(rng: random.Random, paragraphs: int) -> list[str]:
    return [" ".join(sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(paragraphs)]


def synthetic_articles(count: int, seed: int = 7, copy_ratio: float = 0.2) -> Iterator[Article]:
    """`count` articles, about `copy_ratio` of them republished copies of an earlier one."""
    rng = random.Random(seed)
    start = datetime(2025, 11, 1, tzinfo=timezone.utc)
    originals: list[tuple[str, list[str]]] = []
    for i in range(count):
        published = (start + timedelta(seconds=20 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        outlet = rng.choice(OUTLETS)
        if originals and rng.random() < copy_ratio:
            title, paragraphs = rng.choice(originals[-500:])
            title = f"{rng.choice(['Report:', 'Update:', 'Analysis:'])} {title}"
            paragraphs = [f"TEHRAN, Nov. {rng.randint(1, 28)} ({outlet.split('.')[0].upper()}) - {paragraphs[0]}", *paragraphs[1:]]
        else:
            title = sentence(rng)[:90]
            paragraphs = body(rng, rng.randint(5, 8))
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
