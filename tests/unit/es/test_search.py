"""Search request building and safe terminal output."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from newsmon.cli.search import render_table, safe
from newsmon.es.search import (
    Hit,
    SearchError,
    SearchQuery,
    build_request,
    since_bound,
    text_query,
)


def test_since_accepts_ages_and_dates_only() -> None:
    assert since_bound("7d") == "now-7d/m"
    assert since_bound("12h") == "now-12h/m"
    assert since_bound("2025-11-01") == "2025-11-01"
    with pytest.raises(SearchError):
        since_bound("last week")


def test_each_word_must_match_and_quotes_make_phrases() -> None:
    query = text_query('bushehr "fuel delivery"')
    per_word = query["bool"]["should"][1]["bool"]["must"]
    assert [clause["multi_match"]["query"] for clause in per_word] == ["bushehr", "fuel delivery"]
    assert per_word[1]["multi_match"]["type"] == "phrase"
    assert "title.ru^3" in per_word[0]["multi_match"]["fields"] and "text.fa" in per_word[0]["multi_match"]["fields"]
    assert text_query("   ") is None


def test_filters_and_newest_first() -> None:
    request = build_request(SearchQuery(text="", topics=("snapback",), sources=("tass.com",), since="7d", limit=5))
    assert request["query"]["bool"]["must"] == [{"match_all": {}}]
    assert {"terms": {"topics": ["snapback"]}} in request["query"]["bool"]["filter"]
    assert {"terms": {"source": ["tass.com"]}} in request["query"]["bool"]["filter"]
    assert {"range": {"published": {"gte": "now-7d/m"}}} in request["query"]["bool"]["filter"]
    assert request["sort"][0] == {"published": {"order": "desc", "unmapped_type": "date"}}
    assert request["size"] == 5


def test_control_characters_and_bidi_overrides_are_removed() -> None:
    assert safe("Breaking\x1b[2J\x07 news\u202e") == "Breaking [2J  news"


def test_markup_in_article_text_is_printed_literally() -> None:
    hit = Hit(id="1", title="[bold red]FAKE[/] \x1b[31malert", source="[link=http://evil]x[/link]",
              published="2025-11-08T10:00:00Z", topics=["snapback"], url="https://e/1", language="en", cluster_id="")
    out = io.StringIO()
    render_table([hit], 1, Console(file=out, width=200, color_system=None, highlight=False))
    text = out.getvalue()
    assert "[bold red]FAKE[/]" in text and "[link=http://evil]x[/link]" in text
    assert "\x1b" not in text
