"""Index routing, retention arithmetic and the template JSON, without a server."""
from __future__ import annotations

from datetime import date

import msgspec
import pytest
from newsmon.schemas.article import Article, Story

from newsmon.es import RoutingError
from newsmon.es.templates import (
    ANALYSED_FIELDS,
    SUFFIXES,
    TemplateNames,
    analysed_copy,
    analysis_suffix,
    articles_template,
    expired_indices,
    index_for,
    load_template,
    missing_properties,
    month_of,
    priority,
    stories_template,
)

ARTICLE_MAPPINGS = load_template("news-articles-mappings.component.json")["template"]["mappings"]
ARTICLE_PROPERTIES = ARTICLE_MAPPINGS["properties"]
ANALYZERS = load_template("news-articles-analysis.component.json")["template"]["settings"]["analysis"]["analyzer"]
PER_LANGUAGE = {f"{name}_{suffix}" for name in ANALYSED_FIELDS for suffix in SUFFIXES}
STORY_PROPERTIES = load_template("news-stories-mappings.component.json")["template"]["mappings"]["properties"]


@pytest.mark.parametrize(
    ("published", "index"),
    [
        ("2025-11-08T10:00:00Z", "news-articles-2025.11"),
        ("2025-10-31T23:30:00-02:00", "news-articles-2025.11"),  # UTC decides the month
        ("2025-11-01T02:00:00+03:30", "news-articles-2025.10"),  # Tehran time, still October in UTC
        ("2025-11-08", "news-articles-2025.11"),
        ("2025-11-08T10:00:00", "news-articles-2025.11"),  # naive: taken as UTC
    ],
)
def test_index_for_uses_the_utc_month_of_publication(published: str, index: str) -> None:
    assert index_for(published) == index


@pytest.mark.parametrize("bad", ["", "yesterday", "Sat, 08 Nov 2025 10:00:00 GMT", "0001-01-01T00:00:00Z"])
def test_index_for_rejects_unusable_times(bad: str) -> None:
    with pytest.raises(RoutingError):
        index_for(bad)


def test_month_of_is_stable_for_redelivery() -> None:
    assert month_of("2025-11-08T10:00:00Z") == month_of("2025-11-08T10:00:00Z") == "2025.11"


def test_expired_indices_keeps_the_newest_months_including_the_current_one() -> None:
    names = ["a-2025.08", "a-2025.09", "a-2025.10", "a-2025.11", "a-staging-2025.01", "other-2020.01", "a-2025.9"]
    assert expired_indices(names, "a", keep_months=2, today=date(2025, 11, 20)) == ["a-2025.08", "a-2025.09"]
    assert expired_indices(names, "a", keep_months=12, today=date(2025, 11, 20)) == []
    assert expired_indices(["a-2024.12", "a-2025.01"], "a", keep_months=1, today=date(2025, 1, 3)) == ["a-2024.12"]
    with pytest.raises(ValueError):
        expired_indices(names, "a", keep_months=0, today=date(2025, 11, 20))


def test_more_specific_patterns_get_higher_priority() -> None:
    assert priority("news-articles-staging-*") > priority("news-articles-*")


def test_templates_take_their_names_from_settings() -> None:
    names = TemplateNames("t1-articles", "t1-stories")
    articles = articles_template(names, ilm=False)
    assert articles["index_patterns"] == ["t1-articles-*"]
    assert articles["composed_of"] == ["t1-articles-analysis", "t1-articles-mappings"]
    assert articles["template"] == {"aliases": {"t1-articles": {}}}
    assert articles_template(names, ilm=True)["template"]["settings"] == {"index.lifecycle.name": "t1-articles-retention"}
    stories = stories_template(names)
    assert stories["index_patterns"] == ["t1-stories"]
    assert stories["composed_of"] == ["t1-articles-analysis", "t1-stories-mappings"]


def test_every_article_field_is_mapped_and_indexed_and_the_per_language_fields_are_added() -> None:
    assert set(ARTICLE_PROPERTIES) == set(Article.__struct_fields__) | {"indexed"} | PER_LANGUAGE


def test_every_story_field_is_mapped() -> None:
    assert set(STORY_PROPERTIES) == set(Story.__struct_fields__) | {"indexed"}


def test_mapping_types_follow_the_issue() -> None:
    types = {name: spec["type"] for name, spec in ARTICLE_PROPERTIES.items()}
    for name in ("id", "url", "source", "feed", "topics", "cluster_id", "duplicate_of", "matched_rules", "language"):
        assert types[name] == "keyword", name
    for name in ("published", "fetched", "processed", "indexed"):
        assert types[name] == "date", name
    assert types["is_duplicate"] == types["replay"] == "boolean"
    for name in ("declared_language", "body_source", "body_reason", "story_id"):
        assert types[name] == "keyword", name
    for name in ANALYSED_FIELDS:  # kept as written, analysed only in the per-language fields
        assert ARTICLE_PROPERTIES[name] == {"type": "text", "index": False}, name
    assert STORY_PROPERTIES["copies"]["type"] == STORY_PROPERTIES["source_count"]["type"] == "integer"


