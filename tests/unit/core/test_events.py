"""Events: reports of one happening join one story across wording and language; different
events on one subject stay apart; copies follow their group; merges are recorded, not silent."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from newsmon.core.events import EventClusterer, EventConfig, features

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "events" / "corpus.py"
T0 = 1_760_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def events_corpus():
    spec = importlib.util.spec_from_file_location("events_corpus", CORPUS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def assign(clusterer: EventClusterer, article_id: str, title: str, text: str, language: str, when: float,
           cluster: str = "", copies: int = 1, source: str = "") -> str:
    return clusterer.assign(
        article_id=article_id, cluster_id=cluster or article_id, cluster_copies=copies, title=title, text=text,
        url=f"https://e.org/{article_id}", source=source or f"{article_id}.example", language=language,
        published="", topics=(), now=when).story_id


def test_one_name_in_four_scripts_is_one_key() -> None:
    keys = [features(name, "").terms for name in ("Araghchi", "Arakchi", "Аракчи", "عراقچی", "عراقجي")]
    assert all(set(k) == {"~rkc"} for k in keys)


def test_lavrov_and_novak_in_four_scripts_are_one_name_each() -> None:
    """v is a vowel letter in Persian (لاوروف) and f in Arabic (لافروف): both silent, like в."""
    for names in (("Lavrov", "Лавров", "لاوروف", "لافروف", "Лавровым"), ("Novak", "Новак", "نواک", "نوفاك")):
        found = [features(name, "") for name in names]
        assert len({frozenset(f.terms) for f in found}) == 1 and all(f.names == set(f.terms) for f in found)


def test_arabic_spellings_and_the_article_fold_onto_the_lexicon_and_names() -> None:
    assert set(features("العقوبات النووية", "", language="ar").terms) == {"#sanctions", "#nuclear"}
    assert set(features("الكرملين", "", language="ar").terms) == set(features("Kremlin", "").terms)


def test_datelines_agency_tags_and_weekdays_are_not_keys() -> None:
    """Two events of one day under one agency's dateline share nothing but the city."""
    a = features("x", "МОСКВА, 17 дек – РИА Новости. В среду Лавров провел переговоры.", language="ru")
    b = features("x", "МОСКВА, 17 дек – РИА Новости. В среду открылась ярмарка.", language="ru")
    assert a.names & b.names == {"#moscow"}
    fa = features("x", "تهران- ایرنا- امروز دوشنبه ۱۷ آذر خبر رسید", language="fa")
    assert "#tehran" in fa.terms and not {"~rn", "~17"} & set(fa.terms)


def test_labelled_corpus_meets_the_bar_across_languages(events_corpus) -> None:
    """The tuning files (thresholds were chosen on them)."""
    items = events_corpus.articles()
    stories, clusters, languages, us = events_corpus.run_pipeline(items)
    labels = [label for _, label in items]
    scores = events_corpus.pairwise(stories, labels, languages)
    baseline = events_corpus.pairwise(clusters, labels, languages)
    print(f"\nevents: {scores} cluster_id: {baseline['all']} µs/article={us:.0f}")
    assert scores["all"][0] >= 0.95 and scores["all"][2] >= 0.85
    assert scores["cross"][0] >= 0.95 and scores["cross"][1] >= 0.75
    assert scores["all"][2] > baseline["all"][2] + 0.5


def test_held_out_corpus_meets_the_issue_bar(events_corpus) -> None:
    """The two held-out files in one stream, never tuned on (measured P 0.975 R 0.904 F1 0.938,
    across languages P 0.975 F1 0.930): the issue's bar (P >= 0.90, F1 >= 0.85) with a margin
    below those. January alone, a stream of 47 articles where idf and the common-name rule have
    little to go on, measured P 0.909 F1 0.839: asserted below that, as the small-stream floor."""
    items = events_corpus.articles(events_corpus.HELD_OUT)
    stories, _, languages, _ = events_corpus.run_pipeline(items)
    scores = events_corpus.pairwise(stories, [label for _, label in items], languages)
    print(f"\nheld-out events: {scores}")
    assert scores["all"][0] >= 0.93 and scores["all"][2] >= 0.90
    assert scores["cross"][0] >= 0.93 and scores["cross"][2] >= 0.89
    january = events_corpus.articles(("heldout_january.yaml",))
    stories, _, languages, _ = events_corpus.run_pipeline(january)
    small = events_corpus.pairwise(stories, [label for _, label in january], languages)
    print(f"held-out January alone: {small}")
    assert small["all"][0] >= 0.88 and small["all"][2] >= 0.80


