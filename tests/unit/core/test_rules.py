"""Topic rules: the shipped rule file, the rule language, normalisation, errors, and quality."""
from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.core.rules import (
    RuleFileError,
    RuleSet,
    TopicMatch,
    check_examples,
    load_rules,
)
from newsmon.core.rules_eval import read_labelled, score, score_by_language
from newsmon.core.rules_terms import INVISIBLE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TAGGING = FIXTURES / "tagging"
SEEDS = FIXTURES / "dedupe" / "seeds"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def topics(rules: RuleSet, text: str, language: str = "") -> set[str]:
    return {m.topic for m in rules.tag("", text, language)}


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.yaml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {en: [bushehr], ru: [бушер*], fa: [بوشهر]}
      plant: {en: [reactor], ru: [аэс, АЭС], fa: [نیروگاه]}
    rules:
      - id: plant
        match: anchor
        near: {plant: 3}
"""


# --- the shipped rule file ------------------------------------------------------------------


def test_shipped_rules_define_the_three_topics(rules: RuleSet) -> None:
    assert rules.topics == ["snapback", "bushehr", "north-south-corridor"]


def test_shipped_examples_all_pass(rules: RuleSet) -> None:
    report = check_examples(rules)
    failures = [(f.topic, f.sentence, f.fired) for t in report.topics for f in t.failures]
    assert report.ok, failures
    assert all(t.match_total >= 5 and t.no_match_total >= 5 for t in report.topics)


@pytest.mark.parametrize("split", ["heldout", "dev"])
def test_micro_f1_on_labelled_sets(rules: RuleSet, split: str) -> None:
    result = score(rules, read_labelled(TAGGING / f"{split}.tsv"))
    print(f"\n{split}:\n" + "\n".join(result.lines()))
    assert result.items >= 130
    assert result.micro_f1 >= 0.95, "\n".join(result.lines() + [f"{m.expected} {m.got} {m.text}" for m in result.misses])


@pytest.mark.parametrize(("split", "bar"), [("languages_dev", 0.95), ("languages_heldout", 0.90)])
def test_micro_f1_in_the_added_languages(rules: RuleSet, split: str, bar: float) -> None:
    items = read_labelled(TAGGING / f"{split}.tsv")
    assert {"ar", "tr", "az", "de", "fr", "uk", "ur", "hi"} <= {i.language for i in items}
    result = score(rules, items)
    assert result.micro_f1 >= bar, "\n".join(result.lines() + [f"{m.expected} {m.got} {m.text}" for m in result.misses])
    assert all(s.precision == 1.0 for s in result.topics.values()), result.lines()
    by_language = score_by_language(rules, items)
    assert by_language["ar"].micro_f1 >= 0.85 and by_language["tr"].micro_f1 >= 0.9


# Each fresh held-out set was written before a round of rules and scored with them first: heldout2 before the
# second round (0.863, then seen: 1.000), heldout3 before the third (0.786, then seen: 0.885), heldout4 after
# the third, scored once (0.903: ar 0.917, tr 0.875, az 0.833). The bars are regression guards a few points
# under today's figures; the 0.90 bar is asserted on languages_heldout above.
@pytest.mark.parametrize(("split", "bar", "per_language"),
                         [("languages_heldout2", 0.95, 0.93), ("languages_heldout3", 0.85, 0.75),
                          ("languages_heldout4", 0.87, 0.78)])
def test_fresh_held_out_sets_in_the_added_languages(rules: RuleSet, split: str, bar: float, per_language: float) -> None:
    items = read_labelled(TAGGING / f"{split}.tsv")
    assert len(items) >= 50 and sum(1 for i in items if not i.topics) >= 15
    result = score(rules, items)
    assert result.micro_f1 >= bar, "\n".join(result.lines() + [f"{m.expected} {m.got} {m.text}" for m in result.misses])
    wrong = [(m.got, m.text) for m in result.misses if any(k.split(":")[0] not in m.expected for k in m.got)]
    assert not wrong, wrong
    by_language = score_by_language(rules, items)
    assert all(by_language[lang].micro_f1 >= per_language for lang in ("ar", "tr", "az")), \
        {lang: round(s.micro_f1, 3) for lang, s in by_language.items()}


def test_seed_articles_get_their_honest_labels(rules: RuleSet) -> None:
    for line in (TAGGING / "seeds.tsv").read_text("utf-8").splitlines():
        if line.startswith("#"):
            continue
        name, labels = line.split("\t")
        expected = set() if labels == "-" else set(labels.split(","))
        assert topics(rules, (SEEDS / name).read_text("utf-8"), "en") == expected, name


def test_each_match_names_the_rule_and_language(rules: RuleSet) -> None:
    matches = rules.tag("Росатом завершил загрузку топлива на Бушерской АЭС", "", "ru")
    assert matches == [TopicMatch("bushehr", "ru.plant-near-bushehr")]
    assert matches[0].key == "bushehr:ru.plant-near-bushehr"
    assert rules.topics_of("", "Cargo via INSTC and the Rasht-Astara railway grew.") == ["north-south-corridor"]


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "International North–South Transport Corridor",
        "international north-south transport corridor",
        "INTERNATIONAL NORTH - SOUTH TRANSPORT CORRIDOR",
        "International North South Transport corridor",
        "МТК «Север — Юг»",
        "МТК «Север-Юг»",
        "коридора «Север – Юг»",
        "کریدور شمال-جنوب",
        "کريدور شمال جنوب",  # Arabic yeh
    ],
)
def test_dash_case_quote_and_letter_variants_of_the_corridor(rules: RuleSet, text: str) -> None:
    assert "north-south-corridor" in topics(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "نیروگاه اتمی بوشهر",
        "نيروگاه اتمي بوشهر",  # Arabic yeh throughout
        "نیروگاهِ اتمیِ بوشهر",  # kasra diacritics
        "نیروگــاه اتمی بوشـهر",  # tatweel
        "نیروگاه\u200cهای هسته\u200cای بوشهر",  # zero-width non-joiners
        "Бушерская АЭС",
        "АЭС «Бушер»",
        "на АЭС в Бушере",
        "Bush\u00adehr nuclear plant",  # soft hyphen from HTML
    ],
)
def test_persian_and_russian_forms_of_the_plant(rules: RuleSet, text: str) -> None:
    assert "bushehr" in topics(rules, text)


def test_persian_digits_match_ascii_digits(tmp_path: Path) -> None:
    path = write_rules(tmp_path, MINIMAL.replace("[reactor]", "[reactor, unit 2]"))
    demo = load_rules(path)
    assert demo.tag("", "بوشهر unit ۲") and demo.tag("", "Bushehr unit ٢")


def test_yo_and_e_are_the_same_letter(tmp_path: Path) -> None:
    path = write_rules(tmp_path, MINIMAL.replace("[аэс, АЭС]", "[её]"))
    assert load_rules(path).tag("", "Бушер и ее") and load_rules(path).tag("", "Бушер и её")


# --- the rule language ------------------------------------------------------------------------


def test_stem_matches_case_endings_but_whole_words_do_not_match_inside_words(tmp_path: Path) -> None:
    demo = load_rules(write_rules(tmp_path, MINIMAL))
    assert demo.tag("", "на Бушерской АЭС")
    assert not demo.tag("", "the reactorcore near Bushehr")  # whole word only
    assert not demo.tag("", "aBushehr reactor")  # no match inside a longer word


def test_near_counts_words_both_ways(tmp_path: Path) -> None:
    demo = load_rules(write_rules(tmp_path, MINIMAL))
    assert demo.tag("", "reactor one two Bushehr")
    assert not demo.tag("", "reactor one two three four Bushehr")


def test_not_near_vetoes_only_the_nearby_occurrence(tmp_path: Path) -> None:
    body = MINIMAL.replace("      plant:", "      club: {en: [club]}\n      plant:") + "        not_near: {club: 1}\n"
    demo = load_rules(write_rules(tmp_path, body))
    assert not demo.tag("", "Bushehr club reactor")
    assert demo.tag("", "Bushehr club. The Bushehr reactor")


def test_with_and_without_look_at_the_whole_text(tmp_path: Path) -> None:
    body = MINIMAL.replace("      plant:", "      iran: {en: [iran]}\n      korea: {en: [korea]}\n      plant:")
    body += "        with: [iran]\n        without: [korea]\n"
    demo = load_rules(write_rules(tmp_path, body))
    assert demo.tag("Iran", "far away text " * 20 + "Bushehr reactor")
    assert not demo.tag("", "Bushehr reactor")
    assert not demo.tag("Iran", "Bushehr reactor, Korea")


def test_with_and_without_terms_far_into_the_text_count(tmp_path: Path) -> None:
    body = MINIMAL.replace("      plant:", "      iran: {en: [iran], fa: [ایران]}\n      korea: {en: [korea]}\n      plant:")
    body += "        with: [iran]\n        without: [korea]\n"
    demo = load_rules(write_rules(tmp_path, body))
    far = "far away text " * 300
    assert demo.tag("", "Bushehr reactor. " + far + "Iran")
    assert not demo.tag("", "Bushehr reactor. Iran " + far + "Korea")
    assert not demo.tag("", "Bushehr reactor. " + far + "Iranian")  # whole words there too
    assert demo.tag("", "نیروگاه بوشهر " + "متن " * 600 + "ایـران")  # tatweel far into a text: stripped


@pytest.mark.parametrize("mark", list(INVISIBLE))
def test_every_invisible_character_is_stripped_wherever_it_is(rules: RuleSet, mark: str) -> None:
    clean = "گزارش " * 50 + "نیروگاه اتمی بوشهر"
    assert "bushehr" in topics(rules, clean.replace("بوشهر", f"بوش{mark}هر"))
    assert rules.tag("", clean.replace("گزارش", f"گز{mark}ارش")) == rules.tag("", clean)


def test_the_first_rule_in_file_order_is_the_one_recorded(tmp_path: Path) -> None:
    body = MINIMAL + "      - id: any-bushehr\n        match: anchor\n"
    demo = load_rules(write_rules(tmp_path, body))
    assert demo.tag("", "Bushehr reactor") == [TopicMatch("demo", "en.plant")]
    assert demo.tag("", "Бушер сегодня") == [TopicMatch("demo", "ru.any-bushehr")]


def test_exact_case_words(tmp_path: Path) -> None:
    body = MINIMAL.replace("en: [reactor]", "en: [UN]")
    demo = load_rules(write_rules(tmp_path, body))
    assert demo.tag("", "UN Bushehr")
    assert not demo.tag("", "un Bushehr")


def test_check_examples_reports_failures_with_the_rules_that_fired(tmp_path: Path) -> None:
    body = MINIMAL + "    tests:\n      match: [Bushehr reactor, Bushehr port]\n      no_match: [Bushehr reactor again]\n"
    report = check_examples(load_rules(write_rules(tmp_path, body)))
    (demo,) = report.topics
    assert (demo.match_passed, demo.match_total, demo.no_match_passed, demo.no_match_total) == (1, 2, 0, 1)
    assert [(f.sentence, f.expected, f.fired) for f in demo.failures] == [
        ("Bushehr port", True, ()),
        ("Bushehr reactor again", False, ("demo:en.plant",)),
    ]
    assert not report.ok


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("near: {plant: 3}", "nearr: {plant: 3}"), ":8: topic 'demo' rules[0]: unknown key 'nearr'"),
        (("[reactor]", "[react*or]"), "'*' is allowed only at the end"),
        (("near: {plant: 3}", "near: {plnt: 3}"), "unknown term list 'plnt'"),
        (("  - id: demo\n", "  - title: no id\n"), "missing or invalid topic 'id'"),
        (("near: {plant: 3}", "near: {plant: 0}"), "positive number of words"),
        (("near: {plant: 3}", "with: [anchor]"), "never used: demo/plant"),
        (("en: [bushehr]", "en: [bushehr], xx-yy: [a]"), "language must be a code"),
        (("rules:", "rules: [\n"), "not valid YAML"),
    ],
)
def test_bad_rule_files_name_file_line_and_problem(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write_rules(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(RuleFileError) as error:
        load_rules(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


# --- more languages: Persian word parts, Arabic, Turkish, the expansion cap --------------------

PARTS = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {fa: [حمل‌ونقل, بین‌المللی, می‌شود]}
    rules:
      - id: parts
        match: anchor
"""


