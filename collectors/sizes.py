"""Record sizes in bytes: every raw article fits the broker's message limit with room to grow.

Kafka refuses a message over 1 MiB (the broker's `message.max.bytes`, aiokafka's
`max_request_size`). A feed item's size is the sum of its fields in UTF-8 after JSON
escaping: a Persian body is two bytes a character, and an item may carry a long
`content:encoded` and a long description. Later stages add to the record: enrichment
adds `text` (the body's plain text, at most the body's size), then topics, matched rules,
ids and, in the same message, the story summary. So a raw record is capped at
`RAW_RECORD_MAX_BYTES` (448 KiB): twice that plus `STAGE_HEADROOM_BYTES` (128 KiB) stays
under the limit. An oversized record is cut (a derived `text` dropped first, as enrichment
writes it again; then the teaser, then the body, on a character boundary, with `CUT_MARKER`
appended and `body_reason = "cut-to-size"`) rather than refused, so the feed's state advances
and the article still arrives. The publisher (collectors/publisher.py) applies `fit_record`
to every record it sends, whatever its source; one that cannot be cut goes to news.dlq with
its first `DEAD_LETTER_PAYLOAD_MAX_BYTES` (its source, an archive file or a replayed line, keeps all of it).
"""
from __future__ import annotations

import msgspec
from newsmon.schemas.article import Article, encode

KAFKA_MESSAGE_MAX_BYTES = 1024 * 1024
STAGE_HEADROOM_BYTES = 128 * 1024  # topics, matched rules, ids, dates and story fields added downstream
RAW_RECORD_MAX_BYTES = (KAFKA_MESSAGE_MAX_BYTES - STAGE_HEADROOM_BYTES) // 2 // 1024 * 1024  # 448 KiB
SUMMARY_MAX_BYTES = 16 * 1024  # a teaser next to a full body; more is a second copy of the body
CUT_MARKER = " […]"
CUT_REASON = "cut-to-size"
DEAD_LETTER_PAYLOAD_MAX_BYTES = RAW_RECORD_MAX_BYTES  # a dead letter, reason and payload, stays under the limit too
MAX_CUT_PASSES = 4  # JSON escaping makes a cut land a little long at times; each pass shrinks by the excess


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` of at most `max_bytes` UTF-8 bytes (never half a character)."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max(0, max_bytes)].decode("utf-8", errors="ignore")


def fit_record(article: Article, max_bytes: int = RAW_RECORD_MAX_BYTES) -> Article | None:
    """`article` unchanged when its encoding fits `max_bytes`; else without its derived `text`
    (a replayed export carries one; enrichment writes it again), then with its teaser capped
    (next to a body), then its body, then its teaser cut to fit, each marked; None when even
    without them it does not fit (a giant URL, title or author list: dead-letter it)."""
    if len(encode(article)) <= max_bytes:
        return article
    if article.text:
        article = msgspec.structs.replace(article, text="")
        if len(encode(article)) <= max_bytes:
            return article
    summary = _capped(article.summary, SUMMARY_MAX_BYTES) if article.content else article.summary
    cut = msgspec.structs.replace(article, summary=summary, body_reason=CUT_REASON)
    for name in ("content", "summary"):
        for _ in range(MAX_CUT_PASSES):
            excess = len(encode(cut)) - max_bytes
            value = getattr(cut, name).removesuffix(CUT_MARKER)
            if excess <= 0 or not value:
                break
            kept = _bytes_to_keep(value, excess + len(encode(CUT_MARKER)))
            cut = msgspec.structs.replace(cut, **{name: _capped(value, kept) if kept > 0 else ""})
    return cut if len(encode(cut)) <= max_bytes else None


def _bytes_to_keep(value: str, excess: int) -> int:
    """UTF-8 bytes of `value` to keep so its JSON encoding shrinks by `excess` (escaping scaled in)."""
    raw, encoded = len(value.encode("utf-8")), len(encode(value))
    return raw * (encoded - excess) // encoded


def _capped(text: str, max_bytes: int) -> str:
    """`text` when it fits `max_bytes`, else cut to them and marked."""
    return text if len(text.encode("utf-8")) <= max_bytes else cut_utf8(text, max_bytes) + CUT_MARKER
