"""Exact and near-duplicate detection that groups articles into story clusters.

Every article gets a cluster id: a new story's id is its own article id, and later copies
(same canonical URL, same folded content, or near-duplicate text: republished with a new
headline/dateline, reformatted, truncated teaser, updated with a new paragraph) carry the
representative's id in `duplicate_of`.

Persistent state lives in three plain mappings passed in (dicts for `newsmon process`,
Faust tables in the stream), written O(1) times per article:
  seen        "a:<article id>" -> [cluster, reason, ts]   decision, for idempotent re-delivery
              "u:<url id>" / "h:<content hash>" -> [cluster, ts]   exact-duplicate keys
  signatures  <article id> -> [cluster, encoded sketch]    indexed articles (representatives
                                                           and a few novel members)
  stories     <cluster id> -> story summary dict
The candidate index (sampled shingle hash -> article ids) is derived from `signatures`
in memory and rebuilt by `rebuild()` after a restart or recovery.
"""
from __future__ import annotations

import functools
from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsmon.core.fingerprint import content_hash, text_words
from newsmon.core.language import identify_language
from newsmon.core.minhash import Overlap, Sketch, Words, distinct, lede, places, resemblance, share_inside
from newsmon.core.text import header_words
from newsmon.core.times import epoch_from_iso, iso_from_epoch
from newsmon.core.urls import article_id as url_id

DAY = 86400.0
_STOCK_PHRASE: tuple = ()  # index value of a key too common to point at anything (falsy: skipped)


@dataclass(frozen=True)
class DedupeConfig:
    window_days: float = 30.0  # state older than this (by last activity) is expired
    shingle_words: int = 4  # words per shingle
    sketch_size: int = 64  # bottom-k sample kept per indexed article
    head_shingles: int = 64  # first shingles kept: where a teaser's or an update's lede sits
    lede_skip: int = 4  # the lede starts after these (a dateline that was not stripped)
    lede_shingles: int = 16  # shingles that make up the lede
    number_limit: int = 32  # distinct numbers kept per indexed article
    index_keys: int = 16  # smallest sampled hashes put in the candidate index
    lede_keys: int = 4  # lede hashes put in the candidate index
    posting_cap: int = 16  # a key shared by this many articles is a stock phrase: dropped from the index
    candidates: int = 8  # best-hit candidates verified per article
    min_shingles: int = 8  # shorter texts are matched exactly only
    whole_containment: float = 0.9  # the shorter text this much inside the other, a lede shared, all numbers there: a copy
    containment: float = 0.4  # else one shared passage holding this share of the shorter text, starting a lede ...
    lede_match: float = 0.5  # ... (this share of either text's lede found in the other)
    unanchored_containment: float = 0.6  # without a shared lede: a larger share ...
    unanchored_shingles: int = 100  # ... and a passage longer than any boilerplate paragraph
    passage_gap: int = 8  # shingles known not to be shared (two changed words) that end a passage
    number_mismatch: float = 0.25  # max share of the new text's numbers in the shared passages missing from the other
    index_novel_below: float = 0.7  # a member this unlike its match is indexed too ...
    indexed_per_story: int = 3  # ... up to this many indexed articles per story
    sources_cap: int = 32  # distinct sources listed per story


@dataclass(frozen=True)
class Decision:
    cluster_id: str
    duplicate_of: str | None
    is_duplicate: bool
    reason: str  # "new" | "url" | "content" | "near"

    @property
    def is_exact_copy(self) -> bool:
        """Another article's very text or URL: counted toward its story, never indexed again."""
        return self.is_duplicate and self.reason in ("content", "url")


@dataclass(eq=False)  # not frozen: built for every article, and a frozen __init__ (a setattr call per field) costs ~1 µs more
class _Features:
    """One article's comparison form, computed once per `assign` (read-only)."""

    sketch: Sketch
    full: np.ndarray  # sorted unique shingle hashes
    ordered: np.ndarray  # shingle hashes in text order
    lede: np.ndarray
    words: Words
    skip: int  # words before the first shingle (header block, dateline)
    keys: tuple[list[int], list[int]]  # the sketch's bottom and lede index keys (`_sketch_keys`)

    @functools.cached_property
    def places(self) -> np.ndarray:
        """Each shingle's index in `full`: asked for only when passages are compared."""
        return places(self.ordered)


