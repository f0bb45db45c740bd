"""Poison inside a batch costs only itself, on the real embedded servers (noida-db + the Faust worker).

Twenty good articles (one of them with a link that is not a URL) and three poisoned records
go to news.raw together, so they share the tagging stage's batch: bytes that are not UTF-8
JSON, JSON that is not an article, and an article whose `published` Elasticsearch's strict
date mapping refuses (a 400 for that one document). Every good article must be indexed
exactly once, every poisoned record must be on news.dlq once with its stage, its reason and
its original bytes, and the worker's offsets must move past all of them. The worker's web
server must serve /health and none of Faust's own views.

On `newsmon up` itself: a webhook target trickling its answer a byte a second delays only its
own alerts (dead-lettered after its cut attempts, while the other target takes each at once);
a deliveries task that raises (its commit refused when another member takes its static
membership id) restarts, is named on /health while it fails and recovers, while indexing goes
on; and Elasticsearch gone past `stage_failure_limit_seconds` makes `up` exit 1 with one line
naming the stage, after which a second `up` on the same data dir indexes everything once.
"""
from __future__ import annotations

import asyncio
import base64
import http.server
import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import Elasticsearch
from newsmon.bench.corpus import synthetic_articles
from newsmon.schemas.article import ALERT_DECODER, Alert, DeadLetter, encode

from newsmon.core.webhooks import DELIVERY_HEADER, delivery_id
from newsmon.settings import Settings
from newsmon.stack import wait_drained
from tests.integration.helpers import es_count, running_up, settle, wait_for
from tests.integration.test_faults import (
    ARTICLES,
    DEAD_LETTER,
    TOPIC_IDS,
    assert_exactly_indexed,
    on_topic,
    read_topics,
    restart,
    running_stack,
    worker_log,
)
from tests.loopback import Trickle, serve

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("faults")]

NOT_JSON = b"\xff\xfe\x00 not an article"
NOT_AN_ARTICLE = b'{"id": 5, "url": ["a list"]}'


