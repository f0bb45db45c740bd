"""Word shingles and Broder min-wise sketches (single-hash bottom-k) for near duplicates.

Why bottom-k rather than k-permutation MinHash: one hash per shingle is enough (no loop
or matrix over permutations), and the k smallest hashes are a consistent random sample
of the shingle set. Two sketches cut at a common threshold are exact samples of both
sets, which estimates containment (teaser inside full article) directly, not only
Jaccard resemblance. The new article's full shingle set is at hand when it is compared,
so a stored sketch is checked against it exactly.

Hashing is vectorised: the folded text is one code-point array; polynomial sums (mod
2**64, uint64 wrap-around) hash every word at once, shingles combine word hashes, and
the mixed top 32 bits are kept. No Python loop per word or shingle.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_Q = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64
_Q_INV = pow(_Q, -1, 1 << 64)
_HEADER = struct.Struct("<IHBB")  # shingles, bottom, head, numbers
_EMPTY = np.empty(0, dtype=np.uint32)
_EMPTY_64 = np.empty(0, dtype=np.uint64)
_SEPARATOR = np.zeros(1, dtype=np.uint16)
MIN_TOLD = 3  # share_estimated: fewer shingles whose presence a sketch can tell are no evidence
_GROUP = 32  # texts hashed per numpy pass (Words.all_of): 16-32 are fastest, larger arrays outgrow the CPU caches
SHINGLE_WORDS = 4  # the shingle width Words.all_of hashes ahead: deduplication's (DedupeConfig.shingle_words)


class _PowerTables:
    """Q**i and Q**-i mod 2**64, grown on demand to the longest text seen."""

    def __init__(self) -> None:
        self.powers = self.inverse = np.ones(1, dtype=np.uint64)

    def get(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        if self.powers.size <= length:
            size = max(2 * self.powers.size, length + 1, 16384)
            self.powers = _geometric(_Q, size)
            self.inverse = _geometric(_Q_INV, size)
        return self.powers, self.inverse


def _geometric(base: int, size: int) -> np.ndarray:
    series = np.full(size, base, dtype=np.uint64)
    series[0] = 1
    return np.cumprod(series, dtype=np.uint64)


_TABLES = _PowerTables()


_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SHINGLE_WEIGHTS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                             0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3], dtype=np.uint64)


def _top32(values: np.ndarray) -> np.ndarray:
    """The high half of a multiply by an odd constant: the best-mixed 32 bits."""
    return ((values * _MIX) >> np.uint64(32)).astype(np.uint32)


def _window_sums(hashes: np.ndarray, width: int) -> np.ndarray:
    """Window i's sum of hashes[i + k] * weight[k] (mod 2**64), for every window of `width`
    (<= hashes.size): `width` multiply-adds over the whole array. np.correlate calls a dot
    product per window: ~60 instructions a shingle, the copies stage's largest numpy cost."""
    count = hashes.size - width + 1
    sums = hashes[:count] * _SHINGLE_WEIGHTS[0]
    for k in range(1, width):
        sums += hashes[k : k + count] * _SHINGLE_WEIGHTS[k]
    return sums


def _hash_words(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per word of a `word_chars` array: its hash, whether it is a number, its start."""
    in_word = np.zeros(chars.size + 1, dtype=bool)
    np.not_equal(chars, 0, out=in_word[1:])
    starts = np.flatnonzero(in_word[1:] > in_word[:-1])
    powers, inverse = _TABLES.get(chars.size)
    # Non-word characters are 0, so each segment start..next start sums one word's characters:
    # differences of one running sum (exact, as uint64 wraps alike), a third of reduceat's cost.
    running = np.zeros(chars.size + 1, dtype=np.uint64)
    np.cumsum(chars * powers[: chars.size], out=running[1:])
    sums = np.diff(running[np.append(starts, chars.size)]) if starts.size else _EMPTY_64
    return sums * inverse.take(starts), chars.take(starts) <= 0x39, starts  # word characters below '9' are digits


class _Batch:
    """The word hashes of one `Words.all_of` group (or of one text). Its texts' shingles (of
    SHINGLE_WORDS words) and numbers are hashed for all of them in one pass when the first text
    asks (windows that span two texts go unused); texts only normalised, never shingled, cost
    nothing more. Kept as arrays: per-text lists would be garbage-collected objects."""

    def __init__(self, hashes: np.ndarray, numeric: np.ndarray, bounds: list[int]) -> None:
        self.hashes, self.numeric, self.bounds = hashes, numeric, bounds  # bounds: each text's first word, then the end

    @functools.cached_property
    def windows(self) -> np.ndarray:
        return _top32(_window_sums(self.hashes, SHINGLE_WORDS)) if self.hashes.size >= SHINGLE_WORDS else _EMPTY

    def windows_of(self, text: int) -> np.ndarray:
        """Every window of text `text` (which has at least SHINGLE_WORDS words)."""
        return self.windows[self.bounds[text] : self.bounds[text + 1] - SHINGLE_WORDS + 1]

    @functools.cached_property
    def _numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the words that start with a digit are, and their hashes."""
        at = np.flatnonzero(self.numeric)
        return at, _top32(self.hashes[at])

    def numbers_of(self, text: int, skip: int, stop: int) -> list[int]:
        """Hashes of text `text`'s numbers among its words `skip` to `stop` (both within it)."""
        at, hashes = self._numbers
        first, last = at.searchsorted((self.bounds[text] + skip, self.bounds[text] + stop)).tolist()
        return hashes[first:last].tolist()