@pytest.mark.parametrize("text", ["حمل‌ونقل", "حمل و نقل", "حمل ونقل", "حملونقل", "حمل\u200cو نقل",
                                  "بین‌المللی", "بین المللی", "بینالمللی", "می‌شود", "می شود", "میشود",
                                  "بين‌المللي"])  # Arabic yeh
def test_persian_word_parts_joined_spaced_or_with_a_zwnj_are_one_word(tmp_path: Path, text: str) -> None:
    demo = load_rules(write_rules(tmp_path, PARTS))
    assert demo.tag("", f"خبر {text} امروز")


def test_persian_word_parts_still_match_whole_words_only(tmp_path: Path) -> None:
    demo = load_rules(write_rules(tmp_path, PARTS))
    assert not demo.tag("", "بینالمللیها")  # glued to another word: not this term (no stem)


@pytest.mark.parametrize("spelling", ["حمل و نقل", "حمل‌ونقل", "حمل‌و‌نقل"])
def test_one_rule_spelling_catches_every_spelling(tmp_path: Path, spelling: str) -> None:
    demo = load_rules(write_rules(tmp_path, PARTS.replace("حمل‌ونقل", spelling)))
    assert all(demo.tag("", t) for t in ("حمل و نقل", "حمل‌ونقل", "حملونقل", "حمل ونقل"))


