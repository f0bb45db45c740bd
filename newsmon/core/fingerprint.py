"""Exact-duplicate content fingerprint, and the one fold of a text into words.

Two copies of one article that differ only in markup, whitespace, quote style, letter
case or punctuation are the same content. Reducing a text to its folded word sequence
and hashing that makes them one key, so an exact copy at another URL is recognised by
a single lookup before any near-duplicate work is done.

Normalisation fingerprints a text and deduplication shingles the same text later (right
after, or after the rest of its batch: `LocalPipeline.run_all`); `text_words` remembers the
last `RECENT_TEXTS` folds so one article is folded and hashed once. `text_words_all` hashes
a batch's texts together (`Words.all_of`) and leaves them remembered the same way.
"""
from __future__ import annotations

import functools

from newsmon.core.minhash import Words
from newsmon.core.text import word_chars

RECENT_TEXTS = 512  # a batch's worth: a few MB of word hashes
_hashed: dict[str, Words] = {}  # text_words_all's results, on their way into text_words' memory


@functools.lru_cache(maxsize=RECENT_TEXTS)
def text_words(text: str) -> Words:
    """The hashed words of `text` (treat as read-only: the result is shared)."""
    return _hashed.pop(text, None) or Words(word_chars(text))


def text_words_all(texts: list[str]) -> list[Words]:
    """`text_words` of each text, the same results, hashed in one numpy pass per group of texts."""
    _hashed.update(zip(texts, Words.all_of([word_chars(text) for text in texts])))
    try:
        return [text_words(text) for text in texts]
    finally:
        _hashed.clear()  # a text text_words already remembered was not taken


def content_hash(text: str) -> str:
    """Fingerprint of the article body: equal for copies that differ only in formatting."""
    return text_words(text).digest