class Words:
    """The words of a `word_chars` array, each hashed once, position-independently.

    A word's hash is the polynomial sum of its characters (one `reduceat` for all words,
    normalised by the start position's inverse power); a shingle's hash is a weighted sum
    of its words' hashes. No Python loop per word or per shingle. A text's shingles and
    numbers are hashed once, when first asked for (with its batch's: `_Batch`).
    """

    def __init__(self, chars: np.ndarray) -> None:
        self.hashes, self.numeric, _ = _hash_words(chars)
        self._batch, self._place = _Batch(self.hashes, self.numeric, [0, self.hashes.size]), 0

    @classmethod
    def all_of(cls, arrays: Sequence[np.ndarray]) -> list[Words]:
        """`Words` of each array, equal to one by one, but hashed `_GROUP` arrays per numpy pass:
        numpy's cost per call, most of the cost on a 3 KB text, is paid once per group."""
        return [words for start in range(0, len(arrays), _GROUP) for words in cls._group(arrays[start : start + _GROUP])]

    @classmethod
    def _group(cls, arrays: Sequence[np.ndarray]) -> list[Words]:
        # A 0 after each array: no word spans two, and hashes do not depend on position.
        hashes, numeric, starts = _hash_words(np.concatenate([part for chars in arrays for part in (chars, _SEPARATOR)]))
        bounds = [0, *starts.searchsorted(np.cumsum([chars.size + 1 for chars in arrays])[:-1]).tolist(), hashes.size]
        batch = _Batch(hashes, numeric, bounds)
        return [cls._of(batch, text) for text in range(len(arrays))]

    @classmethod
    def _of(cls, batch: _Batch, text: int) -> Words:
        words = cls.__new__(cls)
        start, stop = batch.bounds[text], batch.bounds[text + 1]
        words.hashes, words.numeric = batch.hashes[start:stop], batch.numeric[start:stop]
        words._batch, words._place = batch, text  # its index in the batch
        return words

    @property
    def count(self) -> int:
        return self.hashes.size

    @functools.cached_property
    def digest(self) -> str:
        """32-hex-digit blake2b-128 of the word sequence: the exact-content fingerprint
        (kept: normalisation and deduplication both ask for it)."""
        return hashlib.blake2b(self.hashes.tobytes(), digest_size=16).hexdigest()

    def shingles(self, width: int, skip: int = 0) -> np.ndarray:
        """uint32 hashes of every `width`-word window from word `skip` on, in text order
        (shared: treat as read-only).

        Fewer than `width` words left make one shingle; no words, no shingle.
        """
        skip = min(skip, max(self.count - width, 0))
        if width == SHINGLE_WORDS <= self.count:
            return self._batch.windows_of(self._place)[skip:]  # a window's hash does not depend on where the text starts
        words = self.hashes[skip:]
        if not words.size:
            return _EMPTY
        return _top32(_window_sums(words, min(width, words.size)))

    def numbers(self, limit: int, skip: int = 0, stop: int | None = None) -> np.ndarray:
        """Sorted distinct hashes of the words from `skip` (to `stop`) that start with a digit (the `limit` smallest)."""
        count = self.count
        chosen = self._batch.numbers_of(self._place, min(skip, count), count if stop is None else max(min(stop, count), 0))
        return np.array(sorted(set(chosen))[:limit], dtype=np.uint32)  # a few: cheaper than numpy's calls


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (cheaper than np.unique on arrays this small)."""
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def places(ordered: np.ndarray) -> np.ndarray:
    """Each of `ordered`'s index in `distinct(ordered)`: one sort for what searching every
    shingle in that set would cost (an unpredictable branch per step of each binary search)."""
    order = np.argsort(ordered)
    ascending = ordered[order]
    starts = np.empty(ordered.size, dtype=bool)
    starts[:1] = True
    np.not_equal(ascending[1:], ascending[:-1], out=starts[1:])
    where = np.empty(ordered.size, dtype=np.intp)
    where[order] = np.cumsum(starts) - 1
    return where


HEAD, BOTTOM, BELOW = 1, 2, 4  # Sketch.kinds bits: in the head, in the bottom sample, not above the threshold


@dataclass(frozen=True, eq=False)
class Sketch:
    """What is kept of an indexed article: enough to re-check any later candidate."""

    shingles: int  # distinct shingles of the whole text
    bottom: np.ndarray  # uint32, sorted: the smallest distinct shingle hashes
    head: np.ndarray  # uint32, text order: the first shingles, where the news (the lede) is
    numbers: np.ndarray  # uint32, sorted: hashes of the distinct numbers

    def encode(self) -> str:
        header = _HEADER.pack(self.shingles, self.bottom.size, self.head.size, self.numbers.size)
        body = self.bottom.tobytes() + self.head.tobytes() + self.numbers.tobytes()
        return base64.b64encode(header + body).decode("ascii")

    @classmethod
    @functools.lru_cache(maxsize=4096)  # candidates are mostly recent stories: decode each once
    def decode(cls, encoded: str) -> Sketch:
        raw = base64.b64decode(encoded)
        shingles, bottom, head, _ = _HEADER.unpack_from(raw)
        values = np.frombuffer(raw, dtype=np.uint32, offset=_HEADER.size)
        return cls(shingles, values[:bottom], values[bottom : bottom + head], values[bottom + head :])

    @functools.cached_property
    def union(self) -> np.ndarray:
        """Every hash the sketch holds (head and bottom), sorted and distinct: what `Overlap` looks up."""
        return distinct(np.concatenate((self.head, self.bottom)))

    @functools.cached_property
    def head_at(self) -> np.ndarray:
        """Each head hash's index in `union`."""
        return self.union.searchsorted(self.head)

    @functools.cached_property
    def kinds(self) -> np.ndarray:
        """Per `union` hash: HEAD | BOTTOM | BELOW bits."""
        union = self.union
        kinds = np.where(union <= self.threshold, BELOW, 0).astype(np.uint8)
        kinds[union.searchsorted(self.bottom)] |= BOTTOM
        kinds[self.head_at] |= HEAD
        return kinds

    def shares_estimated(self, values: np.ndarray, lengths: Sequence[int]) -> list[float]:
        """Per length: fraction of that many first `values` (shingle hashes) in the sketched text,
        over those whose presence the sketch can tell: in its head, or not above its threshold
        (the bottom sample is complete there). One lookup serves every length."""
        kinds = self._kinds_of(values).tolist()
        known = [bool(kind & HEAD) or low for kind, low in zip(kinds, (values <= self.threshold).tolist())]
        found = [bool(kind & HEAD) or (told and bool(kind & BOTTOM)) for kind, told in zip(kinds, known)]
        return [_told_share(found[:length], known[:length]) for length in lengths]

    def _kinds_of(self, values: np.ndarray) -> np.ndarray:
        """The `kinds` of each of `values`, 0 for a hash the sketch does not hold."""
        union = self.union
        if not union.size:
            return np.zeros(values.size, dtype=np.uint8)
        at = union.searchsorted(values)
        return np.where(union.take(at, mode="clip") == values, self.kinds.take(at, mode="clip"), 0)

    @functools.cached_property
    def threshold(self) -> int:
        """Largest hash the bottom sample is complete up to (all of them if it holds every shingle)."""
        return 0xFFFFFFFF if self.bottom.size >= self.shingles else int(self.bottom[-1])