ARABIC = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {ar: [آلية الزناد, بوشهر, إعادة فرض, محطة]}
    rules:
      - id: arabic
        match: anchor
"""


@pytest.mark.parametrize("text", ["آلية الزناد", "وآلية الزناد", "بآلية الزناد", "الية الزناد", "الآلية الزناد",
                                  "آليّة الزّناد", "آليـة الزنـاد", "لبوشهر", "وبوشهر", "ببوشهر", "البوشهر",
                                  "إعادة فرض", "اعادة فرض", "واعاده فرض", "لإعادة فرض", "للمحطة", "والمحطة",
                                  "فالمحطه", "محطة"])
def test_arabic_prefixes_hamza_ta_marbuta_diacritics_and_tatweel(tmp_path: Path, text: str) -> None:
    demo = load_rules(write_rules(tmp_path, ARABIC))
    assert demo.tag("", f"قال {text} اليوم") == [TopicMatch("demo", "ar.arabic")]


def test_arabic_prefixes_do_not_open_words_up(tmp_path: Path) -> None:
    demo = load_rules(write_rules(tmp_path, ARABIC))
    assert not demo.tag("", "محطات بوشهري")  # other words that start alike


TURKISH = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {tr: [buşehr*, iran, nükleer santral*]}
    rules:
      - id: turkish
        match: anchor
"""


