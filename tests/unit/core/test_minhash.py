import numpy as np

from newsmon.core.minhash import BELOW, BOTTOM, HEAD, MIN_TOLD, Overlap, Sketch, Words, distinct, places
from newsmon.core.text import word_chars

WEIGHTS = [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93]


def reference_shingles(hashes: list[int], width: int) -> list[int]:
    """Each window's weighted sum of word hashes mod 2**64, mixed down to its top 32 bits."""
    windows = [hashes[i : i + width] for i in range(max(len(hashes) - width + 1, 1 if hashes else 0))]
    sums = [sum(h * w for h, w in zip(window, WEIGHTS)) % 2**64 for window in windows]
    return [(s * 0xFF51AFD7ED558CCD % 2**64) >> 32 for s in sums]


def test_shingles_are_weighted_window_sums_of_word_hashes():
    chars = np.frombuffer("alpha beta gamma delta epsilon zeta 1999 eta".encode("utf-16-le"), dtype=np.uint16)
    words = Words(np.where(chars == 0x20, 0, chars).astype(np.uint16))
    hashes = words.hashes.tolist()
    assert words.count == 8
    for skip in range(10):
        start = min(skip, max(len(hashes) - 4, 0))
        assert words.shingles(4, skip).tolist() == reference_shingles(hashes[start:], 4)
    for count in range(4):  # fewer words than a shingle: one shingle of them all, none of none
        short = Words(np.where(chars == 0x20, 0, chars).astype(np.uint16)[: [0, 5, 10, 17][count]])
        assert short.shingles(4).tolist() == reference_shingles(short.hashes.tolist(), 4)
        assert short.shingles(4).dtype == np.uint32


def test_words_of_many_arrays_at_once_equal_words_of_each():
    texts = ["", "alpha beta", "١٢ كِتاب — Москва ёлка", "x", "  ", "word " * 300, "ok👍 done 1999"] * 20  # > one group
    arrays = [word_chars(text) for text in texts]
    for single, batched in zip(map(Words, arrays), Words.all_of(arrays), strict=True):
        assert batched.hashes.tolist() == single.hashes.tolist() and batched.hashes.dtype == single.hashes.dtype
        assert batched.numeric.tolist() == single.numeric.tolist()
        assert batched.digest == single.digest
    assert Words.all_of([]) == []


def _random_texts(seed: int) -> tuple[np.ndarray, Sketch]:
    """A new text's shingles (text order) and the sketch of another sharing some of them."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)
    ordered = rng.choice(pool, int(rng.integers(1, 300)))
    other = rng.choice(pool, int(rng.integers(1, 300)))
    full = np.unique(other)
    return ordered, Sketch(full.size, full[: int(rng.integers(1, 80))], other[:64], np.empty(0, dtype=np.uint32))


def test_overlap_counts_what_searching_every_shingle_would():
    for seed in range(200):
        ordered, sketch = _random_texts(seed)
        full = distinct(ordered)
        assert np.array_equal(full[places(ordered)], ordered)
        head, bottom, low = set(sketch.head.tolist()), set(sketch.bottom.tolist()), sketch.threshold
        overlap = Overlap(full, sketch)
        rest = [v for v in full.tolist() if v not in head]
        sampled = [v for v in rest if v <= low]
        beyond = sum(v in bottom for v in sampled) / len(sampled) * len(rest) if sampled else 0.0
        assert overlap.new_inside() == (full.size - len(rest) + beyond) / full.size
        assert overlap.indexed_inside() == sum(v in set(full.tolist()) for v in bottom) / len(bottom)
        kinds = [(v in head) * HEAD | (v in bottom) * BOTTOM | (v in head | bottom and v <= low) * BELOW for v in ordered.tolist()]
        assert overlap.in_text(sketch.kinds, places(ordered)).tolist() == kinds
        for length in (ordered.size, 8):
            values = ordered[:length].tolist()
            known = [v in head or v <= low for v in values]
            found = [v in head or (k and v in bottom) for v, k in zip(values, known)]
            expected = 0.0 if sum(known) < min(len(values), MIN_TOLD) else sum(found) / sum(known)
            assert sketch.shares_estimated(ordered, [length]) == [expected]


def reference_numbers(words: Words, limit: int, skip: int, stop: int | None) -> list[int]:
    """Distinct top-32-bit hashes of the number words from `skip` to `stop`, the `limit` smallest."""
    chosen = words.hashes[skip:stop][words.numeric[skip:stop]].tolist()
    return sorted({(h * 0xFF51AFD7ED558CCD % 2**64) >> 32 for h in chosen})[:limit]


def test_shingles_and_numbers_of_a_batch_equal_those_of_each_text():
    texts = ["", "a", "alpha beta", "a b c", "x 1 y 22 z 1", "word 7 " * 300, "١٢ كِتاب 3 — Москва 4 ёлка"] * 6
    arrays = [word_chars(text) for text in texts]
    for single, batched in zip(map(Words, arrays), Words.all_of(arrays), strict=True):
        for skip in (0, 1, 3, 5, 700):
            for width in (3, 4):
                assert batched.shingles(width, skip).tolist() == single.shingles(width, skip).tolist()
            for limit, stop in ((32, None), (2, None), (32, skip + 5)):
                expected = reference_numbers(single, limit, skip, stop)
                assert batched.numbers(limit, skip, stop).tolist() == single.numbers(limit, skip, stop).tolist() == expected
                assert batched.numbers(limit, skip, stop).dtype == np.uint32
