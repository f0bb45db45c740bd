"""The one size guard on the way out: the publisher cuts a record to the cap or dead-letters it,
and never lets one record fail its batch (pure logic: no broker is reached)."""
from __future__ import annotations

import msgspec
from newsmon.collectors.publisher import CUT, DEAD_LETTERED, SENT, Publisher
from newsmon.collectors.sizes import (
    CUT_MARKER,
    CUT_REASON,
    KAFKA_MESSAGE_MAX_BYTES,
    RAW_RECORD_MAX_BYTES,
    fit_record,
)
from newsmon.schemas.article import Article, DeadLetter, decode_article, encode

from newsmon.settings import Settings

PERSIAN = "خبرگزاری گزارش داد که مذاکرات هسته‌ای ادامه دارد. "  # two bytes a letter in UTF-8


def article(**fields) -> Article:
    return Article(**{"id": "a1", "url": "https://fa.example/news/1", "title": "تیتر",
                      "published": "2025-11-08T10:00:00Z", **fields})


def publisher() -> Publisher:
    return Publisher(Settings(kafka_bootstrap_servers="127.0.0.1:1", raw_topic="raw.t", dlq_topic="dlq.t"), stage="replay")


def test_a_record_that_fits_goes_out_as_encoded():
    small = article(content=PERSIAN * 10)
    message = publisher().message(small)
    assert (message.topic, message.kind, message.key, message.value) == ("raw.t", SENT, b"a1", encode(small))


def test_an_oversized_body_and_teaser_are_cut_to_the_cap_with_the_marker():
    big = article(content=PERSIAN * 12_000, summary=PERSIAN * 12_000)  # 2 x ~1.1 MB
    assert len(encode(big)) > 2 * KAFKA_MESSAGE_MAX_BYTES
    message = publisher().message(big)
    sent = decode_article(message.value)
    assert message.kind == CUT and message.topic == "raw.t"
    assert len(message.value) <= RAW_RECORD_MAX_BYTES
    assert sent.content.endswith(CUT_MARKER) and sent.body_reason == CUT_REASON
    assert sent.content.startswith(PERSIAN * 100) and sent.title == big.title and sent.id == big.id


def test_a_derived_text_is_dropped_before_the_body_is_cut():
    export = article(content=PERSIAN * 3000, text=PERSIAN * 6000)  # ~330 KB body, ~660 KB text
    fit = fit_record(export)
    assert fit.text == "" and fit.content == export.content and fit.body_reason == ""


def test_a_record_that_cannot_be_cut_is_dead_lettered_with_the_reason_and_its_start():
    giant = article(content="body", authors=["x" * 1000] * 600)  # 600 KB of authors: nothing to cut
    message = publisher().message(giant)
    letter = msgspec.json.decode(message.value, type=DeadLetter)
    assert message.kind == DEAD_LETTERED and message.topic == "dlq.t" and message.key == b"replay"
    assert letter.stage == "replay" and "over the 458752 byte cap even without its body" in letter.reason
    assert "payload cut to its first" in letter.reason and letter.payload.startswith('{"id": "a1"')
    assert len(message.value) < KAFKA_MESSAGE_MAX_BYTES


def test_a_lone_surrogate_is_dead_lettered_not_a_failed_batch():
    message = publisher().message(article(title="bad \ud800 title"))
    letter = msgspec.json.decode(message.value, type=DeadLetter)
    assert message.kind == DEAD_LETTERED and "not encodable as UTF-8" in letter.reason
    assert "\\ud800" in letter.payload  # kept, escaped
