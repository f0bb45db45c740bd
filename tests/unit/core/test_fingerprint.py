import numpy as np

from newsmon.core.fingerprint import content_hash, text_words, text_words_all
from newsmon.core.minhash import Overlap, Sketch, Words, resemblance
from newsmon.core.text import html_to_text, word_chars

TEXT = "Iran and Russia signed the “strategic” treaty in Moscow on Friday, officials said."


def test_content_hash_ignores_formatting():
    markup = "<p>Iran and Russia signed the \"strategic\" treaty</p><p>in MOSCOW on Friday,   officials said.</p>"
    assert content_hash(TEXT) == content_hash(html_to_text(markup))
    assert len(content_hash(TEXT)) == 32


def test_content_hash_changes_with_content():
    assert content_hash(TEXT) != content_hash(TEXT.replace("Friday", "Monday"))


def test_text_words_all_hashes_like_text_words_and_remembers_the_batch():
    texts = [TEXT, "", "Москва, 8 ноября", TEXT, "كِتاب ١٢"]
    batched = text_words_all(texts)
    assert batched[0] is batched[3] and all(text_words(t) is w for t, w in zip(texts, batched))
    text_words.cache_clear()
    assert [w.digest for w in batched] == [text_words(t).digest for t in texts]


def shingle_hashes(text: str, width: int, skip: int = 0) -> np.ndarray:
    return Words(word_chars(text)).shingles(width, skip)


def test_shingle_hashes_do_not_depend_on_position():
    hashes = shingle_hashes("a b c d e", 2)
    assert hashes.dtype == np.uint32 and hashes.size == 4
    assert shingle_hashes("x a b", 2)[1] == hashes[0]
    assert np.array_equal(shingle_hashes("DATE LINE - a b c d e", 2, skip=2), hashes)
    assert shingle_hashes("a b", 4).size == 1 and shingle_hashes("", 4).size == 0


def test_numbers_are_hashed_as_whole_tokens():
    words = Words(word_chars("rose 3% to 1,050,000 rials, 12 more than 1.050.000"))
    assert words.numbers(8).size == 5  # 3, 1, 050, 000, 12
    assert words.numbers(2).size == 2


def _full(words: str) -> np.ndarray:
    return np.unique(shingle_hashes(words, 3))


def _sketch(words: str, size: int) -> Sketch:
    full = _full(words)
    return Sketch(full.size, full[:size], shingle_hashes(words, 3)[:64], np.array([7, 9], dtype=np.uint32))


def test_sketch_roundtrip_is_compact():
    sketch = _sketch(" ".join(f"w{i}" for i in range(300)), 64)
    encoded = sketch.encode()
    assert isinstance(encoded, str) and len(encoded) < 900
    back = Sketch.decode(encoded)
    assert back.shingles == sketch.shingles
    for name in ("bottom", "head", "numbers"):
        assert np.array_equal(getattr(back, name), getattr(sketch, name))


def test_containment_of_a_prefix_and_of_a_middle_part():
    words = [f"w{i}" for i in range(2000)]
    teaser, article = " ".join(words[:400]), " ".join(words)
    assert Overlap(_full(teaser), _sketch(article, 64)).new_inside() > 0.9  # the teaser lies inside the article
    assert 0.1 < resemblance(_full(teaser), _sketch(article, 64)) < 0.35  # Jaccard alone would miss it
    assert Overlap(_full(article), _sketch(teaser, 64)).indexed_inside() == 1.0
    assert Overlap(_full(" ".join(words[1000:1400])), _sketch(article, 64)).new_inside() > 0.8  # sampled beyond the head
