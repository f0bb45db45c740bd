"""Replay a multi-file archive through the embedded stack, twice, with exact document and
alert counts; then re-process with changed rules and watch topics change in place."""
from __future__ import annotations

import asyncio
import gzip
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from elasticsearch import Elasticsearch
from newsmon.collectors.normalize import articles_from_bytes
from newsmon.schemas import schema_path
from newsmon.schemas.article import ALERT_DECODER, Article, encode

from newsmon.core.alerting import StoryAlerter
from newsmon.core.pipeline import LocalPipeline
from newsmon.core.rules import load_rules
from tests.integration.helpers import es_count, newsmon, running_up, settle, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("replay")]

SAMPLES = Path(__file__).resolve().parents[2] / "newsmon" / "samples" / "feeds"
TOPICS = ["snapback", "bushehr", "north-south-corridor"]


def build_archive(root: Path) -> list[Article]:
    """Feeds as XML and gzipped XML, articles as JSON lines and gzipped JSON lines, plus three bad files."""
    (root / "feeds").mkdir(parents=True)
    (root / "lines").mkdir()
    (root / "bad").mkdir()
    shutil.copy(SAMPLES / "tehran-wire.xml", root / "feeds" / "tehran-wire.xml")
    (root / "feeds" / "vostok-ru.xml.gz").write_bytes(gzip.compress((SAMPLES / "vostok-ru.xml").read_bytes()))
    fetched = datetime(2025, 11, 20, tzinfo=timezone.utc)
    gulf = articles_from_bytes((SAMPLES / "gulf-daily.xml").read_bytes(), "https://gulf.example/rss", fetched)
    fa = articles_from_bytes((SAMPLES / "iran-fa.xml").read_bytes(), "https://fa.example/rss", fetched)
    lines = [encode(a) + b"\n" for a in gulf]
    lines.insert(len(lines) // 2, b"{not json\n")
    (root / "lines" / "gulf.jsonl").write_bytes(b"".join(lines))
    (root / "lines" / "iran-fa.jsonl.gz").write_bytes(gzip.compress(b"".join(encode(a) + b"\n" for a in fa)))
    (root / "bad" / "truncated.jsonl.gz").write_bytes(gzip.compress(b"".join(lines))[:200])
    (root / "bad" / "not-a-feed.xml").write_text("<html><body><p>Moved to a new address</p></body></html>")
    feeds = [articles_from_bytes((SAMPLES / name).read_bytes(), "file://x", fetched) for name in ("tehran-wire.xml", "vostok-ru.xml")]
    return [*feeds[0], *feeds[1], *gulf, *fa]


def expected_counts(articles: list[Article]) -> tuple[int, int]:
    """Documents (exact copies at another URL never become one) and story alerts, by the shared core logic."""
    pipeline, alerter = LocalPipeline(rules=load_rules()), StoryAlerter({}, alert_replays=True)
    documents = alerts = 0
    for article in sorted({a.id: a for a in articles}.values(), key=lambda a: a.published):
        done, decision = pipeline.run(article)
        documents += not (decision.reason == "content" and decision.duplicate_of != done.id)
        alerts += sum(is_new for _, is_new in alerter.decide(done))
    return documents, alerts


async def story_alerts(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(f"alerts.{t}", p) for t in TOPICS for p in consumer.partitions_for_topic(f"alerts.{t}") or ()]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends, count = await consumer.end_offsets(parts), 0
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                count += sum(ALERT_DECODER.decode(r.value).kind == "story" for r in records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return count
    finally:
        await consumer.stop()


def replay(stack, *args: str) -> subprocess.CompletedProcess:
    proc = newsmon("replay", *args, env=stack.client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_replay_twice_is_idempotent_and_reprocess_retags_in_place(tmp_path):
    articles = build_archive(tmp_path / "archive")
    want_docs, want_alerts = expected_counts(articles)
    assert want_docs > 20 and want_alerts > 5
    with running_up(tmp_path / "state", NEWSMON_FEEDS="[]") as stack:
        es = Elasticsearch(stack.elasticsearch)
        docs = lambda: es_count(es, "news-articles")  # noqa: E731
        alerts = lambda: asyncio.run(story_alerts(stack.kafka))  # noqa: E731

        first = replay(stack, str(tmp_path / "archive"))
        assert first.returncode == 0, first.stderr
        assert f"read {len(articles)}, published {len(articles)}" in first.stdout
        assert "rejected 3" in first.stdout
        assert "gulf.jsonl:" in first.stderr and "truncated.jsonl.gz" in first.stderr and "not-a-feed.xml" in first.stderr
        wait_for(lambda: docs() >= want_docs, timeout=120, what=f"{want_docs} documents")
        assert settle(docs) == want_docs
        assert alerts() == 0, "a replay alerts nobody unless asked"

        for _ in range(2):  # asked for alerts: once per story and topic, however often replayed
            again = replay(stack, "--alerts", "--speed", "max", str(tmp_path / "archive"))
            assert again.returncode == 0, again.stderr
            assert settle(alerts) == want_alerts
            assert settle(docs) == want_docs

        rules = yaml.safe_load(schema_path("topics.yaml").read_text())
        rules["topics"] = [t for t in rules["topics"] if t["id"] != "north-south-corridor"]
        changed = tmp_path / "rules.yaml"
        changed.write_text(yaml.safe_dump(rules, allow_unicode=True))
        corridor = lambda: es_count(es, "news-articles", query={"term": {"topics": "north-south-corridor"}})  # noqa: E731
        assert corridor() > 0
        proc = newsmon("reprocess", "--since", "2000-01-01", "--rules", str(changed), env=stack.client_env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "reprocess summary" in out
        wait_for(lambda: corridor() == 0, timeout=30, what="corridor topic removed by the new rules")
        assert docs() == want_docs, "re-processing creates no document"
        assert es_count(es, "news-articles", query={"term": {"topics": "snapback"}}) > 0
