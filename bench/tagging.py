"""Topic-tagging speed and quality: `python -m bench.tagging`.

Prints microseconds per article and articles per second for the real seed articles (four
untagged, one carrying all three topics) and for ~500-word worst-case articles in each
language made only of topic sentences, plus precision/recall on the labelled sets, so the
figures in docs/tagging.md can be reproduced on any machine. `figures()` returns the same
numbers for `newsmon bench`.
"""
from __future__ import annotations

import random
import time
import timeit
from pathlib import Path

from newsmon.core.rules import RuleSet, load_rules
from newsmon.core.rules_eval import read_labelled, score, score_by_language

ROOT = Path(__file__).resolve().parents[1]
TAGGING = ROOT / "tests" / "fixtures" / "tagging"
SEEDS = ROOT / "tests" / "fixtures" / "dedupe" / "seeds"
WORDS_PER_ARTICLE = 500
SPLITS = ("dev", "heldout", "languages_dev", "languages_heldout", "languages_heldout2", "languages_heldout3",
          "languages_heldout4")
# en/ru/fa; then the added languages (dev, then four held-out sets: see docs/tagging.md)


def seed_articles(tagged: bool) -> list[tuple[str, str]]:
    """The real seed articles (English, 360-730 words), as (language, text).

    Four are typical untagged news about Iran and Russia (sanctions, the UN, nuclear, trade);
    one (002) carries all three topics.
    """
    paths = sorted(SEEDS.glob("*.txt"))
    return [("en", p.read_text("utf-8")) for p in paths if p.name.startswith("002_") == tagged]


def composed_articles(language: str, count: int = 20) -> list[tuple[str, str]]:
    """~500-word articles made of the labelled sentences of one language, shuffled.

    Dense with topic vocabulary (every sentence is a positive or a hard negative), so this
    is the tagger's worst case: most anchors hit and the context pass always runs.
    """
    sentences = [i.text for split in SPLITS for i in read_labelled(TAGGING / f"{split}.tsv")
                 if i.language == language]
    rng = random.Random(language)
    articles = []
    for _ in range(count):
        words: list[str] = []
        while len(words) < WORDS_PER_ARTICLE:
            words.extend(rng.choice(sentences).split())
        articles.append((language, " ".join(words[:WORDS_PER_ARTICLE])))
    return articles


def time_per_article(rules: RuleSet, articles: list[tuple[str, str]], rounds: int = 30) -> float:
    """Fastest of `rounds` short rounds, in seconds per article.

    Short rounds and the minimum keep other processes on a shared machine out of the figure.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for language, text in articles:
            rules.tag("", text, language)
        best = min(best, (time.perf_counter() - started) / len(articles))
    return best


def reference_loop_us() -> float:
    """Time of a fixed pure-Python loop, to compare figures taken on different machines."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=7)) / 2000 * 1e6


def figures() -> dict[str, float]:
    started = time.perf_counter()
    rules = load_rules()
    out: dict[str, float] = {"tagging_compile_s": time.perf_counter() - started, "tagging_keys": rules.key_count,
                             "tagging_reference_loop_us": reference_loop_us()}
    groups = {
        "untagged_en": seed_articles(tagged=False),
        "tagged_en": seed_articles(tagged=True),
        "dense_en": composed_articles("en"),
        "dense_ru": composed_articles("ru"),
        "dense_fa": composed_articles("fa"),
        "dense_ar": composed_articles("ar"),
        "dense_tr": composed_articles("tr"),
    }
    for name, articles in groups.items():
        seconds = time_per_article(rules, articles)
        out[f"tagging_{name}_us"] = seconds * 1e6
        out[f"tagging_{name}_per_s"] = 1 / seconds
    for split in SPLITS:
        out[f"tagging_{split}_micro_f1"] = score(rules, read_labelled(TAGGING / f"{split}.tsv")).micro_f1
    return out


def main() -> None:
    rules = load_rules()
    result = figures()
    print(f"rules: {len(rules.topics)} topics, {int(result['tagging_keys'])} literal keys, "
          f"compiled in {result['tagging_compile_s'] * 1000:.0f} ms")
    print(f"machine reference: sum(range(1000)) takes {result['tagging_reference_loop_us']:.1f} µs")
    print(f"{'articles':<14} {'µs/article':>11} {'articles/s':>11}")
    for name in ("untagged_en", "tagged_en", "dense_en", "dense_ru", "dense_fa", "dense_ar", "dense_tr"):
        print(f"{name:<14} {result[f'tagging_{name}_us']:>11.1f} {result[f'tagging_{name}_per_s']:>11.0f}")
    for split in SPLITS:
        items = read_labelled(TAGGING / f"{split}.tsv")
        print(f"\n{split} set:")
        print("\n".join(score(rules, items).lines()))
        if split.startswith("languages"):
            for language, result_of in score_by_language(rules, items).items():
                print(f"  {language}: " + "; ".join(row.split(" (")[0] for row in result_of.lines()))


if __name__ == "__main__":
    main()
