"""Topic tagging: compile schemas/topics.yaml once, then tag articles in one cheap pass.

Why this shape: tagging runs on every article in the stream, so an article costs one
Aho–Corasick scan over the terms of all rules. From the raw matches the
set of term lists present is taken first (no per-hit work); only if some rule's anchor and
`near` lists all occur are word boundaries checked and word distances counted, and only a
rule whose proximity conditions hold has its `with`/`without` lists looked up in the same
matches (a second automaton for them cost a second scan of one article in seven, for a tenth
of the keys). Every match names the rule that fired
("bushehr:en.plant-near-bushehr") so an analyst can see why an article carries a topic.

The rule language itself is described at the top of schemas/topics.yaml and in docs/tagging.md.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from newsmon.core.rules_file import RuleFile, RuleFileError, RuleSpec, read_rule_file
from newsmon.core.rules_scan import Hit, Scanner, words_between
from newsmon.core.rules_terms import INVISIBLE, prepare

__all__ = [
    "ExampleFailure",
    "ExampleReport",
    "RuleFileError",
    "RuleSet",
    "TopicExamples",
    "TopicMatch",
    "check_examples",
    "load_rules",
]

# Beyond this many bytes per word of a window, two positions are not worth counting words between.
_MAX_BYTES_PER_WORD = 64


class TopicMatch(NamedTuple):
    topic: str
    rule: str  # "<language>.<rule-id>", the language of the anchor term that fired

    @property
    def key(self) -> str:
        """The "topic:rule" string stored in Article.matched_rules."""
        return f"{self.topic}:{self.rule}"


class _Rule:
    """A compiled rule: the term-list indexes of its anchor and conditions."""

    def __init__(self, spec: RuleSpec, index: dict[str, int]) -> None:
        self.topic = spec.topic
        self.id = spec.id
        self.match = tuple(index[n] for n in spec.match)
        self.near = tuple((index[n], w) for n, w in spec.near)
        self.not_near = tuple((index[n], w) for n, w in spec.not_near)
        self.with_ = tuple(index[n] for n in spec.with_)
        self.without = tuple(index[n] for n in spec.without)
        self.positional = frozenset(self.match + tuple(lst for lst, _ in self.near + self.not_near))
        self._anchor_set = frozenset(self.match)
        self._near_set = frozenset(lst for lst, _ in self.near)

    def possible(self, present: set[int]) -> bool:
        """Cheap necessary condition: an anchor list and every `near` list have a raw match."""
        return not self._anchor_set.isdisjoint(present) and self._near_set <= present

    def fire(self, b: bytes, hits: dict[int, list[Hit]], exists: Callable[[int], bool]) -> str:
        """The language of the first anchor occurrence meeting every condition, or ""."""
        for list_id in self.match:
            for pos, language in hits.get(list_id, ()):
                if all(_within(b, pos, hits.get(lst), w) for lst, w in self.near) and not any(
                    _within(b, pos, hits.get(lst), w) for lst, w in self.not_near
                ):
                    if self.with_ and not any(exists(lst) for lst in self.with_):
                        return ""
                    if any(exists(lst) for lst in self.without):
                        return ""
                    return language
        return ""


def _within(b: bytes, pos: int, others: list[Hit] | None, within: int) -> bool:
    """True if any occurrence in `others` (sorted by offset) starts within `within` words of `pos`."""
    if not others:
        return False
    limit = within * _MAX_BYTES_PER_WORD
    middle = bisect_left(others, (pos, ""))
    for i in range(middle - 1, -1, -1):
        other = others[i][0]
        if pos - other > limit:
            break
        if words_between(b, other, pos) <= within:
            return True
    for i in range(middle, len(others)):
        other = others[i][0]
        if other - pos > limit:
            break
        if words_between(b, pos, other) <= within:
            return True
    return False


class _Context:
    """Whole-text presence of `with`/`without` lists for one article, looked up on first need."""

    def __init__(self, scanner: Scanner, b: bytes, matches: list[tuple[int, int, int]], present: set[int]) -> None:
        self.scanner, self.b, self.matches, self.present = scanner, b, matches, present
        self.known: dict[int, bool] = {}

    def exists(self, list_id: int) -> bool:
        if list_id not in self.known:
            self.known[list_id] = list_id in self.present and self.scanner.exists(self.b, self.matches, list_id)
        return self.known[list_id]


@dataclass
class RuleSet:
    """Compiled rules; immutable after load_rules and safe to share between agents."""

    path: Path
    source: RuleFile
    _rules: list[_Rule] = field(repr=False)
    _scanner: Scanner = field(repr=False)  # every list a rule names, and the invisible characters
    _by_anchor: dict[int, tuple[int, ...]] = field(repr=False)  # anchor list -> its rules' indexes
    _anchor_keys: frozenset[int] = field(repr=False)  # the keys of some anchor list: without one, no rule can fire

    @property
    def topics(self) -> list[str]:
        return [t.id for t in self.source.topics]

    @property
    def key_count(self) -> int:
        """Literal keys in the automaton (a size figure for benchmarks; markers not counted)."""
        return self._scanner.size

    def tag(self, title: str, text: str, language: str = "") -> list[TopicMatch]:
        """One match per topic found: the first of its rules, in file order, that fires.

        Terms of every language are always looked for, so an article identified as a close
        language (Azerbaijani text as Turkish, Ukrainian as Russian) or mislabelled still tags;
        `language` (ISO 639-1, or "" for unknown) only names the rule that fired when a string is
        a term in several languages (بوشهر is Persian and Arabic).
        """
        b = prepare(title, text, strip=False)
        matches = self._scanner.matches(b)
        if not matches:
            return []
        keys = {index for index, _, _ in matches}
        if self._scanner.marked(keys):  # invisible characters: stripped, and the text read again
            b = prepare(title, text)
            matches = self._scanner.matches(b)
            keys = {index for index, _, _ in matches}
        if self._anchor_keys.isdisjoint(keys):  # most articles: no word a rule could start from
            return []
        present = self._scanner.lists_present(keys)
        possible = self._possible(present)
        if not possible:
            return []
        hits = self._scanner.hits(b, matches, set().union(*(rule.positional for rule in possible)), language)
        context = _Context(self._scanner, b, matches, present)
        found: dict[str, TopicMatch] = {}
        for rule in possible:
            if rule.topic not in found:
                language_fired = rule.fire(b, hits, context.exists)
                if language_fired:
                    found[rule.topic] = TopicMatch(rule.topic, f"{language_fired}.{rule.id}")
        return list(found.values())

    def _possible(self, present: set[int]) -> list[_Rule]:
        """The rules, in file order, that `possible` admits: only those with an anchor list present are asked."""
        asked = {i for list_id in present.intersection(self._by_anchor) for i in self._by_anchor[list_id]}
        return [self._rules[i] for i in sorted(asked) if self._rules[i].possible(present)]

    def topics_of(self, title: str, text: str, language: str = "") -> list[str]:
        """Topics in rule-file order (what Article.topics holds)."""
        return [m.topic for m in self.tag(title, text, language)]


def load_rules(path: Path | None = None) -> RuleSet:
    """Read, validate and compile a rule file (default: schemas/topics.yaml)."""
    if path is None:
        from newsmon.schemas import schema_path

        path = schema_path("topics.yaml")
    source = read_rule_file(Path(path))
    index = {name: i for i, name in enumerate(sorted({t.list_name for t in source.terms}))}
    specs = [spec for topic in source.topics for spec in topic.rules]
    positional = {n for s in specs for n in (*s.match, *(name for name, _ in s.near + s.not_near))}
    whole_text = {n for s in specs for n in (*s.with_, *s.without)}
    rules = [_Rule(spec, index) for spec in specs]
    scanner = Scanner((t for t in source.terms if t.list_name in positional | whole_text), index, INVISIBLE)
    anchors = _by_anchor(rules)
    return RuleSet(
        path=Path(path),
        source=source,
        _rules=rules,
        _scanner=scanner,
        _by_anchor=anchors,
        _anchor_keys=frozenset(key for key, lists in enumerate(scanner.lists_of) if not lists.isdisjoint(anchors)),
    )


def _by_anchor(rules: list[_Rule]) -> dict[int, tuple[int, ...]]:
    """Each anchor list's rules, as indexes into `rules` (in file order)."""
    out: dict[int, list[int]] = {}
    for i, rule in enumerate(rules):
        for list_id in rule.match:
            if i not in out.setdefault(list_id, []):
                out[list_id].append(i)
    return {list_id: tuple(indexes) for list_id, indexes in out.items()}


