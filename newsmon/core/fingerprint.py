"""Exact-duplicate content fingerprint.

Two copies of one article that differ only in markup, whitespace, quote style, letter
case or punctuation are the same content. Reducing a text to its folded word sequence
and hashing that makes them one key, so an exact copy at another URL is recognised by
a single lookup before any near-duplicate work is done.
"""
from __future__ import annotations

from newsmon.core.minhash import Words
from newsmon.core.text import word_chars


def content_hash(text: str) -> str:
    """Fingerprint of the article body: equal for copies that differ only in formatting."""
    return Words(word_chars(text)).digest()
