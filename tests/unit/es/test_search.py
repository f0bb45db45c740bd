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
    StoryHit,
    build_request,
    final_story,
    since_bound,
    stories_request,
    story_line,
    text_query,
    to_story_hit,
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
    assert per_word[0]["multi_match"]["operator"] == "and"
    assert text_query("   ") is None


def test_one_query_searches_every_per_language_field() -> None:
    fields = text_query("bushehr")["bool"]["should"][0]["multi_match"]["fields"]
    assert {"title_en^3", "title_ru^3", "title_fa^3", "title_ar^3", "title_tr^3", "title_std^3"} <= set(fields)
    assert {"text_en", "text_ar", "text_std", "summary_tr^2"} <= set(fields)
    assert not any(name.split("^")[0] in ("title", "summary", "text") for name in fields)  # kept as written, not analysed


def test_a_persian_word_with_a_zwnj_also_matches_without_it() -> None:
    (word,) = text_query("می\u200cشود")["bool"]["should"][1]["bool"]["must"]
    plain, joined = word["bool"]["should"]
    assert plain["multi_match"]["operator"] == "and"
    assert joined["multi_match"]["analyzer"] == "news_persian_joined"
    assert joined["multi_match"]["fields"] == ["title_fa", "summary_fa", "text_fa"]
    assert "bool" not in text_query("ماشه")["bool"]["should"][1]["bool"]["must"][0]  # no ZWNJ, one clause


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


def hit(source: str, story_id: str = "s1", language: str = "en") -> Hit:
    return Hit(id=source, title=f"report from {source}", source=source, published="2025-11-08T10:00:00Z", topics=[],
               url="https://e/1", language=language, cluster_id="", story_id=story_id)


def test_by_story_collapses_on_the_event_and_leaves_out_articles_without_one() -> None:
    request = stories_request(SearchQuery(text="bushehr", limit=7))
    assert request["collapse"] == {"field": "story_id"} and request["size"] == 7
    assert {"exists": {"field": "story_id"}} in request["query"]["bool"]["filter"]
    assert request["aggs"]["stories"] == {"cardinality": {"field": "story_id"}}


def test_a_merged_story_is_shown_as_the_one_it_went_into() -> None:
    documents = {"s1": {"story_id": "s1", "merged_into": "s2"}, "s2": {"story_id": "s2", "articles": 9}}
    assert final_story(documents, "s1")["story_id"] == "s2"
    assert final_story(documents, "s3") == {"story_id": "s3"}  # not (yet) in the stories index


def test_a_story_line_names_the_other_outlets_and_the_languages() -> None:
    document = {"story_id": "s1", "title": "t", "sources": ["a.example", "b.example", "c.example", "d.example"],
                "source_count": 11, "languages": ["ar", "en", "fa"], "articles": 14,
                "first_seen": "2025-11-08T09:00:00Z", "last_seen": "2025-11-08T11:00:00Z"}
    story = to_story_hit(hit("b.example"), document)
    assert isinstance(story, StoryHit) and story.articles == 14
    line = story_line(story)
    assert line.startswith("report from b.example — b.example · 14 articles, 11 outlets (ar, en, fa)")
    assert line.endswith("also reported by a.example, c.example, d.example and 7 more")
    alone = story_line(to_story_hit(hit("a.example"), {"story_id": "s1"}))
    assert alone == "report from a.example — a.example · 1 article, 1 outlet (en)"