async def publish(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    """All at once, so they land in one batch of the tagging stage."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=50)
    await producer.start()
    try:
        sent = [await producer.send(settings.raw_topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def dead_letters(settings: Settings) -> list[DeadLetter]:
    decoder = msgspec.json.Decoder(DeadLetter)
    return [decoder.decode(r.value) for r in asyncio.run(read_topics(settings.kafka_bootstrap_servers, [DEAD_LETTER]))]


def original_bytes(letter: DeadLetter) -> bytes:
    return base64.b64decode(letter.payload) if letter.payload_encoding == "base64" else letter.payload.encode()


def test_poisoned_records_in_a_batch_cost_only_themselves(tmp_path):
    good = list(synthetic_articles(20, seed=31, copy_ratio=0))
    good[7] = msgspec.structs.replace(good[7], url="http://[oops/x")  # not a URL; still a good article
    (odd,) = synthetic_articles(1, seed=32, copy_ratio=0)
    bad_date = msgspec.structs.replace(odd, id="poison-date", published="2025-11-08 10:00:00Z")
    records = [(a.id.encode(), encode(a)) for a in good[:10]] + [(b"poison-bytes", NOT_JSON),
               (b"poison-shape", NOT_AN_ARTICLE), (bad_date.id.encode(), encode(bad_date))]
    records += [(a.id.encode(), encode(a)) for a in good[10:]]

    with running_stack(tmp_path / "state") as (stack, _):
        settings = stack.settings
        es = Elasticsearch(settings.elasticsearch_url)
        asyncio.run(publish(settings, records))
        wait_for(lambda: es_count(es, ARTICLES) >= len(good), timeout=90,
                 what=f"the 20 good articles indexed\n{worker_log(stack)}")
        assert asyncio.run(wait_drained(settings, stack, timeout=60)), "offsets committed past every record"
        assert_exactly_indexed(es, {a.id for a in good})
        letters = wait_for(lambda: len(found := dead_letters(settings)) >= 3 and found, timeout=30, what="three dead letters")
        health = httpx.get(f"http://127.0.0.1:{settings.web_port}/health", timeout=5).json()
        faust_views = [httpx.get(f"http://127.0.0.1:{settings.web_port}{path}", timeout=5).status_code
                       for path in ("/router/", "/table/alerts-stories/x/", "/stats/")]
        stack.check_worker()

    by_bytes = {original_bytes(d): d for d in letters}
    assert len(letters) == 3, [(d.stage, d.reason[:80]) for d in letters]
    assert by_bytes[NOT_JSON].stage == "tagging" and "undecodable article" in by_bytes[NOT_JSON].reason
    assert by_bytes[NOT_JSON].payload_encoding == "base64", "bytes that are not UTF-8 are kept as they were"
    assert by_bytes[NOT_AN_ARTICLE].stage == "tagging" and "undecodable article" in by_bytes[NOT_AN_ARTICLE].reason
    (refused,) = [d for d in letters if d.stage == "indexing"]
    assert msgspec.json.decode(refused.payload)["id"] == "poison-date" and "published" in refused.reason
    assert refused.reason.startswith("article poison-date refused: "), refused.reason  # Elasticsearch's 400, per item
    assert health["status"] == "ok" and health["stages"]["tagging"]["status"] == "ok", {k: v for k, v in health["stages"].items() if v["status"] != "ok"}
    assert health["stages"]["indexing"]["status"] == "ok" and health["stages"]["index-setup"]["status"] == "ok"
    assert faust_views == [404, 404, 404], "only our own routes are served"
    print(f"\nstream-poison: in={len(records)} good={len(good)} indexed={len(good)} dead_lettered={len(letters)} "
          f"stages={sorted(d.stage for d in letters)} refused={refused.reason[:120]!r}")


# ---- webhook targets: delivered, trickling, unusable ------------------------------------------

@dataclass
class Posted:
    path: str
    delivery: str
    at: float  # epoch seconds the receiver answered


@contextmanager
def receiver(hold_first: threading.Event | None = None) -> Iterator[tuple[str, list[Posted], threading.Event]]:
    """A webhook receiver on loopback answering 200 to every POST; with `hold_first`, the first
    POST waits (up to 60 s) until the test sets that event. Yields the base URL, what it took,
    and an event set when the first POST arrived."""
    taken: list[Posted] = []
    arrived = threading.Event()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                first = not arrived.is_set()
                arrived.set()
            if first and hold_first is not None:
                hold_first.wait(60)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                taken.append(Posted(self.path, self.headers[DELIVERY_HEADER], time.time()))

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    with serve(Handler) as url:
        yield url, taken, arrived


def alerts_on_topics(settings: Settings) -> list[tuple[Alert, float]]:
    """Every alert on the alert topics with the time the broker took it (epoch seconds)."""
    records = asyncio.run(read_topics(settings.kafka_bootstrap_servers, [settings.alerts_topic(t) for t in TOPIC_IDS]))
    return [(ALERT_DECODER.decode(r.value), r.timestamp / 1000) for r in records]


def settled_alerts(settings: Settings) -> tuple[list[tuple[Alert, float]], set[str]]:
    """The alerts once their number stopped changing, and their delivery ids."""
    settle(lambda: sorted(delivery_id(a) for a, _ in alerts_on_topics(settings)), checks=3, interval=1.0, timeout=60)
    alerts = alerts_on_topics(settings)
    return alerts, {delivery_id(a) for a, _ in alerts}


def health_now(web: str) -> tuple[int, dict]:
    try:
        response = httpx.get(f"{web}/health", timeout=5)
        return response.status_code, response.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}


def deliveries_stages(health: dict) -> dict[str, dict]:
    return {name: s for name, s in health.get("stages", {}).items() if name.startswith("deliveries:")}


def up_settings(stack) -> Settings:
    return Settings(kafka_bootstrap_servers=stack.kafka, elasticsearch_url=stack.elasticsearch)


def alive(stack) -> None:
    """Fail at once, with its output, when `newsmon up` exited (rather than waiting out a timeout)."""
    if stack.process.poll() is not None:
        raise AssertionError(f"newsmon up exited with {stack.process.returncode}:\n{stack.process.stdout.read()[-3000:]}")


def test_a_trickling_webhook_target_delays_only_itself(tmp_path):
    articles = on_topic(list(synthetic_articles(8, seed=41, copy_ratio=0)))
    with receiver() as (good_base, taken, _), serve(Trickle) as slow_base:
        webhooks = [{"url": f"{good_base}/hook"}, {"url": f"{slow_base}/hook"}]
        with running_up(tmp_path / "state", "--feed", "file:///nowhere.xml", NEWSMON_POLL_INTERVAL_SECONDS="3600",
                        NEWSMON_WEBHOOKS=json.dumps(webhooks), NEWSMON_WEBHOOK_TIMEOUT_SECONDS="1",
                        NEWSMON_WEBHOOK_ATTEMPTS="2", NEWSMON_WEBHOOK_BACKOFF_SECONDS="0.1") as stack:
            settings = up_settings(stack)
            es = Elasticsearch(stack.elasticsearch)
            wait_for(lambda: alive(stack) or len(deliveries_stages(health_now(stack.web)[1])) == 2, timeout=120,
                     what="two delivery tasks")
            asyncio.run(publish(settings, [(a.id.encode(), encode(a)) for a in articles]))
            wait_for(lambda: es_count(es, ARTICLES) >= len(articles), timeout=90, what="the articles indexed")
            alerts, expected = settled_alerts(settings)
            wait_for(lambda: {p.delivery for p in taken} >= expected, timeout=60, what="every alert at the good target")
            good_done = time.time()
            given_up = wait_for(lambda: len(found := [d for d in dead_letters(settings) if d.stage == "deliveries"])
                                >= len(alerts) and found, timeout=30 + 3 * len(alerts), what="the slow target's dead letters")
            slow_done = time.time()
            status, health = health_now(stack.web)
            assert_exactly_indexed(es, {a.id for a in articles})

    assert len(alerts) >= 3, "on-topic articles alert"
    created = {delivery_id(a): t for a, t in alerts}
    latency = [p.at - created[p.delivery] for p in taken]
    assert sorted(p.delivery for p in taken) == sorted(expected), "each alert accepted once by the good target"
    assert max(latency) < 3.0, f"the good target waited behind the slow one: {max(latency):.1f}s"
    assert len(given_up) == len(alerts), [d.reason for d in given_up]
    slow_host = slow_base.removeprefix("http://")
    assert all(d.reason == f"webhook {slow_host}: no complete answer before the deadline after 2 attempt(s)"
               for d in given_up), given_up[0].reason
    assert {delivery_id(ALERT_DECODER.decode(d.payload)) for d in given_up} == expected
    assert status == 200 and all(s["status"] == "ok" for s in deliveries_stages(health).values()), health
    print(f"\nwebhook-trickle: alerts={len(alerts)} good_taken={len(taken)} good_max_latency={max(latency):.2f}s "
          f"slow_dead_lettered={len(given_up)} slow_done_after_good={slow_done - good_done:.1f}s")


# ---- a stage that cannot recover: `newsmon up` exits 1 and says which ------------------------

def test_up_exits_1_naming_the_stage_when_elasticsearch_stays_gone(tmp_path):
    from newsmon.embedded import free_port, noida
    from tests.integration.helpers import clean_env, newsmon

    first, during = (list(synthetic_articles(10, seed=seed, copy_ratio=0)) for seed in (51, 52))
    es_port, kafka_port, web_port = free_port(), free_port(), free_port()
    es_server = noida(tmp_path / "es", 0, es_port, "elasticsearch").start()
    elasticsearch = f"http://127.0.0.1:{es_port}"
    env = clean_env(ELASTICSEARCH_URL=elasticsearch, NEWSMON_EMBEDDED_KAFKA_PORT=str(kafka_port),
                    NEWSMON_WEB_PORT=str(web_port), NEWSMON_FULL_TEXT="never", NEWSMON_STAGE_FAILURE_LIMIT_SECONDS="3")
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{kafka_port}", elasticsearch_url=elasticsearch)
    es = Elasticsearch(elasticsearch)
    process = newsmon("up", "--data-dir", str(tmp_path / "state"), "--feed", "file:///nowhere.xml", env=env,
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []  # (monotonic time read, line) of everything `up` prints
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), line) for line in process.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: health_now(f"http://127.0.0.1:{web_port}")[0] == 200, timeout=120, what="the worker's /health")
        asyncio.run(publish(settings, [(a.id.encode(), encode(a)) for a in first]))
        wait_for(lambda: es_count(es, ARTICLES) >= len(first), timeout=90, what="the first articles indexed")
        es_server.stop()  # Elasticsearch gone for good, as far as this run of `up` can tell
        gone = time.monotonic()
        asyncio.run(publish(settings, [(a.id.encode(), encode(a)) for a in during]))
        code = process.wait(timeout=90)
        exited = time.monotonic() - gone
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(line for _, line in lines)
    reasons = [(at - gone, line.strip()) for at, line in lines if "cannot recover" in line]
    print(f"\nup-stage-stuck: exit={code} said_after={reasons[0][0] if reasons else -1:.1f}s exited_after={exited:.1f}s "
          f"line={reasons[0][1] if reasons else None!r}")
    assert code == 1, output[-3000:]
    assert len(reasons) == 1, output[-3000:]
    noticed, line = reasons[0]
    assert "stack-failed" in line and "worker stage cannot recover: indexing failing since" in line, line
    assert "Traceback" not in output, output[-3000:]
    # the bulk sender's own tries (20-30 s, measured) come first, then the limit (3 s) and a health check (2 s)
    assert noticed < 60, f"up said so {noticed:.0f}s after Elasticsearch went away"

    # Nothing lost: the same data dir with Elasticsearch back indexes what waited in Kafka.
    restart(es_server)
    try:
        with running_up(tmp_path / "state", "--feed", "file:///nowhere.xml", ELASTICSEARCH_URL=elasticsearch) as stack:
            wait_for(lambda: alive(stack) or es_count(es, ARTICLES) >= len(first) + len(during), timeout=120,
                     what="the articles published while Elasticsearch was gone")
            assert_exactly_indexed(es, {a.id for a in first + during})
    finally:
        es_server.stop()


# ---- a background task that raises: the deliveries consumer, its commit refused in a rebalance ----

def restarts(data_dir: Path, task: str) -> int:
    """How often the worker logged that `task` failed and restarts."""
    return (data_dir / "logs" / "worker.log").read_text(errors="replace").count(f"task {task} failed, restarting")


def test_a_deliveries_task_that_raises_restarts_shows_on_health_and_others_keep_indexing(tmp_path):
    """Another member takes the deliveries consumer's static membership id (a second worker on the
    same host and data dir does) while an alert is at the receiver: the commit after it is refused
    (CommitFailedError), the task raises. It must restart, /health must name it while it fails,
    the rest of the pipeline must go on indexing, and once the other member left, every alert
    must be taken, the one in flight at most once more per restart."""
    from aiokafka import AIOKafkaConsumer

    from newsmon.streams.app import worker_instance_id
    from newsmon.streams.deliveries import stage_name, target_key

    from newsmon.settings import WebhookTarget

    first, later = (on_topic(list(synthetic_articles(6, seed=seed, copy_ratio=0))) for seed in (61, 62))
    release = threading.Event()
    with receiver(hold_first=release) as (base, taken, arrived):
        target = WebhookTarget(url=f"{base}/hook")
        with running_up(tmp_path / "state", "--feed", "file:///nowhere.xml", NEWSMON_POLL_INTERVAL_SECONDS="3600",
                        NEWSMON_WEBHOOKS=json.dumps([{"url": target.url}]), NEWSMON_WEBHOOK_BACKOFF_SECONDS="0.1") as stack:
            settings = up_settings(stack).model_copy(update={"data_dir": (tmp_path / "state").resolve()})
            stage = stage_name(target)
            es = Elasticsearch(stack.elasticsearch)
            wait_for(lambda: alive(stack) or deliveries_stages(health_now(stack.web)[1]).get(stage, {}).get("status") == "ok",
                     timeout=120, what="the delivery task")
            asyncio.run(publish(settings, [(a.id.encode(), encode(a)) for a in first]))
            assert arrived.wait(90), "a first alert at the receiver"

            async def intrude() -> tuple[dict, float]:
                """Join the target's group under its static id, hold it while the alert is answered,
                watch /health, index more meanwhile; then leave."""
                intruder = AIOKafkaConsumer(
                    *[settings.alerts_topic(t) for t in TOPIC_IDS], bootstrap_servers=settings.kafka_bootstrap_servers,
                    group_id=f"{settings.worker_group}.deliveries.{target_key(target)}",
                    group_instance_id=f"{worker_instance_id(settings)}-deliveries-{target_key(target)}",
                    enable_auto_commit=False, auto_offset_reset="earliest")
                await intruder.start()
                polling = asyncio.create_task(intruder.getmany(timeout_ms=60_000))
                try:
                    async with asyncio.timeout(30):
                        while not intruder.assignment():
                            await asyncio.sleep(0.1)
                    release.set()  # the held alert is answered now: the worker's commit after it is refused
                    seen_failing, nudged_at = None, time.monotonic()
                    async with asyncio.timeout(120):  # the refused commit comes after the worker's next poll: slow under load
                        while seen_failing is None:
                            status, health = await asyncio.to_thread(health_now, stack.web)
                            state = health.get("stages", {}).get(stage, {})
                            if state.get("status") == "failing":
                                seen_failing = {"http": status, **state}
                            elif time.monotonic() - nudged_at > 10:
                                # The worker's heartbeat can notice the intruder first and re-join before its
                                # commit, which then succeeds; a fresh alert is one more commit to refuse.
                                nudges.append(on_topic(list(synthetic_articles(1, seed=70 + len(nudges), copy_ratio=0))))
                                await publish(settings, [(a.id.encode(), encode(a)) for a in nudges[-1]])
                                nudged_at = time.monotonic()
                            await asyncio.sleep(0.05)
                    await publish(settings, [(a.id.encode(), encode(a)) for a in later])
                    await asyncio.to_thread(wait_for, lambda: es_count(es, ARTICLES) >= len(first) + len(later) + len(nudges),
                                            60, 0.5, "the later articles indexed while deliveries fail")
                    return seen_failing, time.monotonic()
                finally:
                    polling.cancel()
                    await intruder.stop()

            nudges: list[list[Article]] = []
            failing, left = asyncio.run(intrude())
            alive(stack)
            wait_for(lambda: health_now(stack.web)[0] == 200, timeout=60, what="/health ok again")
            recovered = time.monotonic() - left
            alerts, expected = settled_alerts(settings)
            wait_for(lambda: {p.delivery for p in taken} >= expected, timeout=60, what="every alert at the receiver")
            status, health = health_now(stack.web)
            assert_exactly_indexed(es, {a.id for a in first + later + [a for batch in nudges for a in batch]})
            restarted = restarts(tmp_path / "state", stage)

    accepted = Counter(p.delivery for p in taken)
    again = sum(n - 1 for n in accepted.values())
    print(f"\ndeliveries-task-raises: error={failing['error'][:60]!r} restarts={restarted} alerts={len(alerts)} "
          f"accepted={len(taken)} again={again} nudges={len(nudges)} recovered_after_intruder_left={recovered:.1f}s")
    assert failing["http"] == 503 and "CommitFailedError" in failing["error"], failing
    assert restarted >= 1, "the task was restarted"
    assert set(accepted) == expected, "every alert taken by the receiver"
    assert again <= restarted, f"{again} alerts posted again for {restarted} restarts"
    assert status == 200 and health["stages"][stage]["status"] == "ok", health


# ---- the issue's own case: `newsmon replay` of a poisoned archive into `newsmon up` ---------------

def test_replaying_20_good_articles_and_a_poisoned_one_into_up_loses_none(tmp_path):
    """The link `http://[oops/x` once crashed the tagging agent and took its whole batch (none of
    the 20 good articles reached Elasticsearch or news.dlq). Now the article with that link is
    indexed like the others, with its link as the feed gave it, and a line of the archive that
    is no article is reported by replay with file and line (replay's rejections are not
    dead-lettered: collectors/replay.py says why)."""
    from tests.integration.helpers import newsmon

    good = list(synthetic_articles(20, seed=71, copy_ratio=0))
    (odd,) = synthetic_articles(1, seed=72, copy_ratio=0)
    poisoned = msgspec.structs.replace(odd, id="poison-url", url="http://[oops/x")
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(b"\n".join([encode(a) for a in good[:10]] + [encode(poisoned), b"{not json"] + [encode(a) for a in good[10:]]))
    with running_up(tmp_path / "state", "--feed", "file:///nowhere.xml", NEWSMON_POLL_INTERVAL_SECONDS="3600") as stack:
        settings = up_settings(stack)
        es = Elasticsearch(stack.elasticsearch)
        wait_for(lambda: alive(stack) or health_now(stack.web)[0] == 200, timeout=120, what="the worker's /health")
        replay = newsmon("replay", str(archive), env=stack.client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = replay.communicate(timeout=120)
        wait_for(lambda: es_count(es, ARTICLES) >= len(good) + 1, timeout=90, what=f"21 articles indexed\n{out}{err}")
        assert asyncio.run(wait_drained(settings, timeout=60)), "offsets committed past every record"
        assert_exactly_indexed(es, {a.id for a in good} | {poisoned.id})
        (kept,) = [h["_source"] for h in es.search(index=ARTICLES, query={"ids": {"values": [poisoned.id]}})["hits"]["hits"]]
        letters = dead_letters(settings)
        status, health = health_now(stack.web)
    print(f"\nreplay-poison: replay_exit={replay.returncode} summary={out.strip()!r} indexed={len(good) + 1} dead_letters={len(letters)}")
    assert replay.returncode == 0, err
    assert "read 21, published 21" in out and "rejected 1" in out, out
    assert f"{archive.name}:12" in err and "not JSON" in err, err
    assert kept["url"] == "http://[oops/x" and kept["title"] == poisoned.title
    assert letters == [], [(d.stage, d.reason) for d in letters]
    assert status == 200, health