@pytest.mark.parametrize("text", ["Buşehr", "Buşehr'deki", "Buşehrdeki", "Buşehr’de", "BUŞEHR'DE", "İran", "İRAN",
                                  "iran", "Nükleer Santrali", "NÜKLEER SANTRALİ", "nükleer santralinde"])
def test_turkish_case_and_suffixes(tmp_path: Path, text: str) -> None:
    demo = load_rules(write_rules(tmp_path, TURKISH))
    assert demo.tag("", f"{text} haberi")


def test_a_string_two_languages_share_is_named_in_the_article_language(rules: RuleSet) -> None:
    text = "محطة بوشهر النووية"
    assert rules.tag("", text, "ar") == [TopicMatch("bushehr", "ar.plant-near-bushehr")]


def test_five_hyphenated_words_expand_linearly(tmp_path: Path) -> None:
    from newsmon.core.rules_terms import DASH_JOINS, parse_term, surface_forms

    forms = surface_forms(parse_term("north-south-east-west-centre"))
    assert len(forms) <= len(DASH_JOINS) * 3 ** 5 and "North–South–East–West–Centre" in forms
    demo = load_rules(write_rules(tmp_path, MINIMAL.replace("en: [bushehr]", "en: [kazakhstan-turkmenistan-iran-russia-india]")))
    assert demo.tag("", "Kazakhstan–Turkmenistan–Iran–Russia–India reactor")