class Deduper:
    """Assigns story clusters; see the module docstring for the state it keeps."""

    def __init__(
        self,
        config: DedupeConfig,
        seen: MutableMapping,
        signatures: MutableMapping,
        stories: MutableMapping,
    ) -> None:
        self.config = config
        self.seen, self.signatures, self.stories = seen, signatures, stories
        # Derived, in memory: index key -> article id | [article ids] | _STOCK_PHRASE, and
        # cluster -> its indexed article ids. Sketches themselves are decoded from
        # `signatures` when a candidate is verified, so they are not held twice.
        self._index: dict[int, str | list[str] | tuple] = {}
        self._indexed: dict[str, list[str]] = {}
        self.rebuild()

    # ---- public API -------------------------------------------------------------------

    def assign(
        self,
        *,
        article_id: str,
        canonical_url: str,
        title: str,
        text: str,
        source: str,
        published: str,
        now: float,
        language: str = "",
        topics: Sequence[str] = (),
    ) -> Decision:
        """Cluster one article; re-delivering an article id returns its first decision."""
        known = self.seen.get(f"a:{article_id}")
        if known is not None:
            return _decision(article_id, known[0], known[1])
        words = text_words(text)
        exact_keys = self._exact_keys(article_id, canonical_url, title, text, words)
        cluster, reason, features = self._find(exact_keys, words, text, title)
        if cluster is None:
            cluster, reason = article_id, "new"
            self.stories[cluster] = self._new_story(article_id, canonical_url, title, text, source, language, now, topics)
        else:
            self.stories[cluster] = self._grow_story(self.stories[cluster], source, now, topics)
        if features is not None and self._worth_indexing(cluster, reason, features):
            self._index_article(article_id, cluster, self._index_keys(features.keys))
            self.signatures[article_id] = [cluster, features.sketch.encode()]
        stamp = int(now)
        self.seen[f"a:{article_id}"] = [cluster, reason, stamp]
        for key in exact_keys:
            if key[0] in "uh" and key not in self.seen:  # "a:" keys are only looked up
                self.seen[key] = [cluster, stamp]
        return _decision(article_id, cluster, reason)

    def story(self, cluster_id: str) -> dict:
        """The story summary (Story record fields) of a live cluster."""
        return dict(self.stories[cluster_id])

    def rebuild(self) -> None:
        """Re-derive the in-memory candidate index from the `signatures` mapping."""
        self._index.clear()
        self._indexed.clear()
        for doc, (cluster, encoded) in list(self.signatures.items()):
            self._index_article(doc, cluster, self._index_keys(self._sketch_keys(Sketch.decode(encoded))))

    def expire(self, now: float) -> int:
        """Drop stories idle for longer than the window and everything that points at them."""
        cutoff = now - self.config.window_days * DAY
        dropped = [c for c, s in list(self.stories.items()) if epoch_from_iso(s["last_seen"]) < cutoff]
        for cluster in dropped:
            del self.stories[cluster]
        stale_docs = [d for d, (cluster, _) in list(self.signatures.items()) if cluster not in self.stories]
        for doc in stale_docs:
            self._unindex_article(doc)
            del self.signatures[doc]
        stale_keys = [k for k, v in list(self.seen.items()) if v[-1] < cutoff or v[0] not in self.stories]
        for key in stale_keys:
            del self.seen[key]
        return len(dropped) + len(stale_docs) + len(stale_keys)

    # ---- exact and near matching ----------------------------------------------------------

    def _exact_keys(self, article_id: str, canonical_url: str, title: str, text: str, words: Words) -> list[str]:
        """Keys under which an exact copy would have been recorded: its URL id, its content hash
        (of title and text together when the text is too short to tell articles apart)."""
        keys = []
        if canonical_url:
            by_url = url_id(canonical_url)
            keys += [f"a:{by_url}", f"u:{by_url}"] if by_url != article_id else []
        if words.count >= self.config.min_shingles + self.config.shingle_words:
            keys.append(f"h:{words.digest}")
        elif words.count:
            keys.append(f"h:{content_hash(f'{title} | {text}')}")
        return keys

    def _find(self, exact_keys: list[str], words: Words, text: str, title: str) -> tuple[str | None, str, _Features | None]:
        for key in exact_keys:
            hit = self.seen.get(key)
            if hit is not None and hit[0] in self.stories:
                return hit[0], "content" if key.startswith("h:") else "url", None
        features = self._features(words, header_words(text, title))
        if features is None:
            return None, "new", None
        return self._near(features), "near", features

    def _features(self, words: Words, skip: int) -> _Features | None:
        config = self.config
        skip = min(skip, max(words.count - config.shingle_words, 0))
        hashes = words.shingles(config.shingle_words, skip)
        if hashes.size < config.min_shingles:
            return None
        full = distinct(hashes)
        sketch = Sketch(  # slices: only its encoding and index keys outlive `assign`
            shingles=full.size,
            bottom=full[: config.sketch_size],
            head=hashes[: config.head_shingles],
            numbers=words.numbers(config.number_limit, skip),
        )
        return _Features(sketch, full, hashes, self._lede(hashes), words, skip, self._sketch_keys(sketch))

    def _lede(self, ordered: np.ndarray) -> np.ndarray:
        return lede(ordered, self.config.lede_skip, self.config.lede_shingles)

    def _near(self, features: _Features) -> str | None:
        """The cluster of the best-matching indexed article, if any matches."""
        best, best_score = None, 0.0
        for doc in self._candidates(features.keys):
            cluster, encoded = self.signatures[doc]
            score = self._match(features, Sketch.decode(encoded))
            if score > best_score:
                best, best_score = cluster, score
        return best

    def _candidates(self, keys: tuple[list[int], list[int]]) -> list[str]:
        """Indexed articles sharing at least two index keys (of all `keys`), most shared first."""
        single, shared = [], []
        for postings in filter(None, map(self._index.get, keys[0] + keys[1])):
            (single.append if type(postings) is str else shared.extend)(postings)
        postings = single + shared
        if len(set(postings)) == len(postings):  # no article shares two keys: most new stories
            return []
        hits = Counter(postings)
        return [doc for doc, count in hits.most_common(self.config.candidates) if count >= 2]

    def _match(self, new: _Features, indexed: Sketch) -> float:
        """Similarity score (> 0) if the two are one story: they share one passage that holds at
        least `containment` of the shorter text and starts one of them (its lede), or a larger
        one that no boilerplate paragraph reaches; and the numbers in that passage agree.

        The overlap, not the whole text, is what is compared: copies cut at other points, with a
        header block, a caption, an intro or a trimmed ending share their lede and a passage;
        boilerplate paragraphs share a passage but no lede, a notice on top and a footer shared
        around different news are two short passages, and template reports share their
        sentences but not their figures."""
        config = self.config
        shorter = min(new.sketch.shingles, indexed.shingles)
        overlap = Overlap(new.full, indexed)
        contained = overlap.new_inside() if new.sketch.shingles <= indexed.shingles else overlap.indexed_inside()
        if contained < config.containment:  # an upper bound of what one passage holds: most candidates end here
            return 0.0
        # The shorter text lies inside the other, a lede and the figures included: most copies.
        whole = contained >= config.whole_containment and not self._numbers_missing(new, indexed)
        indexed_lede = self._indexed_lede_found(overlap)  # the cheaper of the two lede checks: asked first
        if whole and indexed_lede:
            return contained
        ledes = (self._new_lede_found(new, overlap), indexed_lede)
        if whole and ledes[0]:
            return contained
        firsts, lasts, shared = overlap.passages(new.ordered, new.places, config.passage_gap)
        anchored = self._anchored(new, overlap, ledes, firsts, lasts)
        if anchored.any() and shared[anchored].max() >= config.containment * shorter:
            passage = int(np.argmax(np.where(anchored, shared, -1.0)))
        else:
            passage = int(np.argmax(shared)) if shared.size else -1
            if passage < 0 or shared[passage] < max(config.unanchored_shingles, config.unanchored_containment * shorter):
                return 0.0
        if self._figures_differ(new, indexed, int(firsts[passage]), int(lasts[passage])):
            return 0.0
        return min(float(shared[passage]) / shorter, 1.0)

    def _new_lede_found(self, new: _Features, overlap: Overlap) -> bool:
        """Whether the new text's lede is found in the indexed one; a lede counts when its first
        half is found too (a brief whose few words of news precede a shared boilerplate paragraph
        shares only its second half)."""
        half = self.config.lede_shingles // 2
        return min(overlap.sketch.shares_estimated(new.lede, (new.lede.size, half))) >= self.config.lede_match

    def _indexed_lede_found(self, overlap: Overlap) -> bool:
        """Whether the indexed text's lede is found in the new one (its first half too, as above)."""
        found = self._lede(overlap.head_found()).tolist()  # whether each of its shingles is in the new text
        return min(_share(found), _share(found[: self.config.lede_shingles // 2])) >= self.config.lede_match

    def _anchored(
        self, new: _Features, overlap: Overlap, ledes: tuple[bool, bool], firsts: np.ndarray, lasts: np.ndarray
    ) -> np.ndarray:
        """Which passages start one of the texts: hold the new text's lede (near its start), or
        the indexed one's lede where the new text has it."""
        anchored = np.zeros(firsts.size, dtype=bool)
        if ledes[0]:
            anchored |= firsts <= self.config.lede_skip + self.config.lede_shingles
        if ledes[1]:
            indexed_lede = np.zeros(overlap.sketch.union.size, dtype=bool)
            indexed_lede[self._lede(overlap.sketch.head_at)] = True
            hits = np.flatnonzero(overlap.in_text(indexed_lede, new.places))
            middle = int(hits[hits.size // 2]) if hits.size else -1
            anchored |= (firsts <= middle) & (middle <= lasts)
        return anchored

    def _numbers_missing(self, new: _Features, indexed: Sketch) -> bool:
        return share_inside(new.sketch.numbers, indexed.numbers) < 1.0

    def _figures_differ(self, new: _Features, indexed: Sketch, first: int, last: int) -> bool:
        """Whether too many numbers of the new text's shared passage (its shingles `first` to
        `last`) are missing from the other text's numbers."""
        if not self._numbers_missing(new, indexed):  # all there: most copies
            return False
        start, stop = new.skip + first, new.skip + last + self.config.shingle_words
        figures = new.words.numbers(2 * self.config.number_limit, start, stop)
        if indexed.numbers.size >= self.config.number_limit:  # only the smallest were kept: compare those
            figures = figures[figures <= indexed.numbers[-1]]
        return 1.0 - share_inside(figures, indexed.numbers) > self.config.number_mismatch

    # ---- derived index ---------------------------------------------------------------------

    def _worth_indexing(self, cluster: str, reason: str, features: _Features) -> bool:
        """Representatives always; members only while novel (a full text after its teaser, an update)."""
        if reason == "new":
            return True
        indexed = self._indexed.get(cluster, [])
        if len(indexed) >= self.config.indexed_per_story:
            return False
        closest = max((resemblance(features.full, Sketch.decode(self.signatures[doc][1])) for doc in indexed), default=0.0)
        return closest < self.config.index_novel_below

    def _index_article(self, doc: str, cluster: str, keys: list[int]) -> None:
        self._indexed.setdefault(cluster, []).append(doc)
        index = self._index
        for key in keys:
            postings = index.get(key)
            if postings is None:
                index[key] = doc  # most keys point at one article: no list for those
            elif type(postings) is str:
                index[key] = [postings, doc]
            elif postings is not _STOCK_PHRASE:
                if len(postings) + 1 >= self.config.posting_cap:
                    index[key] = _STOCK_PHRASE
                else:
                    postings.append(doc)

    def _unindex_article(self, doc: str) -> None:
        cluster, encoded = self.signatures[doc]
        self._indexed[cluster].remove(doc)
        if not self._indexed[cluster]:
            del self._indexed[cluster]
        for key in self._index_keys(self._sketch_keys(Sketch.decode(encoded))):
            postings = self._index.get(key)
            if postings == doc:
                del self._index[key]
            elif type(postings) is list and doc in postings:
                postings.remove(doc)

    def _sketch_keys(self, sketch: Sketch) -> tuple[list[int], list[int]]:
        """The keys a sketch is looked up by (all of its bottom sample, its lede's first hashes);
        those it is indexed under are fewer (`_index_keys`)."""
        return sketch.bottom.tolist(), self._lede(sketch.head)[: self.config.lede_keys].tolist()

    def _index_keys(self, keys: tuple[list[int], list[int]]) -> list[int]:
        return keys[0][: self.config.index_keys] + keys[1]

    # ---- story summaries -------------------------------------------------------------------

    def _new_story(
        self, article_id: str, url: str, title: str, text: str, source: str, language: str, now: float,
        topics: Sequence[str],
    ) -> dict:
        stamp = iso_from_epoch(now)
        return {
            "cluster_id": article_id,
            "article_id": article_id,
            "title": title,
            "url": url,
            "source": source,
            "language": language or identify_language(f"{title}\n{text}"),
            "first_seen": stamp,
            "last_seen": stamp,
            "copies": 1,
            "sources": [source] if source else [],
            "source_count": 1 if source else 0,
            "topics": sorted(set(topics)),
        }

    def _grow_story(self, story: dict, source: str, now: float, topics: Sequence[str]) -> dict:
        """One more copy: counts, sources, and the union of the topics its copies carry (a copy
        cut to its lede may not name the topic the full article did; the story still does)."""
        story = dict(story, copies=story["copies"] + 1, last_seen=iso_from_epoch(now))
        if not set(topics) <= set(story.get("topics", ())):
            story["topics"] = sorted({*story.get("topics", ()), *topics})
        if source and source not in story["sources"]:
            story["source_count"] += 1
            if len(story["sources"]) < self.config.sources_cap:
                story["sources"] = story["sources"] + [source]
        return story


def _share(found: list[bool]) -> float:
    """Fraction of True in `found` (1.0 when there is nothing to check, like `share_inside`)."""
    return sum(found) / len(found) if found else 1.0


def _decision(article_id: str, cluster: str, reason: str) -> Decision:
    duplicate = cluster != article_id
    return Decision(cluster, cluster if duplicate else None, duplicate, reason)


