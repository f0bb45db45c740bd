"""Search in each article's own language against real analysers (noida-db), through the CLI command.

The analysis chains are checked token by token on the server (Arabic and Turkish stemming, the
Arabic/Persian letter folding done by mapping char filters, ZWNJ handling), then through search:
a query in any spelling variant finds the article written in another one.
"""
from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from newsmon.cli import search as search_command
from newsmon.es.client import make_client
from newsmon.es.search import SearchQuery, search, search_stories
from newsmon.es.sink import ElasticsearchSink
from newsmon.settings import Settings
from tests.integration.es_corpus import corpus

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def indexed(servers) -> Settings:
    unique = uuid.uuid4().hex[:10]
    settings = Settings(elasticsearch_url=servers.elasticsearch, index_alias=f"s{unique}-articles",
                        stories_index=f"s{unique}-stories")
    sink = ElasticsearchSink(make_client(settings), settings)
    sink.setup()
    articles, stories = corpus(NOW)
    result = sink.write(articles, stories)
    assert result.rejected == [] and result.rejected_stories == []
    sink.client.indices.refresh(index=f"{settings.index_alias},{settings.stories_index}")
    return settings


def tokens(settings: Settings, analyzer: str, text: str) -> list[str]:
    response = make_client(settings).indices.analyze(index=settings.index_alias, analyzer=analyzer, text=text)
    return [token["token"] for token in response["tokens"]]


@pytest.mark.parametrize(
    ("analyzer", "variants"),
    [
        ("news_arabic", ["إيران", "ايران", "آيران", "إيـــران", "إِيرَان"]),  # hamza/madda alef, tatweel, diacritics
        ("news_arabic", ["المحطة", "محطة", "محطه"]),  # the attached article, ta marbuta
        ("news_arabic", ["الطاقة", "طاقة"]),
        ("news_turkish", ["Buşehr'deki", "BUŞEHR", "buşehr"]),  # apostrophe suffix, dotted/dotless i case rules
        ("news_turkish", ["kitaplar", "kitap"]),  # stemming
        ("news_persian", ["كتاب", "کتاب"]),  # Arabic kaf/yeh folded to the Persian letters
        ("news_persian_joined", ["می\u200cشود", "میشود"]),  # the query side: ZWNJ removed
        ("news_standard", ["Bouchehr", "bouchehr"]),
    ],
)
def test_each_analyzer_folds_the_spelling_variants_of_its_language(indexed, analyzer, variants) -> None:
    analysed = [tokens(indexed, analyzer, variant) for variant in variants]
    assert all(found == analysed[0] for found in analysed), dict(zip(variants, analysed))


def test_digits_of_every_script_are_one_number(indexed) -> None:
    assert tokens(indexed, "news_arabic", "١٤٠٤") == tokens(indexed, "news_persian", "۱۴۰۴") == ["1404"]


def test_persian_word_parts_are_indexed_joined(indexed) -> None:
    assert "حملونقل" in tokens(indexed, "news_persian_parts", "حمل و نقل")
    assert tokens(indexed, "news_persian", "حمل\u200cو\u200cنقل") == tokens(indexed, "news_persian", "حمل و نقل")