def test_each_text_is_analysed_once_in_its_languages_field() -> None:
    expected = {"en": "news_english", "ru": "news_russian", "fa": "news_persian_parts", "ar": "news_arabic",
                "tr": "news_turkish", "std": "news_standard"}
    for name in ANALYSED_FIELDS:
        for suffix, analyzer in expected.items():
            spec = ARTICLE_PROPERTIES[f"{name}_{suffix}"]
            assert spec["type"] == "text" and spec["analyzer"] == analyzer and "fields" not in spec
            assert spec.get("search_analyzer", analyzer) in ANALYZERS
    assert ARTICLE_PROPERTIES["text_fa"]["search_analyzer"] == "news_persian"  # joined parts are indexed, not searched
    assert set(ARTICLE_MAPPINGS["_source"]["excludes"]) == {"title_*", "summary_*"}  # shown from title/summary


def test_the_analyzers_fold_their_scripts_letter_forms() -> None:
    char_filters = load_template("news-articles-analysis.component.json")["template"]["settings"]["analysis"]["char_filter"]
    arabic = dict(m.split("=>") for m in char_filters["ar_letters"]["mappings"])
    persian = dict(m.split("=>") for m in char_filters["fa_letters"]["mappings"])
    assert {arabic[f] for f in ("\\u0622", "\\u0623", "\\u0625", "\\u0671")} == {"\\u0627"}  # alef with hamza/madda/wasla
    assert arabic["\\u0640"] == "" and arabic["\\u064E"] == ""  # tatweel and diacritics dropped
    assert persian["\\u064A"] == persian["\\u0649"] == "\\u06CC" and persian["\\u0643"] == "\\u06A9"
    assert ANALYZERS["news_persian"]["char_filter"][0] == "fa_zwnj_to_space"
    assert ANALYZERS["news_persian_joined"]["char_filter"][0] == "fa_zwnj_removed"
    assert "decimal_digit" in ANALYZERS["news_arabic"]["filter"] and "decimal_digit" in ANALYZERS["news_persian"]["filter"]


@pytest.mark.parametrize(("language", "suffix"), [("en", "en"), ("RU", "ru"), ("fa", "fa"), ("ar", "ar"), ("tr", "tr"),
                                                   ("pt-BR", "std"), ("az", "std"), ("uk", "std"), ("", "std")])
def test_the_analysis_field_follows_the_language(language: str, suffix: str) -> None:
    assert analysis_suffix(language) == suffix


def test_the_document_carries_each_text_once_per_analysis() -> None:
    document = {"id": "x", "title": "عنوان", "summary": "ملخص", "text": "نص المقال", "language": "ar"}
    copy = analysed_copy(document, "ar")
    assert copy == {"id": "x", "title": "عنوان", "summary": "ملخص", "language": "ar",
                    "title_ar": "عنوان", "summary_ar": "ملخص", "text_ar": "نص المقال"}
    assert analysed_copy({"id": "y", "title": "Buschehr"}, "de") == {"id": "y", "title": "Buschehr", "title_std": "Buschehr"}
    assert document["text"] == "نص المقال"  # the input is not changed


def test_older_months_get_new_fields_but_keep_their_own() -> None:
    wanted = {"title": {"type": "text", "index": False}, "title_en": {"type": "text"}}
    assert missing_properties(wanted, {"title": {"type": "text", "analyzer": "news_english"}}) == {"title_en": {"type": "text"}}


def test_mappings_are_strict() -> None:
    for file in ("news-articles-mappings.component.json", "news-stories-mappings.component.json"):
        assert load_template(file)["template"]["mappings"]["dynamic"] == "strict"


def test_a_fully_filled_article_encodes_to_mapped_fields_only() -> None:
    article = Article(id="x", url="https://e/1", title="t", published="2025-11-08T10:00:00Z", topics=["bushehr"],
                      duplicate_of="y", is_duplicate=True, authors=["A"], matched_rules=["bushehr:name"], text="body",
                      language="fa", body_source="teaser", body_reason="http-429", story_id="s")
    assert set(analysed_copy(msgspec.to_builtins(article), article.language)) <= set(ARTICLE_PROPERTIES)


class Recorder:
    """Records calls as (path, kwargs); `ilm.get_status` succeeds, i.e. a server with ILM."""

    def __init__(self, path: str = "", calls: list | None = None) -> None:
        self.path, self.calls = path, calls if calls is not None else []

    def __getattr__(self, name: str) -> "Recorder":
        return Recorder(f"{self.path}.{name}".lstrip("."), self.calls)

    def __call__(self, **kwargs: object) -> object:
        self.calls.append((self.path, kwargs))
        if self.path == "indices.get_mapping":
            return Mappings()
        return False  # indices.exists -> False: create


class Mappings:
    body: dict = {}  # indices.get_mapping: no older index behind the alias


def test_with_ilm_the_policy_is_installed_and_new_months_use_it(caplog) -> None:
    from newsmon.es.templates import ensure_templates
    from newsmon.settings import Settings

    client = Recorder()
    assert ensure_templates(client, Settings(index_alias="p-articles", stories_index="p-stories"), today=date(2025, 11, 20))
    calls = dict(client.calls)
    assert calls["ilm.put_lifecycle"]["name"] == "p-articles-retention"
    assert "rollover" not in str(calls["ilm.put_lifecycle"]["policy"]["phases"])  # the month is the rollover
    template = next(kw for path, kw in client.calls if path == "indices.put_index_template" and kw["name"] == "p-articles")
    assert template["template"]["settings"] == {"index.lifecycle.name": "p-articles-retention"}
    created = [kw["index"] for path, kw in client.calls if path == "indices.create"]
    assert created == ["p-articles-2025.11", "p-stories"]
    assert "ILM not available" not in caplog.text
