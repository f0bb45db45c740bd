"""Record shapes that travel on Kafka topics and land in Elasticsearch.

msgspec structs: typed, validated on decode with a clear error, and fast enough that
(de)serialisation never dominates the pipeline. Timestamps are ISO 8601 UTC strings on
the wire so that Elasticsearch, Kibana and `jq` all read them without conversion.
"""
from __future__ import annotations

import msgspec


class Article(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One news article as it moves collector -> news.raw -> news.articles -> index.

    Collectors fill the first block; the stream stages fill the second.
    """

    id: str  # canonical article id: stable hash of the canonical URL (or of feed+guid)
    url: str
    title: str = ""
    content: str = ""  # body as received, may be HTML
    published: str = ""  # ISO 8601 UTC
    source: str = ""  # outlet (host name or feed title)
    feed: str = ""  # feed URL the article came from
    fetched: str = ""  # ISO 8601 UTC, when the collector read it
    summary: str = ""  # the feed's teaser, kept as the feed gave it
    authors: list[str] = []
    language: str = ""  # ISO 639-1 code of the language the text is written in; identified if empty
    declared_language: str = ""  # what the feed or page says (xml:lang, <html lang>, og:locale), as a hint
    # Where `content` comes from: "feed" (the feed carried the article), "page" (extracted from
    # the linked page), "teaser" (only the feed's teaser: the page was not fetched or failed).
    body_source: str = ""
    body_reason: str = ""  # why a teaser stayed a teaser: paywall | robots | not-html | too-large | http-403 | timeout | extraction-empty | ...
    guid: str = ""
    canonical_link: str = ""  # <link rel=canonical> / amp canonical when the feed gives it
    replay: bool = False  # published by `newsmon replay`: old news, no story alerts...
    replay_alerts: bool = False  # ...unless the replay asked for them (`--alerts`)
    # --- filled by the pipeline (enrich, tag, dedupe, events) ---
    canonical_url: str = ""
    text: str = ""  # plain text: markup stripped, whitespace folded
    content_hash: str = ""
    cluster_id: str = ""  # copy group: the article and its republished copies
    story_id: str = ""  # event: every report of the same happening, in any wording or language
    duplicate_of: str | None = None
    is_duplicate: bool = False
    topics: list[str] = []
    matched_rules: list[str] = []  # "topic:rule-id", why the article carries each topic
    processed: str = ""  # ISO 8601 UTC, when the stream stage finished with it


class Story(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One event as the news-stories index and the live view show it (id = story_id): every
    report of one happening, its copies included, in any language (newsmon/core/events.py)."""

    story_id: str  # the first report's article id
    title: str = ""  # of the first report
    url: str = ""
    source: str = ""
    language: str = ""  # of the first report
    titles: dict[str, str] = {}  # language -> the first headline in that language
    first_seen: str = ""  # ISO 8601 UTC, event time of the first report
    last_seen: str = ""
    articles: int = 1  # reports and their copies
    copies: int = 0  # articles that are copies of another (articles - clusters)
    clusters: int = 1  # copy groups (independent reports)
    sources: list[str] = []  # distinct outlets (capped)
    source_count: int = 1
    languages: list[str] = []
    topics: list[str] = []  # union over its articles
    merged_into: str = ""  # the story this one was found to be part of ("" unless merged)


class Alert(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A compact message on alerts.<topic-id>: once per event (story), a follow-up when the
    event crosses a step (more outlets, a new language), or once per volume burst."""

    kind: str  # "story" | "story-update" | "breaking-volume"
    topic: str
    title: str = ""
    url: str = ""
    source: str = ""
    published: str = ""
    topics: list[str] = []
    story_id: str = ""
    cluster_id: str = ""
    step: str = ""  # story-update: the step crossed, "outlets:10" | "language:fa"
    source_count: int = 0  # outlets of the story when the alert was sent
    languages: list[str] = []
    matched_rule: str = ""
    article_id: str = ""
    rate: float | None = None  # breaking-volume: articles in the window
    baseline: float | None = None
    created: str = ""


class DeadLetter(msgspec.Struct, kw_only=True):
    """What news.dlq carries: the rejected payload and why, never silently dropped."""

    stage: str
    reason: str
    payload: str  # the record as it was: its UTF-8 text, or base64 when it is not UTF-8
    created: str
    payload_encoding: str = "utf-8"  # "utf-8" | "base64"


class Batch(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Many records in one message on the worker's internal topics (news.dedupe, news.articles).

    The broker and Faust cost about the same per message whatever its size, so the hops
    between stages carry batches: `articles` in order, and on news.articles the latest
    summary of every `stories` cluster those articles touched.
    """

    articles: list[Article] = []
    stories: list[Story] = []


ARTICLE_DECODER = msgspec.json.Decoder(Article)
BATCH_DECODER = msgspec.json.Decoder(Batch)
ALERT_DECODER = msgspec.json.Decoder(Alert)
ENCODER = msgspec.json.Encoder()


def decode_article(data: bytes | str) -> Article:
    """Decode one article; raises msgspec.ValidationError/DecodeError with a precise message."""
    return ARTICLE_DECODER.decode(data)


def encode(record: msgspec.Struct) -> bytes:
    return ENCODER.encode(record)


def decode_batch(data: bytes) -> Batch:
    """One message of the internal topics. Raises msgspec.ValidationError/DecodeError."""
    return BATCH_DECODER.decode(data)


def pack(articles: list[Article], max_bytes: int, stories: list[Story] = ()) -> list[bytes]:
    """Encode `articles` as `Batch` messages of at most about `max_bytes` each (an article
    larger than that travels alone), in order; every story goes in the first message."""
    parts = [ENCODER.encode(a) for a in articles]
    story_part = b",".join(ENCODER.encode(s) for s in stories)
    messages: list[bytes] = []
    start, size = 0, len(story_part)
    for end, part in enumerate(parts):
        if end > start and size + len(part) > max_bytes:
            messages.append(_batch_bytes(parts[start:end], story_part if not messages else b""))
            start, size = end, 0
        size += len(part) + 1
    if parts[start:] or not messages:
        messages.append(_batch_bytes(parts[start:], story_part if not messages else b""))
    return messages


def _batch_bytes(parts: list[bytes], story_part: bytes) -> bytes:
    """The JSON of `Batch`, joined from already encoded records."""
    body = b'{"articles":[' + b",".join(parts) + b"]"
    return body + (b',"stories":[' + story_part + b"]}" if story_part else b"}")
