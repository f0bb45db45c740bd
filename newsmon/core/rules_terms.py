"""Turn rule-file terms into the literal keys one Aho–Corasick pass can find.

Why expand keys instead of normalising the text: lower-casing or translating a 3,000-character
non-ASCII article costs more than the whole scan (str.translate is ~100 ns a character), so the
variants that matter in news text -- case forms, hyphen/dash/space between words, Persian vs
Arabic letter forms, Persian digits -- are generated once at compile time. The text itself gets
only the few cheap fixes that cannot be expanded (ё, diacritics, tatweel, invisible characters),
each gated by a fast substring test.

Term syntax (documented for authors in schemas/topics.yaml and docs/tagging.md):
  words separated by spaces  -> whitespace (or a Persian zero-width non-joiner) between them
  word-word                  -> any hyphen or dash, with or without spaces, or just a space
  trailing *                 -> the last word is a stem: Бушер* matches Бушера, Бушерской
  a word in lower case       -> case-insensitive (lower, Title and UPPER forms of that word)
  a word with a capital      -> that exact case only (UN, E3, INSTC, АЭС)
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

# Between words joined by "-" in a term: every way news text writes a hyphen or dash.
# (Expanding keys is cheaper than rewriting dashes in the text: a scan costs the same
# whatever the number of keys, while each substring rewrite of an article costs microseconds.)
DASH_JOINS = ("-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212",
              " - ", " \u2013 ", " \u2014 ", " ")
SPACE_JOINS = (" ",)
ARABIC_SPACE_JOINS = (" ", "\u200c")  # ZWNJ splits Persian compounds: اسنپ‌بک == اسنپ بک
# Dashes recognised when splitting a term (the author may type any of them).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_TOKEN = re.compile(rf"\s*[{_DASHES}]\s*|[\s\u200c]+")
# Persian text as published mixes Arabic code points for the same letters.
# A text typed on an Arabic keyboard uses the Arabic forms throughout, so each substitution is
# applied to a whole term at once (keeps the key count linear, not exponential, in its length).
_ARABIC_VARIANTS = (("ی", "ي"), ("ک", "ك"), ("آ", "ا"))
_DIGITS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# Removed from the text before scanning: Arabic diacritics, tatweel, invisible joiners.
_INVISIBLE = re.compile("[\u064b-\u065f\u0670\u0640\u200b\u200d\u2060\ufeff\u00ad]+")
_INVISIBLE_PROBES = ("\u00ad", "\u200b", "\u200d", "\u2060", "\ufeff")


class TermSyntaxError(ValueError):
    """A term that cannot be compiled; the rule loader adds file and line."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    joins: tuple[bool, ...]  # per gap: True if the author wrote a dash ("north-south")
    stem: bool

    @property
    def arabic(self) -> bool:
        return any(_ARABIC_SCRIPT.search(w) for w in self.words)


def parse_term(text: str) -> Term:
    """Parse one term as written in the rule file."""
    raw = text.strip()
    if not raw:
        raise TermSyntaxError("empty term")
    stem = raw.endswith("*")
    body = _INVISIBLE.sub("", raw[:-1] if stem else raw).replace("ё", "е").replace("Ё", "Е")
    if "*" in body:
        raise TermSyntaxError(f"'*' is allowed only at the end of a term: {text!r}")
    pieces = _TOKEN.split(body)
    gaps = _TOKEN.findall(body)
    words = tuple(pieces)
    if any(not w for w in words):
        raise TermSyntaxError(f"stray separator in term {text!r}")
    joins = tuple(bool(set(g) & set(_DASHES)) for g in gaps)
    return Term(words, joins, stem)


@functools.lru_cache(maxsize=None)
def surface_forms(term: Term) -> frozenset[str]:
    """Every literal string the scanner should look for to find this term."""
    per_word = [_case_forms(w) for w in term.words]
    gap_forms = [DASH_JOINS if dash else (ARABIC_SPACE_JOINS if term.arabic else SPACE_JOINS)
                 for dash in term.joins]
    forms = set()
    for combo in itertools.product(*per_word):
        for gaps in itertools.product(*gap_forms):
            forms |= _letter_variants(combo[0] + "".join(g + w for g, w in zip(gaps, combo[1:])))
    return frozenset(forms)


def _case_forms(word: str) -> set[str]:
    if word != word.lower():
        return {word}
    return {word, word[:1].upper() + word[1:], word.upper()}


def _letter_variants(phrase: str) -> set[str]:
    forms = {phrase}
    for plain, variant in _ARABIC_VARIANTS:
        forms |= {f.replace(plain, variant) for f in forms if plain in f}
    if any(c.isdigit() for c in phrase):
        forms |= {f.translate(str.maketrans(_DIGITS[0], digits)) for f in forms for digits in _DIGITS[1:]}
    return forms


def prepare(title: str, text: str, language: str) -> bytes:
    """Title and body as the UTF-8 bytes the scanner reads, with the fixes that key expansion
    cannot cover: ё as е, invisible characters and Arabic diacritics/tatweel removed."""
    s = f"{title}\n{text}" if title else text
    if not s.isascii() and language != "en":
        if language in ("", "ru") and ("ё" in s or "Ё" in s):
            s = s.replace("ё", "е").replace("Ё", "Е")
        if language == "fa" or any(p in s for p in _INVISIBLE_PROBES) or (not language and "\u0627" in s):
            s = _INVISIBLE.sub("", s)
    return s.encode()
