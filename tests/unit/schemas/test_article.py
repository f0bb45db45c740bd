"""`pack`: articles travel between stages as a few size-bounded `Batch` messages, nothing lost."""
from __future__ import annotations

import msgspec
import pytest
from newsmon.schemas.article import (
    BATCH_DECODER,
    Article,
    Story,
    decode_batch,
    encode,
    pack,
)


def articles(n: int, body: int = 100) -> list[Article]:
    return [Article(id=f"a{i}", url=f"https://e.org/{i}", text="x" * body) for i in range(n)]


def test_messages_keep_order_and_stay_under_the_size() -> None:
    many = articles(50)
    messages = pack(many, 1000, [Story(story_id="c1"), Story(story_id="c2")])
    assert len(messages) > 1 and all(len(m) <= 1000 for m in messages)
    batches = [BATCH_DECODER.decode(m) for m in messages]
    assert [a for b in batches for a in b.articles] == many
    assert [s.story_id for b in batches for s in b.stories] == ["c1", "c2"]


def test_an_oversize_article_travels_alone() -> None:
    big = Article(id="big", url="https://e.org/big", text="x" * 5000)
    small = articles(2)
    messages = pack([small[0], big, small[1]], 1000)
    assert [[a.id for a in BATCH_DECODER.decode(m).articles] for m in messages] == [["a0"], ["big"], ["a1"]]


def test_stories_without_articles_still_make_a_message() -> None:
    (message,) = pack([], 1000, [Story(story_id="c1")])
    batch = BATCH_DECODER.decode(message)
    assert batch.articles == [] and [s.story_id for s in batch.stories] == ["c1"]


def test_a_single_article_is_not_a_batch() -> None:
    (lone,) = articles(1)
    with pytest.raises(msgspec.ValidationError):
        decode_batch(encode(lone))
    with pytest.raises(msgspec.ValidationError):
        decode_batch(b'{"something": "else"}')
