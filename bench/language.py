"""Language identification cost and accuracy: `python -m newsmon.bench.language`.

Prints accuracy per language on tests/fixtures/language/labelled.tsv (titles and bodies
apart, with and without the declared language), the confusions, and microseconds per article,
so the figures in docs/collectors.md can be recomputed anywhere. `measure_language_id(texts)`
is the figure `newsmon bench` reports; `figures()` returns them all.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from newsmon.core.language import forget_words, identify_language, identify_languages

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "fixtures" / "language" / "labelled.tsv"
HELDOUT = ROOT / "tests" / "fixtures" / "language" / "heldout.tsv"  # never used for tuning
# The languages rules existed for before identification: the bar is also set outside them.
FIRST_LANGUAGES = frozenset({"en", "ru", "fa"})


@dataclass(frozen=True)
class LabelledText:
    language: str
    kind: str  # "title" | "body"
    declared: str  # "" when the item has none
    text: str  # title + "\n" + body for bodies


@dataclass
class Accuracy:
    right: Counter[tuple[str, str]] = field(default_factory=Counter)  # (language, kind) -> right
    total: Counter[tuple[str, str]] = field(default_factory=Counter)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (true, got) -> count

    def of(self, keep: object = None) -> float:
        """Accuracy over the (language, kind) cells `keep` accepts (all by default)."""
        cells = [cell for cell in self.total if keep is None or keep(cell)]  # type: ignore[operator]
        total = sum(self.total[c] for c in cells)
        return sum(self.right[c] for c in cells) / total if total else 1.0

    def language(self, language: str) -> float:
        return self.of(lambda cell: cell[0] == language)

    @property
    def outside_first(self) -> float:
        return self.of(lambda cell: cell[0] not in FIRST_LANGUAGES)


def read_labelled(path: Path = LABELLED) -> list[LabelledText]:
    """language <TAB> title|body <TAB> declared or "-" <TAB> text ("\\n" written as backslash-n)."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise ValueError(f"{path}:{number}: expected 4 tab-separated columns, got {len(parts)}")
        language, kind, declared, text = parts
        items.append(LabelledText(language, kind, "" if declared == "-" else declared, text.replace("\\n", "\n")))
    return items


def accuracy(items: list[LabelledText], use_declared: bool = False) -> Accuracy:
    """How often identify_language names each item's language; with `use_declared`, every
    item is passed its own language as the declared one (what a feed tagging it would say)."""
    result = Accuracy()
    for item in items:
        declared = item.language if use_declared else item.declared
        got = identify_language(item.text, declared)
        cell = (item.language, item.kind)
        result.total[cell] += 1
        if got == item.language:
            result.right[cell] += 1
        else:
            result.confusions[(item.language, got)] += 1
    return result


def measure_language_id(texts: list[str], rounds: int = 5, batch: int = 256, cold: bool = False) -> float:
    """Microseconds per article for language identification over `texts` (title + "\n" +
    body) in batches of `batch`, as `enrich_all` runs it; the fastest of `rounds` passes, so
    other load on a shared machine stays out of it. The model's word table is warm (each word
    met before), unless `cold`: then every pass starts with it empty, as a process starts, and
    each word's vector is computed on its first meeting."""
    if not texts:
        return 0.0
    identify_language(texts[0])  # the model loads once per process; not an article's cost
    best = float("inf")
    for _ in range(rounds):
        if cold:
            forget_words()
        started = time.perf_counter()
        for start in range(0, len(texts), batch):
            identify_languages(texts[start:start + batch], [""] * len(texts[start:start + batch]))
        best = min(best, (time.perf_counter() - started) / len(texts))
    return best * 1e6


def figures() -> dict[str, float]:
    items = read_labelled()
    plain, declared = accuracy(items), accuracy(items, use_declared=True)
    out = {
        "language_id_us": measure_language_id([i.text for i in items]),
        "language_id_body_us": measure_language_id([i.text for i in items if i.kind == "body"]),
        "language_accuracy": plain.of(),
        "language_accuracy_outside_en_ru_fa": plain.outside_first,
        "language_accuracy_declared": declared.of(),
        "language_accuracy_heldout": accuracy(read_labelled(HELDOUT)).of(),
    }
    for language in sorted({i.language for i in items}):
        out[f"language_accuracy_{language}"] = plain.language(language)
    return out


def main() -> None:
    items = read_labelled()
    plain, declared = accuracy(items), accuracy(items, use_declared=True)
    print(f"{'language':<9} {'titles':>11} {'bodies':>11} {'declared':>9}")
    for language in sorted({i.language for i in items}):
        cells = [(language, kind) for kind in ("title", "body")]
        shown = [f"{plain.right[c]}/{plain.total[c]}" for c in cells]
        print(f"{language:<9} {shown[0]:>11} {shown[1]:>11} {declared.language(language):>9.3f}")
    print(f"overall {plain.of():.3f}, outside en/ru/fa {plain.outside_first:.3f}, "
          f"titles {plain.of(lambda c: c[1] == 'title'):.3f}, bodies {plain.of(lambda c: c[1] == 'body'):.3f}; "
          f"with the declared language {declared.of():.3f}")
    print("confusions (true -> got):", ", ".join(f"{t}->{g or '-'} {n}" for (t, g), n in plain.confusions.most_common()))
    heldout = accuracy(read_labelled(HELDOUT))
    print(f"held-out set: {heldout.of():.3f} ({sum(heldout.right.values())}/{sum(heldout.total.values())}), "
          f"outside en/ru/fa {heldout.outside_first:.3f}")
    texts = [i.text for i in items]
    print(f"{measure_language_id(texts):.1f} µs per article ({len(texts)} texts)")


if __name__ == "__main__":
    main()
