"""Plain-text helpers shared by normalisation, deduplication and topic tagging.

Feeds deliver the same article as HTML, as escaped HTML, or as text with typographic
quotes and Persian/Arabic letter variants. Everything that compares text (content
fingerprints, shingles, topic rules) must see one canonical form, so the folding rules
live here once.

Everything runs on every article, so folding is table-driven: the text becomes a numpy
array of UTF-16 code units, one lookup per character folds it, masks collapse spaces. Python's
per-character `str.translate` and match-heavy `re.sub` cost ten times as much.
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata

import numpy as np

_DROPPED_ELEMENTS = re.compile(
    r"<(script|style|noscript|template|svg|head|nav|footer|aside|form|iframe|object)\b[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|header|pre|hr|dd|dt|figcaption)\b[^>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_PRINTABLE_ASCII = bytes(code for code in range(128) if chr(code).isprintable()) + b"\n"
_SPACE_RUN = re.compile("   *")  # two literal spaces first: the regex skips to them in C
_MARKUP_HINT = re.compile(r"<[a-zA-Z/!]|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")

# One code point -> one canonical code point (or deletion). NFKC already folds
# compatibility forms (full-width letters, Arabic presentation forms, ligatures).
_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\u2039\u203a", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
        "\u0649": "\u06cc",  # alef maksura -> Persian yeh
        "\u0643": "\u06a9",  # Arabic kaf -> Persian keheh
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u0623": "\u0627",  # alef with hamza above -> alef
        "\u0625": "\u0627",  # alef with hamza below -> alef
        "\u0671": "\u0627",  # alef wasla -> alef
        "\u066b": ".",  # Arabic decimal separator
        "\u066c": ",",  # Arabic thousands separator
        "\u0451": "\u0435",  # ё -> е (Russian texts use both)
        "\u0401": "\u0415",  # Ё -> Е
        "\u200c": " ",  # ZWNJ: Persian half-space, written as space or nothing interchangeably
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **dict.fromkeys(
            [chr(c) for c in range(0x064B, 0x0660)]  # harakat
            + ["\u0670", "\u0640", "\u200d", "\u200e", "\u200f", "\ufeff", "\u00ad"],  # dagger alef, tatweel, ZWJ, marks
            None,
        ),
    }
)
_FOLDED, _WORDS = 0, 1  # which of _tables()
_SPACE, _BMP, _DROP = 0x20, 0x10000, 0xFFFF  # U+FFFF is a non-character: free as a marker
_WORD_SEPARATORS = re.compile(r"[\W_]+")
# On folded text: "tehran, nov. 8 (agency) - ", "москва, 8 ноября - ", "تهران - ایرنا - ", "москва. /тасс/. ".
_DATELINE = re.compile(  # may follow a byline line: "By Staff\nTEHRAN, Nov. 8 (Agency) - "
    r"^\s*(?:.{0,100}?(?:\s[-\u2010-\u2015]{1,2}|[-\u2010-\u2015]{1,2}\s)\s*){1,2}|^\s*.{0,80}?/[^/\s]{2,20}/\.?\s",
    re.DOTALL,
)
_DATELINE_HINT = re.compile(r"[-\u2010-\u2015/]")
HEADER_LINES, HEADER_LINE_CHARS, HEADER_SCAN_CHARS = 6, 48, 800  # header_words: at most 6 lines, "short" < 48 chars
DATELINE_SCAN_CHARS = 300  # dateline_words reads no further
_SENTENCE_END = tuple(".!?…:;\"'»”؟")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: paragraphs on their own lines, entities decoded."""
    if not _MARKUP_HINT.search(markup):
        return _tidy(markup)
    markup = _COMMENT.sub(" ", markup)
    markup = _DROPPED_ELEMENTS.sub(" ", markup)
    markup = _BLOCK_TAG.sub("\n", markup)
    markup = _ANY_TAG.sub(" ", markup)
    return _tidy(html.unescape(markup))


def _tidy(text: str) -> str:
    """Fold runs of spaces, keep one newline between paragraphs, trim: each line as
    `" ".join(line.split())`, blank lines dropped.

    Whole-text C passes, not a Python call per line (a 4 KB article has ~30 lines, half of
    them blank): on a printable line (every whitespace character but the space is
    unprintable) folding is a strip and, across the text, collapsing runs of spaces. A
    `\\s*\\n` regex instead retries at every space and costs more than the rest together."""
    lines = text.split("\n")
    if not _plain_spaces(text, lines):  # tabs, CR, NBSP, other spaces: split the unprintable lines
        lines = [line if line.isprintable() else " ".join(line.split()) for line in lines]
    tidy = "\n".join(filter(None, map(str.strip, lines)))
    return _SPACE_RUN.sub(" ", tidy) if "  " in tidy else tidy


