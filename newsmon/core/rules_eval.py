"""Measure a rule set against a labelled set: per-topic precision/recall and micro-F1.

Exists so that the quality bar is a number anyone can recompute (the unit tests, the
benchmark and `newsmon rules test --labelled FILE` all call this), not a claim in a README.
Labelled files are TSV: topics (comma-separated, "-" for none) <TAB> language <TAB> text;
lines starting with "#" are comments.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from newsmon.core.rules import RuleSet


class LabelledFileError(ValueError):
    """A labelled-set line that cannot be read."""


@dataclass(frozen=True)
class Labelled:
    topics: frozenset[str]
    language: str
    text: str


@dataclass
class TopicScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(frozen=True)
class Miss:
    expected: frozenset[str]
    got: tuple[str, ...]  # "topic:rule" keys that fired
    text: str


@dataclass
class Score:
    topics: dict[str, TopicScore]
    misses: list[Miss] = field(default_factory=list)
    items: int = 0

    @property
    def micro_f1(self) -> float:
        tp = sum(s.tp for s in self.topics.values())
        fp = sum(s.fp for s in self.topics.values())
        fn = sum(s.fn for s in self.topics.values())
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0

    def lines(self) -> list[str]:
        """Human-readable table rows, one per topic plus the micro-F1 line."""
        rows = [
            f"{topic:<22} P={s.precision:.3f} R={s.recall:.3f} (tp={s.tp} fp={s.fp} fn={s.fn})"
            for topic, s in self.topics.items()
        ]
        return rows + [f"{'micro-F1':<22} {self.micro_f1:.3f} over {self.items} items"]


def read_labelled(path: Path) -> list[Labelled]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise LabelledFileError(f"{path}:{number}: expected 3 tab-separated columns, got {len(parts)}")
        labels, language, text = parts
        topics = frozenset() if labels == "-" else frozenset(t.strip() for t in labels.split(","))
        items.append(Labelled(topics, language, text))
    return items


def score(ruleset: RuleSet, items: list[Labelled]) -> Score:
    result = Score({topic: TopicScore() for topic in ruleset.topics}, items=len(items))
    for item in items:
        fired = ruleset.tag("", item.text, item.language)
        got = {m.topic for m in fired}
        for topic, s in result.topics.items():
            if topic in got and topic in item.topics:
                s.tp += 1
            elif topic in got:
                s.fp += 1
            elif topic in item.topics:
                s.fn += 1
        if got != set(item.topics):
            result.misses.append(Miss(item.topics, tuple(m.key for m in fired), item.text))
    return result


def score_by_language(ruleset: RuleSet, items: list[Labelled]) -> dict[str, Score]:
    """`score` per language of the items, in order of first appearance."""
    languages = dict.fromkeys(item.language for item in items)
    return {language: score(ruleset, [i for i in items if i.language == language]) for language in languages}