def _told_share(found: list[bool], known: list[bool]) -> float:
    told = sum(known)
    if told < min(len(known), MIN_TOLD):
        return 0.0
    return sum(found) / told


class Overlap:
    """A text's shingles (`full`: sorted, distinct) against one sketch, from one search: which
    of the few hashes the sketch holds (`Sketch.union`) are in the text. Searching those, in
    order, in the text is cheap; searching the text's hundreds of shingles in the sketch was
    most of what comparing two texts cost."""

    def __init__(self, full: np.ndarray, sketch: Sketch) -> None:
        self.full, self.sketch = full, sketch
        union = sketch.union
        self.at = full.searchsorted(union)
        self.found = full.take(self.at, mode="clip") == union if full.size else np.zeros(union.size, dtype=bool)
        counts = np.bincount(sketch.kinds[self.found], minlength=8).tolist()
        # Text hashes in the sketch's head (those not above its threshold), in its bottom sample
        # (those not in its head).
        self.in_head, self.in_head_below = _tally(counts, HEAD), _tally(counts, HEAD | BELOW)
        self.in_bottom, self.in_bottom_only = _tally(counts, BOTTOM), _tally(counts, BOTTOM | BELOW, HEAD)

    def new_inside(self) -> float:
        """Share of the text inside the sketched one: counted exactly for shingles of its head
        (a teaser is the head of its article), estimated from the bottom sample beyond it."""
        full = self.full
        if not full.size:
            return 0.0
        rest = full.size - self.in_head
        sampled = int(full.searchsorted(self.sketch.threshold, side="right")) - self.in_head_below
        found_beyond = self.in_bottom_only / sampled * rest if sampled else 0.0
        return (full.size - rest + found_beyond) / full.size

    def indexed_inside(self) -> float:
        """Share of the sketched text found in the text: its bottom sample checked exactly."""
        return self.in_bottom / max(self.sketch.bottom.size, 1)

    def head_found(self) -> np.ndarray:
        """Which of the sketch's head shingles (text order) are in the text."""
        return self.found.take(self.sketch.head_at)

    def in_text(self, per_union: np.ndarray, where: np.ndarray) -> np.ndarray:
        """`per_union` (a value per `Sketch.union` hash) at each shingle of the text, in text
        order (`where`: `places` of that order), 0 where the sketch does not hold it."""
        per_full = np.zeros(self.full.size, dtype=per_union.dtype)
        per_full[self.at[self.found]] = per_union[self.found]
        return per_full.take(where)

    def passages(self, ordered: np.ndarray, where: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The passages of the text (`ordered`: its shingles in text order, `where`: their
        `places`) found in the sketched one: first and last position of each run of shingles
        known to be there, split where more than `gap` shingles between two of them are known
        NOT to be there, and the estimated shingles shared in each run (its length times the
        share found among its shingles whose presence the sketch can tell). A changed word
        misses 4 shingles; a paragraph between two shared ones (a notice on top and a footer
        around different news) splits them."""
        kinds = self.in_text(self.sketch.kinds, where)
        in_head = (kinds & HEAD) != 0
        known = in_head | (ordered <= self.sketch.threshold)
        found = in_head | (known & ((kinds & BOTTOM) != 0))
        positions = np.flatnonzero(found)
        if not positions.size:
            return positions, positions, np.empty(0)
        known_before = np.concatenate(([0], np.cumsum(known)))
        found_before = np.concatenate(([0], np.cumsum(found)))
        missed_before = known_before - found_before
        breaks = np.flatnonzero(missed_before[positions[1:]] - missed_before[positions[:-1] + 1] > gap)
        firsts = positions[np.concatenate(([0], breaks + 1))]
        lasts = positions[np.concatenate((breaks, [positions.size - 1]))]
        share = (found_before[lasts + 1] - found_before[firsts]) / (known_before[lasts + 1] - known_before[firsts])
        return firsts, lasts, (lasts - firsts + 1) * share


def _tally(counts: list[int], bits: int, without: int = 0) -> int:
    """How many of the hashes counted per kind (`np.bincount` of kinds) have every one of `bits`, none of `without`."""
    return sum(count for kind, count in enumerate(counts) if kind & bits == bits and not kind & without)


def lede(ordered: np.ndarray, skip: int, size: int) -> np.ndarray:
    """The lede's shingles: `size` of them after the first `skip` (a dateline left in place
    touches only those), moved forward when the text is too short."""
    start = min(skip, max(ordered.size - size, 0))
    return ordered[start : start + size]


def resemblance(full: np.ndarray, sketch: Sketch) -> float:
    """Jaccard resemblance of a sorted distinct shingle set and a sketched text, both cut at
    the sketch's threshold (consistent samples of both sets)."""
    shared = np.count_nonzero(_members(sketch.bottom, full))
    sampled = int(full.searchsorted(sketch.threshold, side="right"))
    return shared / max(sampled + sketch.bottom.size - shared, 1)


def share_inside(values: np.ndarray, sorted_set: np.ndarray) -> float:
    """Fraction of `values` present in `sorted_set` (1.0 when there is nothing to check)."""
    if not values.size:
        return 1.0
    return float(np.count_nonzero(_members(values, sorted_set))) / values.size


def _members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    return sorted_set.searchsorted(values, side="right") > sorted_set.searchsorted(values)