def titles(settings: Settings, **query) -> list[str]:
    return [hit.title for hit in search(make_client(settings), settings.index_alias, SearchQuery(**query))[1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sanction", "UN snapback sanctions on Iran take effect after trigger mechanism"),  # English stemming
        ("санкция", "Иран и Россия осудили механизм восстановления санкций ООН"),  # Russian stemming
        ("تحریم", "سازوکار ماشه و بازگشت تحریم‌های سازمان ملل علیه ایران"),  # Persian, across a ZWNJ
        ("bushehr Rosatom", "Bushehr nuclear power plant receives fresh fuel from Russia"),  # title + body
        ('"trigger mechanism"', "UN snapback sanctions on Iran take effect after trigger mechanism"),
        ("حمل\u200cونقل", "قرارداد حمل و نقل ریلی میان ایران و روسیه امضا شد"),  # ZWNJ query, spaced text
        ("حملونقل", "قرارداد حمل و نقل ریلی میان ایران و روسیه امضا شد"),  # joined query, spaced text
        ("می\u200cشود", "قرارداد حمل و نقل ریلی میان ایران و روسیه امضا شد"),  # ZWNJ query, joined text
        ("بینالمللی", "کریدور شمال-جنوب و راه‌آهن رشت-آستارا"),  # joined query, ZWNJ text
        ("الية الزناد", "إعادة فرض عقوبات الأمم المتحدة على إيران عبر آلية الزناد"),  # alef without its madda
        ("الإيرانـية", "محطة بوشهر النووية تتسلّم شحنة وقود جديدة من روسيا"),  # tatweel, suffix
        ("العقوبات", "إعادة فرض عقوبات الأمم المتحدة على إيران عبر آلية الزناد"),  # article attached
        ("BUŞEHR yakıt", "Buşehr Nükleer Santrali'ne yeni yakıt sevkiyatı"),  # Turkish case, title + body
        ("Buşehr'deki", "Buşehr Nükleer Santrali'ne yeni yakıt sevkiyatı"),
        ("brennstofflieferung", "Neue Brennstofflieferung für das Atomkraftwerk Buschehr"),  # the standard fallback
    ],
)
def test_words_are_found_in_their_language(indexed, text, expected) -> None:
    assert expected in titles(indexed, text=text, limit=50)


def test_a_text_is_found_only_through_its_own_languages_field(indexed) -> None:
    client = make_client(indexed)
    for field, expected in (("title_ar", {"ar"}), ("title_tr", {"tr"}), ("title_std", {"de"}), ("title_fa", {"fa"})):
        response = client.search(index=indexed.index_alias, query={"exists": {"field": field}}, size=100, _source=["language"])
        assert {hit["_source"]["language"] for hit in response["hits"]["hits"]} == expected, field


def test_filters_and_order(indexed) -> None:
    found = search(make_client(indexed), indexed.index_alias, SearchQuery(topics=("bushehr",), languages=("ru",), limit=50))[1]
    assert found and all(h.language == "ru" and h.topics == ["bushehr"] for h in found)
    newest = search(make_client(indexed), indexed.index_alias, SearchQuery(since="2d", limit=100))[1]
    assert newest and all(datetime.fromisoformat(h.published) >= NOW - timedelta(days=2, minutes=1) for h in newest)
    assert [h.published for h in newest] == sorted((h.published for h in newest), reverse=True)
    assert titles(indexed, text="bushehr", sources=("nobody.example",)) == []


def test_cli_prints_json_lines(indexed, capsys) -> None:
    parser = argparse.ArgumentParser()
    search_command.register(parser.add_subparsers())
    args = parser.parse_args(["search", "corridor", "--topic", "north-south-corridor", "--json", "--limit", "2"])
    assert args.func(args, indexed) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all(line["topics"] == ["north-south-corridor"] for line in lines)


def test_by_story_shows_each_event_once_with_its_outlets_and_languages(indexed) -> None:
    total, stories = search_stories(make_client(indexed), indexed.index_alias, indexed.stories_index,
                                    SearchQuery(text="bushehr", limit=20))
    assert total == len(stories) == len({s.story_id for s in stories})
    bushehr = next(s for s in stories if s.story_id == "event-bushehr")
    assert set(bushehr.languages) >= {"en", "ar", "tr", "de"}
    assert bushehr.source_count == len(bushehr.sources) >= 5 and bushehr.articles >= 6
    assert bushehr.article.source in bushehr.sources


def test_cli_by_story_prints_one_line_per_event(indexed, capsys) -> None:
    parser = argparse.ArgumentParser()
    search_command.register(parser.add_subparsers())
    args = parser.parse_args(["search", "Bushehr", "--by-story"])
    assert args.func(args, indexed) == 0
    lines = capsys.readouterr().out.splitlines()
    event = [line for line in lines if "also reported by" in line and "outlets (" in line]
    assert event and len(lines) == len(set(lines))
