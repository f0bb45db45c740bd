"""`newsmon rules test`: exit codes and what a rule author sees."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsmon.cli import main

RULES = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {en: [bushehr]}
      plant: {en: [reactor]}
    rules:
      - id: plant
        match: anchor
        near: {plant: 3}
    tests:
      match: [Bushehr reactor restarted]
      no_match: [Bushehr port reopened]
"""


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_passing_examples_exit_0_and_print_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(write(tmp_path, "r.yaml", RULES))]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "must-match 1/1" in out and "must-not-match 1/1" in out


def test_shipped_rules_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test"]) == 0
    assert "north-south-corridor" in capsys.readouterr().out


def test_failing_example_exits_1_and_shows_sentence_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = RULES.replace("no_match: [Bushehr port reopened]", "no_match: [Bushehr reactor again]")
    body = body.replace("match: [Bushehr reactor restarted]", "match: [Bushehr plant restarted]")
    assert main(["rules", "test", str(write(tmp_path, "r.yaml", body))]) == 1
    out = capsys.readouterr().out
    assert "MISSED   Bushehr plant restarted" in out
    assert "WRONGLY  Bushehr reactor again" in out and "fired: demo:en.plant" in out
    assert "2 example(s) fail" in out


def test_bad_rule_file_exits_2_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "r.yaml", RULES.replace("near:", "nearby:"))
    assert main(["rules", "test", str(path)]) == 2
    assert f"{path}:8:" in capsys.readouterr().out


def test_corpus_counts_hits_per_topic_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write(tmp_path, "c.jsonl", "\n".join(json.dumps(a) for a in [
        {"url": "https://e.org/1", "title": "Bushehr reactor", "content": "<p>restarted</p>"},
        {"url": "https://e.org/2", "title": "Bushehr port", "content": "reopened"},
    ]))
    assert main(["rules", "test", str(write(tmp_path, "r.yaml", RULES)), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "2 articles" in out
    assert [line.split() for line in out.splitlines() if line.strip().startswith("demo")][-2:] == [
        ["demo", "1", "articles"], ["demo:en.plant", "1"]]


def test_unreadable_corpus_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write(tmp_path, "c.jsonl", "not json\n")
    assert main(["rules", "test", str(write(tmp_path, "r.yaml", RULES)), "--corpus", str(corpus)]) == 2
    assert "c.jsonl:1" in capsys.readouterr().out
