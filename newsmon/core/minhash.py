"""Word shingles and Broder min-wise sketches (single-hash bottom-k) for near duplicates.

Why bottom-k rather than k-permutation MinHash: one hash per shingle is enough (no loop
or matrix over permutations), and the k smallest hashes are a consistent random sample
of the shingle set. Two sketches cut at a common threshold are exact samples of both
sets, which estimates containment (teaser inside full article) directly, not only
Jaccard resemblance. The new article's full shingle set is at hand when it is compared,
so a stored sketch is checked against it exactly.

Hashing is vectorised: the folded word string is one byte array; a polynomial prefix sum
(mod 2**64, uint64 wrap-around) gives every word span's hash in O(1), then a 64-bit
finaliser mixes it and its top 32 bits are kept. No Python loop per word or shingle.
"""
from __future__ import annotations

import base64
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

_Q = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64
_Q_INV = pow(_Q, -1, 1 << 64)
_HEADER = struct.Struct("<IHBB")  # shingles, bottom, head, numbers
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_EMPTY = np.empty(0, dtype=np.uint32)


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


def _mix(values: np.ndarray) -> np.ndarray:
    """murmur3 fmix64 finaliser: spreads polynomial-hash bits over the whole word."""
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def shingle_hashes(words: str, width: int) -> np.ndarray:
    """uint32 hashes of every `width`-word window of a single-spaced word string, in text order.

    A text shorter than `width` words is one shingle; an empty text has none.
    """
    data = np.frombuffer(words.encode("utf-8"), dtype=np.uint8)
    if not data.size:
        return _EMPTY
    gaps = np.flatnonzero(data == 32)
    starts = np.concatenate(([0], gaps + 1))
    ends = np.concatenate((gaps, [data.size]))
    count = max(starts.size - width + 1, 1)
    first, last = starts[:count], ends[-count:]
    powers, inverse = _TABLES.get(data.size)
    prefix = np.zeros(data.size + 1, dtype=np.uint64)
    np.cumsum(data * powers[: data.size], out=prefix[1:])
    spans = (prefix[last] - prefix[first]) * inverse[first]
    return (_mix(spans) >> np.uint64(32)).astype(np.uint32)


def number_hashes(folded: str, limit: int) -> np.ndarray:
    """Sorted uint32 hashes of the distinct numbers in a folded text (the `limit` smallest)."""
    found = {zlib.crc32(n.encode()) for n in _NUMBER.findall(folded)}
    return np.array(sorted(found)[:limit], dtype=np.uint32)


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
    def decode(cls, encoded: str) -> Sketch:
        raw = base64.b64decode(encoded)
        shingles, *sizes = _HEADER.unpack_from(raw)
        values = np.frombuffer(raw, dtype=np.uint32, offset=_HEADER.size)
        bottom, head, numbers = np.split(values, np.cumsum(sizes)[:2])
        return cls(shingles, bottom, head, numbers)

    @property
    def threshold(self) -> int:
        """Largest hash the bottom sample is complete up to (all of them if it holds every shingle)."""
        return 0xFFFFFFFF if self.bottom.size >= self.shingles else int(self.bottom[-1])


def lede(ordered: np.ndarray, skip: int, size: int) -> np.ndarray:
    """The lede's shingles: `size` of them after the first `skip` (a dateline left in place
    touches only those), moved forward when the text is too short."""
    start = min(skip, max(ordered.size - size, 0))
    return ordered[start : start + size]


@dataclass(frozen=True, eq=False)
class Overlap:
    """Estimated overlap of a new article (full shingle set) with an indexed sketch."""

    resemblance: float  # Jaccard |A∩B| / |A∪B|
    new_inside: float  # share of the new article's shingles found in the indexed one
    indexed_inside: float  # share of the indexed article's shingles found in the new one
    shared: int  # sampled shingles seen in both (the evidence behind the estimates)


def compare(full: np.ndarray, sketch: Sketch) -> Overlap:
    """Overlap of a sorted unique shingle set with a sketch, cut at the sketch's threshold."""
    if not full.size or not sketch.bottom.size:
        return Overlap(0.0, 0.0, 0.0, 0)
    shared = int(np.count_nonzero(_members(sketch.bottom, full)))
    sampled_new = int(np.searchsorted(full, sketch.threshold, side="right"))
    union = sampled_new + sketch.bottom.size - shared
    return Overlap(
        resemblance=shared / union,
        new_inside=shared / max(sampled_new, 1),
        indexed_inside=shared / sketch.bottom.size,
        shared=shared,
    )


def share_inside(values: np.ndarray, sorted_set: np.ndarray) -> float:
    """Fraction of `values` present in `sorted_set` (1.0 when there is nothing to check)."""
    if not values.size:
        return 1.0
    return float(np.count_nonzero(_members(values, sorted_set))) / values.size


def _members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if not sorted_set.size:
        return np.zeros(values.size, dtype=bool)
    index = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[index] == values