def test_the_five_seed_treaty_events_stay_five_stories(events_corpus, seed_texts) -> None:
    """At their own dates (Nov 8, Oct 3, Nov 1; the two undated ones as if they arrived with
    the first): five events about one treaty, five stories."""
    clusterer = EventClusterer(EventConfig(), {})
    nov8 = 1_762_560_000.0
    when = [nov8, nov8 - 36 * DAY, nov8 - 7 * DAY, nov8 + 60, nov8 + 120]
    found = {assign(clusterer, f"seed{i}", text.split("\n", 1)[0], text, "en", when[i])
             for i, text in enumerate(seed_texts)}
    assert len(found) == 5


def test_copies_share_their_group_and_a_redelivery_counts_once() -> None:
    records: dict = {}
    clusterer = EventClusterer(EventConfig(), records)
    first = assign(clusterer, "a1", "Grossi arrives in Tehran", "TEHRAN - Rafael Grossi arrived.", "en", T0)
    again = assign(clusterer, "a2", "completely other words", "nothing alike", "en", T0, cluster="a1", copies=2)
    redelivered = assign(clusterer, "a2", "completely other words", "nothing alike", "en", T0, cluster="a1", copies=2)
    assert first == again == redelivered == "a1"
    story = clusterer.story("a1")
    assert (story["articles"], story["copies"], story["clusters"]) == (2, 1, 1)
    clusterer.flush()
    assert set(records) == {"a1"}  # one record per story, written by flush


def test_state_survives_a_restart_and_stories_expire_after_the_window() -> None:
    records: dict = {}
    clusterer = EventClusterer(EventConfig(window_days=4), records)
    text = "MOSCOW - Sergei Lavrov hosted Abbas Araghchi in Moscow on Friday to discuss the nuclear file."
    assign(clusterer, "a1", "Lavrov, Araghchi hold talks in Moscow", text, "en", T0)
    clusterer.flush()
    restarted = EventClusterer(EventConfig(window_days=4), records)
    joined = assign(restarted, "b1", "Лавров и Аракчи провели переговоры в Москве",
                    "МОСКВА - Сергей Лавров провел переговоры с Аббасом Аракчи о ядерной теме.", "ru", T0 + 3600)
    assert joined == "a1"
    assert assign(restarted, "c1", "Lavrov, Araghchi hold talks in Moscow", text, "en", T0 + 6 * DAY) == "c1"
    assert restarted.expire() == 1 and "a1" not in restarted.live
    restarted.flush()
    assert "a1" not in records


def test_a_merge_is_recorded_on_the_absorbed_story() -> None:
    clusterer = EventClusterer(EventConfig(merge=1.0), {})
    clusterer._start("s1", "t", "u", "x", "en", T0)
    clusterer._start("s2", "t", "u", "y", "en", T0 + 1)
    clusterer._count(clusterer.live["s1"], "c1", 2, "t", "x", "en", (), T0)
    clusterer._count(clusterer.live["s2"], "c2", 1, "t", "y", "en", (), T0 + 1)
    assert clusterer._merge("s2", "s1") == "s2"
    assert clusterer.story("s2")["merged_into"] == "s1"
    assert clusterer.story("s1")["articles"] == 3 and clusterer.story("s1")["clusters"] == 2
    assert assign(clusterer, "a9", "x", "y", "en", T0, cluster="c2") == "s1"  # the group follows the survivor


