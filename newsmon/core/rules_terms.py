"""Turn rule-file terms into the literal keys one Aho–Corasick pass can find.

Why expand keys instead of normalising the text: lower-casing or translating a 3,000-character
non-ASCII article costs more than the whole scan (str.translate is ~100 ns a character), so the
variants that matter in news text -- case forms, hyphen/dash/space between words, Persian vs
Arabic letter forms, Persian digits -- are generated once at compile time. The text itself gets
only the few cheap fixes that cannot be expanded (ё, diacritics, tatweel, invisible characters),
each gated by a fast substring test.

Term syntax (documented for authors in schemas/topics.yaml and docs/tagging.md):
  words separated by spaces  -> whitespace between them; in Arabic script (Persian, Urdu) a
                                space, a zero-width non-joiner or nothing: می شود = می‌شود = میشود
  word-word                  -> any hyphen or dash, with or without spaces, or just a space
  trailing *                 -> the last word is a stem: Бушер* matches Бушера, Бушерской
  a word in lower case       -> case-insensitive (lower, Title and UPPER forms of that word)
  a word with a capital      -> that exact case only (UN, E3, INSTC, АЭС)
Per language: Turkish/Azerbaijani terms get the dotted capital (iran -> İran, İRAN); Arabic terms
get the attached prefixes (the article ال, و ب ل ف, and their combinations) on their first word;
Arabic-script terms get Persian/Arabic yeh and kaf, ta marbuta and final yeh variants.

Every alef form (آ أ إ ٱ) is the bare alef in terms and text alike (`fold_alef`, used by
surface_forms and prepare): one word mixes them with the bare one (الأمم), so no whole-term variant could cover them.
Every apostrophe (’ ‘ ʼ ´ ` ′ ‛) in a term is the straight one, and a term with one gets a form per
APOSTROPHES character, so text keeps its apostrophes (folding them would cost every English article
with typographic quotes a rewrite); the scanner counts ʼ, a letter to Unicode, as no part of a word.

Every expansion is a product, so a term's forms are counted before any is made: a term that
would need more than MAX_FORMS keys is refused with a clear error instead of filling memory
(the dash between words is chosen once per term, not per gap, which keeps hyphenated chains linear).
"""
from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Between words joined by "-" in a term: every way news text writes a hyphen or dash.
# (Expanding keys is cheaper than rewriting dashes in the text: a scan costs the same
# whatever the number of keys, while each substring rewrite of an article costs microseconds.)
DASH_JOINS = ("-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212",
              " - ", " \u2013 ", " \u2014 ", " ",
              "- ", " -", "\u2013 ", " \u2013", "\u2014 ", " \u2014")  # spaced on one side: "Şimal- Cənub"
SPACE_JOINS = (" ",)
# Persian and Urdu write the parts of a word apart, with a ZWNJ or joined, interchangeably:
# می شود = می‌شود = میشود, بین المللی = بین‌المللی = بینالمللی.
ARABIC_SPACE_JOINS = (" ", "\u200c", "")
# A term needing more literal keys than this is an authoring mistake (a long chain of
# hyphenated or lower-case words): refused with a message instead of expanded until MemoryError.
MAX_FORMS = 20_000
# Dashes recognised when splitting a term (the author may type any of them).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_TOKEN = re.compile(rf"\s*[{_DASHES}]\s*|[\s\u200c]+")
# "X‌وY", the Persian compound with و (and): حمل‌ونقل, گفت‌وگو, رفت‌وآمد.
_CONJUNCTION = re.compile("(?<=[\u0600-\u06ff])\u200c\u0648(?=[\u0600-\u06ff]{2})")
# Persian text as published mixes Arabic code points for the same letters, and Arabic text
# writes ta marbuta as heh and final yeh as alef maksura (alef forms are folded: fold_alef).
# A text typed on one keyboard uses one form throughout, so each substitution is applied to a
# whole term at once (keeps the key count linear, not exponential, in its length).
_ARABIC_VARIANTS = (("ی", "ي"), ("ک", "ك"), ("ة", "ه"))
# Folded to the bare alef in terms and text (fold_alef); each has the bare alef's UTF-8 width,
# so offsets in the text stay where they were.
_ALEFS = "\u0622\u0623\u0625\u0671"  # آ أ إ ٱ
# Every way copy writes an apostrophe: a term's are folded to the first, and expanded to all.
APOSTROPHES = "'\u2019\u2018\u02bc\u00b4`\u2032\u201b"
_TO_STRAIGHT = str.maketrans(dict.fromkeys(APOSTROPHES[1:], "'"))
_FINAL_YEH = re.compile("[يی](?= |\u200c|$)")
# Arabic attaches the article and one-letter particles to the word: البوشهر, وبوشهر, للمحطة.
_ARABIC_PREFIXES = ("", "ال", "و", "ب", "ل", "ف", "وال", "بال", "لل", "فال", "وب", "ول", "ولل")
_TURKIC = frozenset({"tr", "az"})
_DIGITS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# Removed from the text before scanning: Arabic diacritics, tatweel, invisible joiners (the scanner
# also looks for each, to tell when a text has any: prepare's `strip`).
INVISIBLE = "".join(map(chr, range(0x064B, 0x0660))) + "\u0670\u0640\u200b\u200d\u2060\ufeff\u00ad"
_INVISIBLE = re.compile(f"[{INVISIBLE}]+")
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
    body = body.translate(_TO_STRAIGHT)
    if "*" in body:
        raise TermSyntaxError(f"'*' is allowed only at the end of a term: {text!r}")
    body = _CONJUNCTION.sub("\u200c\u0648\u200c", body)  # حمل‌ونقل: the parts are حمل, و, نقل
    pieces = _TOKEN.split(body)
    gaps = _TOKEN.findall(body)
    words = tuple(pieces)
    if any(not w for w in words):
        raise TermSyntaxError(f"stray separator in term {text!r}")
    joins = tuple(bool(set(g) & set(_DASHES)) for g in gaps)
    return Term(words, joins, stem)


