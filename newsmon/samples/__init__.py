"""The bundled offline sample: RSS/Atom files the demo collects from file:// with no network.

The five real seed articles plus synthetic EN/RU/FA coverage of the three topics, with
republished copies of the same stories by other outlets (so near-duplicate clustering has
something to show) and unrelated news (so tagging has something to leave out). Generated
by tests/fixtures/make_feeds.py from tests/fixtures/feeds/corpus.yaml.
"""
from __future__ import annotations

from pathlib import Path

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"


def sample_feed_urls() -> list[str]:
    """file:// URLs of every bundled sample feed, in a stable order."""
    return [path.as_uri() for path in sorted(FEEDS_DIR.glob("*.xml"))]
