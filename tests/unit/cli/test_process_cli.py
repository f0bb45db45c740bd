"""`newsmon process`: one output line per input line, copies clustered, bad lines reported not dropped."""
from __future__ import annotations

import json
from pathlib import Path

from newsmon.cli import main, process

SEEDS = Path(__file__).parents[2] / "fixtures" / "dedupe" / "seeds"


def seed_records() -> list[dict]:
    records = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        text = path.read_text(encoding="utf-8")
        records.append({"url": f"https://news.example/{i}", "title": text.splitlines()[0][:80], "content": text,
                        "published": "2025-11-08T10:00:00Z", "source": "news.example"})
    return records


def run(tmp_path: Path, lines: list[str], capsys) -> tuple[int, list[dict], str]:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    code = main(["process", "--input", str(source), "--output", str(target)])
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return code, out, capsys.readouterr().err


def test_seed_articles_each_start_a_story_and_a_republished_copy_joins_its_original(tmp_path, capsys):
    records = seed_records()
    copy = {**records[0], "url": "https://other.example/copy", "content": f"TEHRAN (Agency) - {records[0]['content']}"}
    code, out, err = run(tmp_path, [json.dumps(r) for r in [*records, copy]], capsys)
    assert code == 0
    assert len(out) == len(records) + 1
    originals = out[: len(records)]
    assert len({o["cluster_id"] for o in originals}) == len(records)
    assert not any(o["is_duplicate"] for o in originals)
    assert out[-1]["is_duplicate"] and out[-1]["cluster_id"] == originals[0]["cluster_id"]
    assert all(o["language"] == "en" and len(o["content_hash"]) == 32 for o in out)
    assert f"lines={len(records) + 1} " in err and "per_s=" in err and "peak_rss_mb=" in err


def test_unreadable_lines_become_error_lines_in_place(tmp_path, capsys):
    good = json.dumps(seed_records()[1])
    code, out, err = run(tmp_path, [good, "{not json", json.dumps({"id": "x1", "title": 3}), "", good], capsys)
    assert code == 0
    assert [o.get("line") for o in out] == [None, 2, 3, None]
    assert "not JSON" in out[1]["error"] and out[2]["id"] == "x1"
    assert "line 2: not JSON" in err and "line 3:" in err
    assert out[3]["cluster_id"] == out[0]["cluster_id"]  # the same article again: its first decision


def test_chunk_boundaries_do_not_change_the_output(tmp_path, capsys, monkeypatch):
    records = [json.dumps(r) for r in seed_records()]
    lines = [records[0], "", "{not json", *records[1:], records[0], "", records[2]]
    whole = run(tmp_path, lines, capsys)
    monkeypatch.setattr(process, "CHUNK", 2)
    assert run(tmp_path, lines, capsys)[:2] == whole[:2]
