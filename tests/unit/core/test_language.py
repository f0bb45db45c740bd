"""Language identification: accuracy per language on the labelled set, and the policy
(declared language, Arabic never Persian, the letters that settle confusable pairs)."""
from __future__ import annotations

import pytest
from newsmon.bench.language import HELDOUT, accuracy, measure_language_id, read_labelled

from newsmon.core.language import _model, declared_code, forget_words, identify_language, identify_languages


@pytest.fixture(scope="module")
def items():
    return read_labelled()


def test_the_labelled_set_covers_the_languages_of_the_coverage(items) -> None:
    kinds = {(i.language, i.kind) for i in items}
    for language in ("en", "ru", "fa", "ar", "uk", "tr", "az", "fr", "de", "es", "it", "ur", "hi"):
        assert {(language, "title"), (language, "body")} <= kinds


def test_accuracy_per_language(items) -> None:
    result = accuracy(items)
    assert result.of() >= 0.97
    assert result.outside_first >= 0.95
    low = {lang: round(result.language(lang), 3) for lang in {i.language for i in items} if result.language(lang) < 0.85}
    assert not low
    assert result.of(lambda cell: cell[1] == "body") == 1.0


def test_accuracy_on_the_held_out_set() -> None:
    result = accuracy(read_labelled(HELDOUT))
    assert sum(result.total.values()) >= 30
    assert result.of() >= 0.97 and result.outside_first >= 0.97, dict(result.confusions)


def test_arabic_is_never_persian(items) -> None:
    result = accuracy(items)
    assert result.confusions[("ar", "fa")] == 0 and result.confusions[("fa", "ar")] == 0


def test_the_declared_language_settles_what_the_text_cannot(items) -> None:
    assert accuracy(items, use_declared=True).of() >= 0.99
    assert identify_language("Lavrov a Teheran") == "en"  # the model alone: too few words
    assert identify_language("Lavrov a Teheran", "it-IT") == "it"
    assert identify_language("Lawrow in Teheran", "de") == "de"


def test_a_declared_language_the_text_contradicts_is_ignored() -> None:
    body = "Rosatom delivered fresh fuel to the Bushehr plant, the head of the agency told reporters on Monday."
    assert identify_language(body, "fa") == "en"
    assert identify_language("سوخت جدید نیروگاه اتمی بوشهر وارد کشور شد", "en") == "fa"
    assert identify_language("روسيا تسلم الوقود النووي لمحطة بوشهر", "fa") == "ar"  # a wrong feed tag
    assert identify_language("Росатом відновив роботи на Бушерській АЕС", "ru") == "uk"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("بازگشت تحريم\u200cهاي سازمان ملل عليه ايران", "fa"),  # Persian typed with Arabic ي and ك
        ("گفتگوي عراقچي و لاوروف", "fa"),
        ("عراقجي ولافروف يبحثان الملف النووي", "ar"),
        ("ممر الشمال-الجنوب: ممر جديد", "ar"),
        ("روس نے بوشہر ایٹمی بجلی گھر کو ایندھن فراہم کر دیا", "ur"),
        ("Євротрійка запустила механізм снепбек проти Ірану", "uk"),
        ("Евротройка запустила механизм снэпбэк", "ru"),
        ("Avropa üçlüyü \"snapback\" mexanizmini işə saldı", "az"),
        ("Avrupa üçlüsü tetik mekanizmasını başlattı", "tr"),
        ("IRAN SAYS BUSHEHR REACTOR BACK ONLINE AFTER REFUELLING", "en"),
    ],
)
def test_letters_settle_confusable_pairs(text: str, expected: str) -> None:
    assert identify_language(text) == expected


def test_no_letters_no_language() -> None:
    assert identify_language("") == ""
    assert identify_language("12345 !! 2026-11-08", "en") == ""


def test_only_the_head_of_a_long_text_is_read() -> None:
    persian = "سوخت جدید نیروگاه اتمی بوشهر وارد کشور شد. " * 40
    assert identify_language(persian + "English words after the sample. " * 200) == "fa"


def test_a_sure_head_settles_the_language() -> None:
    english = "Rosatom delivered fresh fuel to the Bushehr plant, the head of the agency told reporters on Monday. " * 3
    persian = "سوخت جدید نیروگاه اتمی بوشهر وارد کشور شد. " * 40
    assert identify_language(persian) == "fa"
    assert identify_language(english + persian) == "en"  # the first 1,000 characters are mostly Persian


def test_an_unsure_head_is_read_further() -> None:
    names = "Photo: IRNA / AFP. Bushehr, Rasht, Astara, INSTC. " * 10  # the model's best guess: English, unsure
    assert identify_language(names + "سوخت جدید نیروگاه اتمی بوشهر وارد کشور شد. " * 40) == "fa"


def test_a_declared_language_is_weighed_on_the_whole_sample() -> None:
    english = "Rosatom delivered fresh fuel to the Bushehr plant, the head of the agency told reporters on Monday. " * 3
    german = "Lawrow und Araghchi sprachen in Teheran über das Kraftwerk Buschehr und die Sanktionen. " * 8
    assert identify_language(english + german) == "en"  # the head alone, sure of itself
    assert identify_language(english + german, "de") == "de"  # the feed says German: the whole sample agrees


@pytest.mark.parametrize(("tag", "code"), [("en-US", "en"), ("fa_IR", "fa"), ("AR", "ar"), ("", ""), ("x-klingon", ""),
                                           ("arz", "ar"), ("zh-Hant-TW", "zh")])
def test_declared_tags_become_iso_639_1(tag: str, code: str) -> None:
    assert declared_code(tag) == code


def test_the_bench_measures_microseconds_per_article(items) -> None:
    assert 0 < measure_language_id([i.text for i in items[:20]], rounds=1) < 5000
    assert measure_language_id([]) == 0.0


def test_forgetting_the_remembered_words_changes_no_verdict(items) -> None:
    texts = [i.text for i in items[:40]]
    before = identify_languages(texts, [""] * len(texts))
    assert len(_model()._slots) > 1
    forget_words()  # what the bench's cold figure does before each pass
    assert len(_model()._slots) == 1  # only the end-of-line token
    assert identify_languages(texts, [""] * len(texts)) == before
    assert measure_language_id(texts, rounds=1, cold=True) > 0
