"""Topic tagging: compile schemas/topics.yaml once, then tag articles in one cheap pass.

Why this shape: tagging runs on every article in the stream, so matching is one Aho–Corasick
scan for the terms rules are anchored on; the context terms (proximity, co-occurrence) are
scanned only for the few articles where an anchor appears. Every match names the rule that
fired ("bushehr:en.plant-near-bushehr") so an analyst can see why an article carries a topic.

The rule language itself is described at the top of schemas/topics.yaml and in docs/tagging.md.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import ahocorasick_rs

from newsmon.core.rules_file import RuleFile, RuleFileError, RuleSpec, TermSpec, read_rule_file
from newsmon.core.rules_terms import prepare_text, surface_forms

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

# A window of N words spans at most this many characters per word; beyond it, skip counting.
_MAX_WORD_CHARS = 40

Hits = dict[int, list[tuple[int, str]]]  # term-list index -> [(char offset, language)]


class TopicMatch(NamedTuple):
    topic: str
    rule: str  # "<language>.<rule-id>", the language of the anchor term that fired

    @property
    def key(self) -> str:
        """The "topic:rule" string stored in Article.matched_rules."""
        return f"{self.topic}:{self.rule}"


@dataclass(frozen=True)
class _Rule:
    topic: str
    id: str
    match: tuple[int, ...]
    near: tuple[tuple[int, int], ...]
    not_near: tuple[tuple[int, int], ...]
    with_: tuple[int, ...]
    without: tuple[int, ...]

    @property
    def needs_context(self) -> bool:
        return bool(self.near or self.not_near or self.with_ or self.without)


class _Scanner:
    """One automaton over the surface forms of a group of term lists."""

    def __init__(self, terms: list[TermSpec], list_index: dict[str, int]) -> None:
        payloads: dict[str, set[tuple[int, str, bool]]] = defaultdict(set)
        for spec in terms:
            entry = (list_index[spec.list_name], spec.language, spec.term.stem)
            for form in surface_forms(spec.term):
                payloads[form].add(entry)
        self.keys = sorted(payloads)
        self.payloads = [tuple(payloads[k]) for k in self.keys]
        self.automaton = ahocorasick_rs.AhoCorasick(self.keys) if self.keys else None

    def scan(self, s: str, hits: Hits) -> None:
        if self.automaton is None:
            return
        n = len(s)
        payloads = self.payloads
        for index, start, end in self.automaton.find_matches_as_indexes(s, overlapping=True):
            if start and s[start - 1].isalnum():
                continue
            open_end = end < n and s[end].isalnum()
            for list_id, language, stem in payloads[index]:
                if stem or not open_end:
                    hits.setdefault(list_id, []).append((start, language))


@dataclass
class RuleSet:
    """Compiled rules; immutable after load_rules and safe to share between agents."""

    path: Path
    source: RuleFile
    _rules: list[_Rule] = field(repr=False)
    _anchors: _Scanner = field(repr=False)
    _context: _Scanner = field(repr=False)

    @property
    def topics(self) -> list[str]:
        return [t.id for t in self.source.topics]

    @property
    def key_count(self) -> int:
        """How many literal keys the automata hold (a size figure for benchmarks)."""
        return len(self._anchors.keys) + len(self._context.keys)

    def tag(self, title: str, text: str, language: str = "") -> list[TopicMatch]:
        """Every (topic, rule) that matches, in rule-file order.

        `language` ("en", "ru", "fa" or "" for unknown) only selects text normalisation;
        every language's terms are always looked for, so a mislabelled article still tags.
        """
        s = prepare_text(title, text, language)
        hits: Hits = {}
        self._anchors.scan(s, hits)
        if not hits:
            return []
        candidates = [r for r in self._rules if any(m in hits for m in r.match)]
        if any(r.needs_context for r in candidates):
            self._context.scan(s, hits)
        matches: list[TopicMatch] = []
        for rule in candidates:
            language_fired = _fire(rule, s, hits)
            if language_fired:
                matches.append(TopicMatch(rule.topic, f"{language_fired}.{rule.id}"))
        return matches

    def topics_of(self, title: str, text: str, language: str = "") -> list[str]:
        """Distinct topics in rule-file order (what Article.topics holds)."""
        return list(dict.fromkeys(m.topic for m in self.tag(title, text, language)))


def _fire(rule: _Rule, s: str, hits: Hits) -> str:
    """The language of the first anchor occurrence that satisfies the rule, or ""."""
    if rule.with_ and not any(lst in hits for lst in rule.with_):
        return ""
    if any(lst in hits for lst in rule.without):
        return ""
    for list_id in rule.match:
        for pos, language in hits.get(list_id, ()):
            if all(_near(s, pos, hits.get(lst), within) for lst, within in rule.near) and not any(
                _near(s, pos, hits.get(lst), within) for lst, within in rule.not_near
            ):
                return language
    return ""


def _near(s: str, pos: int, others: list[tuple[int, str]] | None, within: int) -> bool:
    """True if any occurrence in `others` starts within `within` words of `pos`."""
    if not others:
        return False
    limit = within * _MAX_WORD_CHARS
    for other, _ in others:
        lo, hi = (pos, other) if pos <= other else (other, pos)
        if hi - lo <= limit and s.count(" ", lo, hi) + s.count("\n", lo, hi) <= within:
            return True
    return False


def load_rules(path: Path | None = None) -> RuleSet:
    """Read, validate and compile a rule file (default: schemas/topics.yaml)."""
    if path is None:
        from schemas import schema_path

        path = schema_path("topics.yaml")
    source = read_rule_file(Path(path))
    list_names = sorted({t.list_name for t in source.terms})
    list_index = {name: i for i, name in enumerate(list_names)}
    rules = [_compile_rule(spec, list_index) for topic in source.topics for spec in topic.rules]
    anchor_ids = {i for r in rules for i in r.match}
    anchor_terms = [t for t in source.terms if list_index[t.list_name] in anchor_ids]
    context_terms = [t for t in source.terms if list_index[t.list_name] not in anchor_ids]
    return RuleSet(
        path=Path(path),
        source=source,
        _rules=rules,
        _anchors=_Scanner(anchor_terms, list_index),
        _context=_Scanner(context_terms, list_index),
    )


def _compile_rule(spec: RuleSpec, index: dict[str, int]) -> _Rule:
    return _Rule(
        topic=spec.topic,
        id=spec.id,
        match=tuple(index[n] for n in spec.match),
        near=tuple((index[n], w) for n, w in spec.near),
        not_near=tuple((index[n], w) for n, w in spec.not_near),
        with_=tuple(index[n] for n in spec.with_),
        without=tuple(index[n] for n in spec.without),
    )


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