# --- the `tests` section of each topic -------------------------------------------------------


@dataclass(frozen=True)
class ExampleFailure:
    topic: str
    sentence: str
    expected: bool  # True: should have matched; False: should not have
    fired: tuple[str, ...]  # "topic:rule" keys that fired on the sentence (any topic)


@dataclass
class TopicExamples:
    topic: str
    match_passed: int = 0
    match_total: int = 0
    no_match_passed: int = 0
    no_match_total: int = 0
    failures: list[ExampleFailure] = field(default_factory=list)


@dataclass
class ExampleReport:
    topics: list[TopicExamples]

    @property
    def ok(self) -> bool:
        return not any(t.failures for t in self.topics)


def check_examples(ruleset: RuleSet) -> ExampleReport:
    """Run every topic's must-match / must-not-match sentences against the rules."""
    report = ExampleReport([])
    for topic in ruleset.source.topics:
        result = TopicExamples(topic.id, match_total=len(topic.must_match), no_match_total=len(topic.must_not_match))
        for expected, sentences in ((True, topic.must_match), (False, topic.must_not_match)):
            for sentence in sentences:
                fired = ruleset.tag("", sentence)
                if any(m.topic == topic.id for m in fired) == expected:
                    if expected:
                        result.match_passed += 1
                    else:
                        result.no_match_passed += 1
                else:
                    result.failures.append(
                        ExampleFailure(topic.id, sentence, expected, tuple(m.key for m in fired))
                    )
        report.topics.append(result)
    return report
