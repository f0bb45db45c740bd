"""Replay reads JSON lines one by one: a bad line is one rejection with its kind, file and
line, and the good lines around it are read as they are (published in the wire format)."""
from __future__ import annotations

import argparse
from collections import Counter

from newsmon.cli.replay import print_summary, select
from newsmon.collectors.replay import (
    BAD_FIELD,
    BAD_PUBLISHED,
    NO_PUBLISHED,
    NO_URL,
    NOT_AN_OBJECT,
    NOT_JSON,
    Rejection,
    read_archive,
)

GOOD = b'{"url": "https://a.example.com/news/%d", "title": "Story %d", "published": "2025-11-08T1%d:00:00+03:30"}'
BAD = {
    b'{"url": "https://a.example.com/x", "title": "no date"}': NO_PUBLISHED,
    b'{"url": "https://a.example.com/x", "published": null}': NO_PUBLISHED,
    b'{"url": "https://a.example.com/x", "published": "yesterday"}': BAD_PUBLISHED,
    b'{"url": "https://a.example.com/x", "published": 1731060000}': BAD_PUBLISHED,
    b'{"url": "https://a.example.com/x", "published": "0001-01-01T00:00:00Z"}': BAD_PUBLISHED,
    b'{"url": "https://a.example.com/x", "published": "2999-01-01T00:00:00Z"}': BAD_PUBLISHED,
    b"{not json": NOT_JSON,
    b'"\\ud800"': NOT_JSON,
    b"[1, 2]": NOT_AN_OBJECT,
    b'{"title": "no url", "published": "2025-11-08T10:00:00Z"}': NO_URL,
    b'{"url": "https://a.example.com/x", "published": "2025-11-08T10:00:00Z", "authors": "one"}': BAD_FIELD,
}


def archive(tmp_path):
    lines = [GOOD % (n, n, n) for n in range(5)]
    for offset, bad in enumerate(BAD):
        lines.insert(2 * offset % (len(lines) + 1), bad)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def test_each_bad_line_is_rejected_with_its_kind_and_line_and_the_good_ones_are_read(tmp_path):
    path, lines = archive(tmp_path)
    items = list(read_archive(path))
    rejected = [item for item in items if isinstance(item, Rejection)]
    good = [item for item in items if not isinstance(item, Rejection)]
    assert [r.kind for r in rejected] == [BAD[lines[r.line - 1]] for r in rejected]
    assert Counter(r.kind for r in rejected) == Counter(BAD.values())
    assert [a.title for a in good] == [f"Story {n}" for n in range(5)]
    assert [a.published for a in good] == [f"2025-11-08T{n + 6:02d}:30:00Z" for n in range(5)]  # +03:30 in UTC
    assert all(a.replay for a in good)


def test_the_summary_counts_rejections_by_kind_on_one_line(tmp_path, capsys):
    path, _ = archive(tmp_path)
    args = argparse.Namespace(paths=[path], since="2025-11-08T07:00:00Z", until=None, topic_rules=None, alerts=False)
    counts, rejections = Counter(), []
    chosen = select(args, counts, rejections)
    assert len(chosen) == 4 and [a.published for a in chosen] == sorted(a.published for a in chosen)
    counts["published"] = len(chosen)
    print_summary(counts, rejections)
    out, err = capsys.readouterr()
    assert out == ("replay summary: read 5, published 4, pages re-extracted 0, cut to size 0, dead-lettered 0, "
                   "skipped: outside --since/--until 1, rejected 11 "
                   "(bad-field 1, bad-published 4, no-published 2, no-url 1, not-an-object 1, not-json 2)\n")
    assert err.count("replay: rejected ") == 11
    assert all(f"replay: rejected {path}:{r.line}: {r.reason}\n" in err for r in rejections)