def test_a_term_too_long_to_expand_is_refused_with_file_and_line(tmp_path: Path) -> None:
    long_term = "one-two-three-four-five-six-seven-eight-nine-ten-eleven"
    path = write_rules(tmp_path, MINIMAL.replace("en: [bushehr]", f"en: [{long_term}]"))
    with pytest.raises(RuleFileError) as error:
        load_rules(path)
    assert str(error.value).startswith(f"{path}:5: topic 'demo' terms.anchor.en: term ")
    assert "literal forms (at most 20000)" in str(error.value)


# --- issue 18's rule-language gaps: one-side-spaced dashes, alef forms, apostrophes ----------------

ONE_TERM = """\
version: 1
topics:
  - id: demo
    terms:
      anchor: {{{language}: ["{term}"]}}
    rules:
      - id: one
        match: anchor
"""


def one_term(tmp_path: Path, language: str, term: str) -> RuleSet:
    return load_rules(write_rules(tmp_path, ONE_TERM.format(language=language, term=term)))


@pytest.mark.parametrize(("language", "term", "text"), [
    ("az", "şimal-cənub", "Şimal- Cənub dəhlizi"), ("az", "şimal-cənub", "Şimal -Cənub dəhlizi"),
    ("en", "north-south", "the North– South corridor"), ("en", "north-south", "the north —south corridor"),
    ("ru", "север-юг", "коридор «Север —Юг»"), ("ru", "север-юг", "коридор «Север- Юг»"),
])
def test_a_dash_spaced_on_one_side_matches(tmp_path: Path, language: str, term: str, text: str) -> None:
    demo = one_term(tmp_path, language, term)
    assert demo.tag("", text) == [TopicMatch("demo", f"{language}.one")]
    assert not demo.tag("", text.replace("Cənub", "Cənubi").replace("South", "Southern")
                        .replace("south", "southern").replace("Юг", "Югра"))  # still whole words


ALEF_FORMS = ("\u0622", "\u0623", "\u0625", "\u0671", "\u0627")  # آ أ إ ٱ ا


@pytest.mark.parametrize("term_alef", ALEF_FORMS)
@pytest.mark.parametrize("text_alef", ALEF_FORMS)
def test_every_alef_form_in_a_term_finds_every_alef_form_in_text(tmp_path: Path, term_alef: str,
                                                                  text_alef: str) -> None:
    demo = one_term(tmp_path, "ar", f"{term_alef}ستارا")
    assert demo.tag("", f"خط رشت {text_alef}ستارا الحديدي")
    assert demo.tag("", f"قال و{text_alef}ستارا")  # with an attached prefix
    assert not demo.tag("", f"خط {text_alef}ستاراتي")  # still a whole word


def test_alef_forms_mixed_within_a_word_are_one_word(tmp_path: Path) -> None:
    demo = one_term(tmp_path, "ar", "الأمم المتحدة")
    assert all(demo.tag("", f"قالت {text} اليوم") for text in ("الامم المتحدة", "الإمم المتحده", "وٱلأمم المتحدة"))


APOSTROPHE_FORMS = ("'", "\u2019", "\u2018", "\u02bc", "\u00b4")  # ' ’ ‘ ʼ ´


@pytest.mark.parametrize("term_mark", APOSTROPHE_FORMS)
@pytest.mark.parametrize("text_mark", APOSTROPHE_FORMS)
def test_every_apostrophe_in_a_term_finds_every_apostrophe_in_text(tmp_path: Path, term_mark: str,
                                                                    text_mark: str) -> None:
    demo = one_term(tmp_path, "tr", f"rusya{term_mark}ya")
    assert demo.tag("", f"İran {text_mark.join(['Rusya', 'ya'])} gitti")
    assert not demo.tag("", "İran Rusyaya gitti")  # the apostrophe is part of the term


def test_a_letter_apostrophe_ends_a_word_like_the_others(tmp_path: Path) -> None:
    demo = one_term(tmp_path, "tr", "rusya")  # ʼ (U+02BC) is a letter to Unicode
    assert demo.tag("", "İran Rusya\u02bcya gitti") and demo.tag("", "\u02bcRusya\u02bc dedi")