@functools.cache
def surface_forms(term: Term, language: str = "") -> frozenset[str]:
    """Every literal string the scanner should look for to find this term (written in
    `language`, which selects Turkish casing and Arabic prefixes). Raises TermSyntaxError
    if that is more than MAX_FORMS strings."""
    per_word = [_case_forms(w, language in _TURKIC) for w in term.words]
    if language == "ar":
        per_word[0] = {p + base for p in _ARABIC_PREFIXES for base in {_without_article(w) for w in per_word[0]}}
    space_forms = ARABIC_SPACE_JOINS if term.arabic and language != "ar" else SPACE_JOINS
    spaces = [space_forms for dash in term.joins if not dash]
    dashes = DASH_JOINS if any(term.joins) else ("",)
    count = len(dashes) * _product(len(f) for f in per_word + spaces) * _letter_variant_bound(term)
    if count > MAX_FORMS:
        raise TermSyntaxError(
            f"term {' '.join(term.words)!r} would need about {count} literal forms (at most {MAX_FORMS}): "
            "write it shorter, or with capitals where the case is known"
        )
    forms = set()
    for combo in itertools.product(*per_word):
        for dash in dashes:
            for between in itertools.product(*spaces):
                gaps = iter(between)
                joined = combo[0] + "".join((dash if is_dash else next(gaps)) + w
                                            for is_dash, w in zip(term.joins, combo[1:]))
                forms |= _letter_variants(joined)
    return frozenset(forms)


def _product(sizes: Iterable[int]) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


def _case_forms(word: str, turkic: bool = False) -> set[str]:
    if word != word.lower():
        return {word}
    forms = {word, word[:1].upper() + word[1:], word.upper()}
    if turkic:  # Turkish and Azerbaijani capitalise i as İ (and ı as I, which upper() does)
        dotted = word.replace("i", "İ")
        forms |= {dotted[:1] + word[1:], dotted.upper()}
    return forms


def _without_article(word: str) -> str:
    return word[2:] if word.startswith("ال") and len(word) > 3 else word


def _letter_variant_bound(term: Term) -> int:
    letters = "".join(term.words)
    pairs = sum(1 for plain, _ in _ARABIC_VARIANTS if plain in letters) + bool(_FINAL_YEH.search(" ".join(term.words)))
    return 2 ** pairs * (len(_DIGITS) if any(c.isdigit() for c in letters) else 1) * (
        len(APOSTROPHES) if "'" in letters else 1)


def _letter_variants(phrase: str) -> set[str]:
    forms = {fold_alef(phrase)}  # after the prefixes: آلية is not the article + ية
    for plain, variant in _ARABIC_VARIANTS:
        forms |= {f.replace(plain, variant) for f in forms if plain in f}
    if _FINAL_YEH.search(phrase):
        forms |= {_FINAL_YEH.sub("ى", f) for f in forms}
    if "'" in phrase:
        forms |= {f.replace("'", mark) for f in forms for mark in APOSTROPHES[1:]}
    if any(c.isdigit() for c in phrase):
        forms |= {f.translate(str.maketrans(_DIGITS[0], digits)) for f in forms for digits in _DIGITS[1:]}
    return forms


def fold_alef(s: str) -> str:
    """`s` with every alef form as the bare alef: the folding terms (surface_forms) and Arabic-script
    text (prepare) share. A form costs one substring test when absent; str.translate would cost
    ~100 ns a character."""
    for alef in _ALEFS:
        if alef in s:
            s = s.replace(alef, "\u0627")
    return s


def prepare(title: str, text: str, strip: bool = True) -> bytes:
    """Title and body as the UTF-8 bytes the scanner reads, with the fixes that key expansion
    cannot cover: ё as е; in Arabic script, alef forms folded (fold_alef), invisible characters and
    diacritics/tatweel removed.

    Decided by what the text contains, not by its language label, so a text identified as a
    close language (Ukrainian for Russian, Persian for Arabic) gets the same fixes.
    With `strip` false the invisible characters stay (the regex removing them reads an Arabic
    article at ~7 ns a character, and news text seldom has any): the bytes are the same when the
    text has none of INVISIBLE, which the scanner tells from its matches (Scanner.marked)."""
    s = f"{title}\n{text}" if title else text
    if not s.isascii():
        if "ё" in s or "Ё" in s:
            s = s.replace("ё", "е").replace("Ё", "Е")
        if not strip:
            if "\u0627" in s:  # with one of _INVISIBLE_PROBES and no alef: those are found, and stripped then
                s = fold_alef(s)
        elif "\u0627" in s or any(probe in s for probe in _INVISIBLE_PROBES):  # alef: Arabic script
            s = fold_alef(_INVISIBLE.sub("", s))
    return s.encode()
