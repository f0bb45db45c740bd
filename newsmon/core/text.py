"""Plain-text helpers shared by normalisation, deduplication and topic tagging.

Feeds deliver the same article as HTML, as escaped HTML, or as text with typographic
quotes and Persian/Arabic letter variants. Everything that compares text (content
fingerprints, shingles, topic rules) must see one canonical form, so the folding rules
live here once. All functions are regex/C-level passes: they run on every article.
"""
from __future__ import annotations

import html
import re
import unicodedata

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
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
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
_WHITESPACE = re.compile(r"\s+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# On folded text: "tehran, nov. 8 (agency) - ", "москва, 8 ноября - ", "تهران - ایرنا - ", "москва. /тасс/. ".
_DATELINE = re.compile(r"^(?:.{0,100}?(?:\s-{1,2}|-{1,2}\s)\s*){1,2}|^.{0,80}?/[^/\s]{2,20}/\.?\s")


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
    """Fold runs of spaces, keep one newline between paragraphs, trim."""
    return _BLANK_LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def fold_text(text: str) -> str:
    """Comparison form: NFKC, quotes/dashes/letter variants folded, one space, casefolded."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _WHITESPACE.sub(" ", text).strip().casefold()


def strip_dateline(folded: str) -> str:
    """Drop a leading dateline ("TEHRAN, Nov. 8 (Agency) -") from `fold_text` output.

    Republished copies differ from the original mostly there; a wrongly cut short first
    clause costs a few shingles, nothing more.
    """
    return _DATELINE.sub("", folded[:200], count=1) + folded[200:]


def detect_language(text: str, sample: int = 2000) -> str:
    """"en" | "ru" | "fa" by dominant script of the first `sample` characters; "" if none."""
    head = text[:sample]
    counts = {
        "ru": len(_CYRILLIC.findall(head)),
        "fa": len(_ARABIC.findall(head)),
        "en": len(_LATIN.findall(head)),
    }
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count else ""
