"""Exact-duplicate content fingerprint.

Two copies of one article that differ only in markup, whitespace, quote style, letter
case or punctuation are the same content. Reducing a text to its folded word sequence
and hashing that makes them one key, so an exact copy at another URL is recognised by
a single lookup before any near-duplicate work is done.
"""
from __future__ import annotations

import hashlib
import re

from newsmon.core.text import fold_text

_NON_WORD = re.compile(r"[\W_]+")


def word_string(text: str) -> str:
    """The folded words of `text` joined by single spaces (markup-free text expected)."""
    return words_of(fold_text(text))


def words_of(folded: str) -> str:
    """The words of already folded text joined by single spaces."""
    return _NON_WORD.sub(" ", folded).strip()


def digest(words: str) -> str:
    """32-hex-digit blake2b-128 of an already folded word string."""
    return hashlib.blake2b(words.encode("utf-8"), digest_size=16).hexdigest()


def content_hash(text: str) -> str:
    """Fingerprint of the article body: equal for copies that differ only in formatting."""
    return digest(word_string(text))