def _plain_spaces(text: str, lines: list[str]) -> bool:
    """Whether no line holds a whitespace character but the space: every line printable, an
    ASCII text told in one bytes pass (deleting the printable bytes leaves nothing), a fifth of
    str.isprintable's cost. Persian text is unprintable for its zero-width non-joiners (no
    space), so it is asked again without them rather than split word by word."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    if all(map(str.isprintable, lines)):
        return True
    return "\u200c" in text and text.replace("\u200c", "").replace("\n", " ").isprintable()


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Per BMP code point: its folded code point (_DROP = drop, 0x20 = space), and the same
    with every non-word character 0."""
    folded = []
    for code in range(_BMP):
        char = _FOLD.get(code, chr(code))
        folded.append(_DROP if not char else _SPACE if char.isspace() else ord(char.lower()[0]))
    fold = np.array(folded, dtype=np.uint16)
    word = np.where([code == _DROP or chr(code).isalnum() for code in folded], fold, 0).astype(np.uint16)
    return fold, word


@functools.cache
def _ascii_table(kind: int) -> bytes:
    """`_tables()[kind]` for ASCII as a bytes.translate table: one C pass per text, not numpy's
    index conversion and gather."""
    return _tables()[kind][:128].astype(np.uint8).tobytes() + bytes(128)


def _codepoints(text: str) -> np.ndarray:
    """UTF-16 code units of `text`: code points, except that a character beyond the BMP
    (emoji) is a surrogate pair, which the tables treat as a non-word."""
    return np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)


def _fold_with(kind: int, text: str) -> np.ndarray:
    if text.isascii():  # NFKC keeps ASCII, no ASCII character is dropped or folds beyond ASCII
        return np.frombuffer(text.encode("ascii").translate(_ascii_table(kind)), dtype=np.uint8).astype(np.uint16)
    points = _tables()[kind].take(_codepoints(unicodedata.normalize("NFKC", text)))
    dropped = points == _DROP
    return points[~dropped] if dropped.any() else points


def fold_text(text: str) -> str:
    """Comparison form: NFKC, quotes/dashes/letter variants folded, one space, lower case."""
    points = _fold_with(_FOLDED, text)
    space = points == _SPACE
    keep = ~space
    keep[1:] |= ~space[:-1]
    return points[keep].tobytes().decode("utf-16-le", "surrogatepass").strip()


def word_chars(text: str) -> np.ndarray:
    """`text` folded like `fold_text`, as uint16 code units, with every character that is not
    part of a word (punctuation, spaces) a 0: words are the runs of non-zero code points."""
    return _fold_with(_WORDS, text)


def header_words(text: str, title: str = "") -> int:
    """How many words a leading header block takes: the category, headline, date, byline,
    agency and caption lines an aggregator or agency page puts above the text ("World", a
    headline, "08.11.2025, 14:32", "By Staff", "(IRNA)", "Photo: AFP"), then the dateline.

    A header line is not a sentence (no sentence-final punctuation), and it is short (under
    HEADER_LINE_CHARS), or the article's title, or stands alone: a blank line, a short
    non-sentence line or the title follows it. A sentence ends the header, and so does a
    hard-wrapped body line: its continuation follows it directly, and the paragraph's last
    line ends a sentence. A brief's one line of news is a sentence, so it is never skipped.
    """
    first = text.find("\n", 0, HEADER_SCAN_CHARS)
    if first < 0 or (first >= HEADER_LINE_CHARS and text[:first].rstrip().endswith(_SENTENCE_END)):
        return dateline_words(text)  # the first line is a paragraph: no header block (most texts)
    raw = text[:HEADER_SCAN_CHARS].split("\n")
    raw = raw[:-1] if len(text) > HEADER_SCAN_CHARS else raw  # the last line may be cut by the scan
    lines = [*map(str.strip, raw), ""]
    title = " ".join(title.split())
    count, rest, taken = 0, 0, 0
    for index, line in enumerate(lines[:-1]):
        if line:
            following = lines[index + 1]
            header = taken < HEADER_LINES and not line.endswith(_SENTENCE_END) and (
                len(line) < HEADER_LINE_CHARS
                or line == title
                or not following
                or following == title
                or (len(following) < HEADER_LINE_CHARS and not following.endswith(_SENTENCE_END))
            )
            if not header:
                break
            count, taken = count + len(_WORD_SEPARATORS.sub(" ", line).split()), taken + 1
        rest += len(raw[index]) + 1
    return count + dateline_words(text[rest : rest + DATELINE_SCAN_CHARS])  # not a copy of the whole rest


def dateline_words(text: str) -> int:
    """How many words a leading dateline ("TEHRAN, Nov. 8 (Agency) -") takes.

    Republished copies differ from the original mostly there; a short first clause taken
    for a dateline by mistake costs a few shingles, nothing more.
    """
    head = text[:DATELINE_SCAN_CHARS]
    found = _DATELINE.match(head) if _DATELINE_HINT.search(head, 0, 120) else None
    return len(_WORD_SEPARATORS.sub(" ", found.group()).split()) if found else 0
