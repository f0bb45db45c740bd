"""Read and validate a topic rule file (schemas/topics.yaml) into plain specs.

Kept apart from the matcher so that every authoring mistake -- an unknown key, a misspelt
term-list name, a bad term, a duplicate id -- is reported with the file and line before anything
is compiled, and so the matcher never has to second-guess its input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsmon.core.rules_terms import Term, TermSyntaxError, parse_term, surface_forms

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NAME = re.compile(r"^[a-z0-9_]+$")
_LANG = re.compile(r"^(?:[a-z]{2,3}|any)$")
_TOP_KEYS = {"version", "terms", "topics"}
_TOPIC_KEYS = {"id", "title", "description", "terms", "rules", "tests"}
_RULE_KEYS = {"id", "match", "near", "not_near", "with", "without", "note"}
_TEST_KEYS = {"match", "no_match"}


class RuleFileError(ValueError):
    """The rule file cannot be used; the message starts with `file:line:`."""


@dataclass(frozen=True)
class TermSpec:
    list_name: str  # qualified: "name" (shared) or "topic/name"
    language: str
    text: str
    term: Term


@dataclass(frozen=True)
class RuleSpec:
    topic: str
    id: str
    match: tuple[str, ...]
    near: tuple[tuple[str, int], ...] = ()
    not_near: tuple[tuple[str, int], ...] = ()
    with_: tuple[str, ...] = ()
    without: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicSpec:
    id: str
    title: str
    rules: tuple[RuleSpec, ...]
    must_match: tuple[str, ...] = ()
    must_not_match: tuple[str, ...] = ()


@dataclass
class RuleFile:
    path: Path
    topics: list[TopicSpec] = field(default_factory=list)
    terms: list[TermSpec] = field(default_factory=list)


class _Mapping(dict):
    line = 0


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader whose mappings remember the line they start on, for error messages
    (libyaml's when PyYAML has it: the pure-Python parser took half of `load_rules`)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_rule_file(path: Path) -> RuleFile:
    """Parse and validate; raises RuleFileError naming the file, line and offending item."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{path}: not valid YAML: {exc}") from exc
    return _Reader(path).read(data)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.out = RuleFile(path)
        self.lists: dict[str, int] = {}  # qualified list name -> line defined
        self.used: set[str] = set()

    def fail(self, node: Any, where: str, message: str) -> RuleFileError:
        line = getattr(node, "line", 0)
        return RuleFileError(f"{self.out.path}:{line}: {where}: {message}")

    def read(self, data: Any) -> RuleFile:
        top = self.mapping(data, "file", _TOP_KEYS)
        if top.get("version", 1) != 1:
            raise self.fail(top, "file", f"unsupported version {top.get('version')!r} (expected 1)")
        self.read_terms(top.get("terms") or _Mapping(), prefix="", where="terms")
        topics = top.get("topics")
        if not isinstance(topics, list) or not topics:
            raise self.fail(top, "file", "'topics' must be a non-empty list")
        seen: set[str] = set()
        for index, node in enumerate(topics):
            topic = self.read_topic(node, f"topics[{index}]")
            if topic.id in seen:
                raise self.fail(node, f"topics[{index}]", f"duplicate topic id {topic.id!r}")
            seen.add(topic.id)
            self.out.topics.append(topic)
        unused = sorted(set(self.lists) - self.used)
        if unused:
            raise self.fail(top, "terms", f"term lists defined but never used: {', '.join(unused)}")
        return self.out

    def mapping(self, node: Any, where: str, allowed: set[str]) -> _Mapping:
        if not isinstance(node, dict):
            raise self.fail(node, where, f"expected a mapping, got {type(node).__name__}")
        unknown = sorted(set(node) - allowed)
        if unknown:
            raise self.fail(node, where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return node

    def read_terms(self, node: Any, prefix: str, where: str) -> None:
        if not isinstance(node, dict):
            raise self.fail(node, where, "expected a mapping of term-list name -> {language: [terms]}")
        for name, by_lang in node.items():
            here = f"{where}.{name}"
            if not isinstance(name, str) or not _NAME.match(name):
                raise self.fail(node, here, "term-list names are lower_snake_case")
            if not isinstance(by_lang, dict) or not by_lang:
                raise self.fail(node, here, "expected a mapping of language -> list of terms")
            qualified = prefix + name
            if qualified in self.lists or name in self.lists:
                raise self.fail(node, here, f"term list {name!r} defined twice")
            self.lists[qualified] = getattr(by_lang, "line", 0)
            for lang, texts in by_lang.items():
                self.read_term_texts(by_lang, f"{here}.{lang}", qualified, lang, texts)

    def read_term_texts(self, node: Any, where: str, qualified: str, lang: Any, texts: Any) -> None:
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise self.fail(node, where, "language must be a code such as en, ru, fa (or 'any')")
        if not isinstance(texts, list) or not texts:
            raise self.fail(node, where, "expected a non-empty list of terms")
        for text in texts:
            if not isinstance(text, (str, int)):
                raise self.fail(node, where, f"term {text!r} is not a string")
            try:
                term = parse_term(str(text))
                surface_forms(term, lang)  # refuses a term that would expand past MAX_FORMS keys
            except TermSyntaxError as exc:
                raise self.fail(node, where, str(exc)) from exc
            self.out.terms.append(TermSpec(qualified, lang, str(text), term))

    def read_topic(self, node: Any, where: str) -> TopicSpec:
        topic = self.mapping(node, where, _TOPIC_KEYS)
        topic_id = topic.get("id")
        if not isinstance(topic_id, str) or not _ID.match(topic_id):
            raise self.fail(topic, where, "missing or invalid topic 'id' (lower-case, digits, '-')")
        where = f"topic {topic_id!r}"
        self.read_terms(topic.get("terms") or _Mapping(), prefix=f"{topic_id}/", where=f"{where} terms")
        rules_node = topic.get("rules")
        if not isinstance(rules_node, list) or not rules_node:
            raise self.fail(topic, where, "'rules' must be a non-empty list")
        rules = [self.read_rule(r, topic_id, f"{where} rules[{i}]") for i, r in enumerate(rules_node)]
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise self.fail(topic, where, f"duplicate rule id {duplicates[0]!r}")
        tests = self.mapping(topic.get("tests") or _Mapping(), f"{where} tests", _TEST_KEYS)
        return TopicSpec(
            id=topic_id,
            title=str(topic.get("title") or topic_id),
            rules=tuple(rules),
            must_match=self.sentences(tests, "match", where),
            must_not_match=self.sentences(tests, "no_match", where),
        )

    def sentences(self, tests: _Mapping, key: str, where: str) -> tuple[str, ...]:
        items = tests.get(key) or []
        if not isinstance(items, list) or not all(isinstance(s, str) and s.strip() for s in items):
            raise self.fail(tests, f"{where} tests.{key}", "expected a list of sentences")
        return tuple(items)

    def read_rule(self, node: Any, topic: str, where: str) -> RuleSpec:
        rule = self.mapping(node, where, _RULE_KEYS)
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise self.fail(rule, where, "missing or invalid rule 'id' (lower-case, digits, '-')")
        where = f"{where} ({rule_id})"
        if "match" not in rule:
            raise self.fail(rule, where, "a rule needs 'match': the term list(s) it is anchored on")
        return RuleSpec(
            topic=topic,
            id=rule_id,
            match=self.names(rule, "match", topic, where),
            near=self.windows(rule, "near", topic, where),
            not_near=self.windows(rule, "not_near", topic, where),
            with_=self.names(rule, "with", topic, where),
            without=self.names(rule, "without", topic, where),
        )

    def names(self, rule: _Mapping, key: str, topic: str, where: str) -> tuple[str, ...]:
        value = rule.get(key) or []
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.fail(rule, f"{where} {key}", "expected a term-list name or a list of them")
        return tuple(self.resolve(rule, n, topic, f"{where} {key}") for n in names)

    def windows(self, rule: _Mapping, key: str, topic: str, where: str) -> tuple[tuple[str, int], ...]:
        value = rule.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(rule, f"{where} {key}", "expected a mapping of term-list name -> words")
        out = []
        for name, within in value.items():
            if not isinstance(within, int) or isinstance(within, bool) or within < 1:
                raise self.fail(rule, f"{where} {key}.{name}", "the window must be a positive number of words")
            out.append((self.resolve(rule, name, topic, f"{where} {key}"), within))
        return tuple(out)

    def resolve(self, node: Any, name: str, topic: str, where: str) -> str:
        for qualified in (f"{topic}/{name}", name):
            if qualified in self.lists:
                self.used.add(qualified)
                return qualified
        raise self.fail(node, where, f"unknown term list {name!r}")