def test_stories_do_not_depend_on_the_hash_seed() -> None:
    """Sets of keys and stories iterate in a per-process order: the stories must not (CI and a
    laptop, or two workers of the stream, would otherwise group the same news differently)."""
    import os
    import subprocess

    script = ("import sys; sys.path.insert(0, sys.argv[1]); import corpus; "
              "print(corpus.run_pipeline(corpus.articles())[0])")
    runs = {
        subprocess.run([sys.executable, "-c", script, str(CORPUS.parent)], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(runs) == 1 and "treaty-signing" in runs.pop()


def test_one_article_merging_an_older_and_a_younger_story_leaves_one_survivor(monkeypatch) -> None:
    """The best match is the middle story; the oldest turns the tables on it, and the youngest
    must then join the oldest, not the story just absorbed (its groups stayed in a merged
    story, and a restart mapped them to whichever record came last)."""
    clusterer = EventClusterer(EventConfig(), {})
    ids = [assign(clusterer, name, title, title, "en", T0 + n * 3600, source=f"{name}.example")
           for n, (name, title) in enumerate([("a", "Quake hits Kerman"), ("b", "Gold climbs to a record"),
                                              ("c", "Derby ends two all in Tabriz")])]
    assert ids == ["a", "b", "c"]
    monkeypatch.setattr(clusterer, "_matches", lambda *_: [(9.0, "b"), (8.9, "a"), (8.8, "c")])
    decided = clusterer.assign(
        article_id="d", cluster_id="d", cluster_copies=1, title="d", text="d", url="https://e.org/d", source="d.example",
        language="en", published="", topics=(), now=T0 + 4 * 3600)
    assert decided.story_id == "a" and set(decided.merged) == {"b", "c"}
    clusterer.flush()
    survivor = clusterer.story("a")
    assert survivor["articles"] == 4 and survivor["source_count"] == 4
    assert {clusterer.story(s)["merged_into"] for s in ("b", "c")} == {"a"}
    restarted = EventClusterer(EventConfig(), dict(clusterer.records))
    for group in "abcd":  # every copy group leads to the one survivor after a restart
        again = restarted.assign(
            article_id=group + "-copy", cluster_id=group, cluster_copies=2, title="x", text="x", url="https://e.org/x",
            source="x.example", language="en", published="", topics=(), now=T0 + 5 * 3600)
        assert again.story_id == "a" and again.reason == "copy"


def test_clean_makes_of_every_character_what_its_table_says() -> None:
    """`_clean` folds by regexes and replaces, not by str.translate: each character, alone and
    among Cyrillic, Persian and ASCII text, becomes what `_CLEAN` says (or itself)."""
    from newsmon.core import events

    for code in (*range(0x2100), *range(0xFB50, 0xFF00)):
        char = chr(code)
        want = events._CLEAN.get(char, char)
        for around in ("", "б", "ب", "b"):
            assert events._clean(around + char + around) == around + want + around, hex(code)


def test_features_are_the_same_learnt_together_or_remembered() -> None:
    """An article's new words are keyed together; the keys are each word's whatever else is new with it."""
    from newsmon.core import events

    texts = [("Лавров и Аракчи провели переговоры 14 ноя", "МОСКВА, 14 ноя – РИА Новости. Глава МИД России Сергей Лавровым."),
             ("العقوبات النووية على إيران", "طهران - الذي قال 21 ديسمبر إن الوكالة الدولية للطاقة الذرية"),
             ("Araghchi meets Grossi in Vienna on December 17", "Iran's foreign minister, 5.8 per cent, 1,300,000 barrels.")]
    events._forget()
    together = [features(title, text) for title, text in texts]
    remembered = [features(title, text) for title, text in texts]
    events._forget()
    alone = []
    for title, text in texts:
        for word in (title + " " + text).split():
            features(word, "")
        alone.append(features(title, text))
    for found in (remembered, alone):
        assert [(f.terms, list(f.terms), f.names, f.probe) for f in found] == [(f.terms, list(f.terms), f.names, f.probe) for f in together]


def test_records_read_back_share_their_keys() -> None:
    """After a restart every record's keys are strings of their own: interned, stories share them."""
    import msgspec

    clusterer = EventClusterer(EventConfig(), {})
    for n, title in enumerate(("Araghchi meets Grossi in Vienna", "Araghchi calls Lavrov on Bushehr")):
        assign(clusterer, f"a{n}", title, title, "en", T0 + n * 30 * DAY)
    clusterer.flush()
    records = msgspec.json.decode(msgspec.json.encode(clusterer.records))
    EventClusterer(EventConfig(), records)
    first, second = ({key: key for key in records[f"a{n}"]["terms"]} for n in range(2))
    assert first["~rkc"] is second["~rkc"] and records["a0"]["names"][records["a0"]["names"].index("~rkc")] is first["~rkc"]


def test_features_stay_the_same_when_the_remembered_words_are_forgotten(monkeypatch) -> None:
    """The memory of words is bounded: forgetting it (mid-stream, mid-article) changes no key."""
    from newsmon.core import events

    texts = [("Araghchi meets Grossi in Vienna", "Iran's foreign minister met the IAEA chief on Monday."),
             ("Лавров и Аракчи провели переговоры", "МОСКВА, 14 ноя – РИА Новости. Глава МИД России."),
             ("العقوبات النووية على إيران", "طهران - الذي قال إن الوكالة الدولية للطاقة الذرية")]
    events._forget()
    unbounded = [features(title, text) for title, text in texts]
    monkeypatch.setattr(events, "WORD_CACHE", 3)
    events._forget()
    bounded = [features(title, text) for title, text in texts * 2]
    events._forget()
    assert [(f.terms, list(f.terms), f.names, f.probe) for f in bounded] == [(f.terms, list(f.terms), f.names, f.probe) for f in unbounded * 2]


def test_a_figure_with_decimal_or_thousands_marks_is_one_word() -> None:
    from newsmon.core import events

    assert events._DECIMAL.sub("", "5.8 1,300,000 a.b 5. .5 ۵.۵ ٥٫٥ 4,5, x,1 2.\n3") == "58 1300000 a.b 5. .5 ۵۵ ٥٥ 45, x,1 2.\n3"
