"""A bench stream shaped like this project's real coverage, for every `newsmon bench` figure.

The older corpus (`corpus.py`: 350 English-like words, short headlines) flattered the
pipeline: real coverage of these subjects is 40 % Cyrillic or Arabic script, article pages
run 600-900 words, a third of the articles name a monitored subject, and a fifth are copies
republished the way aggregators do it. Each of those changes what a stage costs (folding
non-ASCII text, the rule scan on topic-dense text, candidate generation for copies), so the
figures are measured on text like this:

* languages: en 60 %, ru 15 %, fa 15 %, ar 10 %; each language's words are its common words
  (written here, ranked first) followed by a Zipf tail of pseudo-words in its own alphabet;
* lengths: bodies spread around 700 words (lognormal), one article in ten (of all, copies
  counted) a feed teaser of 25-45 words, cut mid-sentence as feeds cut them;
* topics: a third name a monitored subject in their language, in one sentence in four;
* copies: a fifth republish a recent article in one of the real-world shapes: hard-wrapped
  at 60 characters under a header block with a byline and an agency tag and a new headline,
  a photo caption as first line, a trimmed ending, straight quotes, an added intro paragraph;
* markup: paragraphs, a figure with its caption, inline links and entities, as pages give it.

Deterministic for a given seed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from newsmon.core.times import iso_from_datetime
from newsmon.schemas.article import Article

TAIL_WORDS = 20_000
TEASER_SHARE, COPY_SHARE, ON_TOPIC = 0.1, 0.2, 1 / 3


@dataclass(frozen=True)
class Language:
    code: str
    share: float
    alphabet: str
    common: tuple[str, ...]  # most frequent words first
    subjects: tuple[str, ...]  # how its press names the monitored subjects
    dateline: str
    outlets: tuple[str, ...]


LANGUAGES = (
    Language(
        "en", 0.60, "abcdefghijklmnopqrstuvwxyz",
        tuple("the of and to in a said on that for is with was by as at from it has its be are have "
              "will an not which but this after minister were been who also their more two government "
              "foreign country talks new officials agreement state week president told sanctions deal "
              "security nuclear trade oil region people year military council meeting".split()),
        ("the snapback mechanism", "UN sanctions on Iran", "the Bushehr nuclear power plant", "Bushehr",
         "the North-South Transport Corridor", "the INSTC", "the Rasht-Astara railway"),
        "TEHRAN, Nov. {day} ({agency}) -", ("tehrantimes.com", "presstv.ir", "reuters.com", "aljazeera.com", "rferl.org"),
    ),
    Language(
        "ru", 0.15, "абвгдежзийклмнопрстуфхцчшщыьэюя",
        tuple("и в на не что с по о заявил как это из за к его для также от министр россии ирана "
              "глава года стороны мы он было со переговоры санкций соглашение сотрудничество сообщил "
              "страны время президент совета безопасности ядерной торговли будет все был при".split()),
        ("механизм snapback", "механизм восстановления санкций", "АЭС «Бушер»", "Бушерской АЭС",
         "коридор «Север — Юг»", "МТК «Север — Юг»", "железной дороги Решт — Астара"),
        "МОСКВА, {day} ноября. /{agency}/.", ("tass.ru", "ria.ru", "kommersant.ru", "iz.ru"),
    ),
    Language(
        "fa", 0.15, "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی",
        tuple("و در به از که این با را است برای آن می‌شود ایران گفت کرد شده خود وزیر امور خارجه "
              "دولت کشور تحریم‌ها توافق هسته‌ای روسیه همکاری سال نیز هم باید شورای امنیت مذاکرات "
              "رئیس جمهور اعلام بود دیدار تجارت".split()),
        ("مکانیسم ماشه", "اسنپ‌بک", "نیروگاه اتمی بوشهر", "نیروگاه بوشهر", "کریدور شمال-جنوب",
         "راه‌آهن رشت-آستارا"),
        "تهران - {agency} -", ("irna.ir", "mehrnews.com", "isna.ir", "tasnimnews.com"),
    ),
    Language(
        "ar", 0.10, "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
        tuple("في من على إلى أن التي الذي عن مع هذا قال وزير إيران الخارجية كما بين بعد العقوبات "
              "الاتفاق النووي روسيا التعاون الأمن مجلس الرئيس أيضا خلال وقد كان اليوم المحادثات "
              "الدولة".split()),
        ("آلية الزناد", "العقوبات الأممية على إيران", "محطة بوشهر النووية", "مفاعل بوشهر",
         "ممر الشمال-الجنوب", "سكة حديد رشت-آستارا"),
        "طهران - {agency} -", ("aljazeera.net", "almayadeen.net", "asharq.com", "alarabiya.net"),
    ),
)
AGENCIES = ("IRNA", "TASS", "Reuters", "AFP", "Mehr", "ISNA")


@dataclass
class _Vocabulary:
    words: np.ndarray
    cumulative: np.ndarray


def _vocabulary(language: Language, rng: np.random.Generator) -> _Vocabulary:
    """Common words first, then pseudo-words from the alphabet; Zipf weights over all of them."""
    letters = np.array(list(language.alphabet))
    tail = ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(TAIL_WORDS)]
    words = np.array([*language.common, *tail])
    weights = np.cumsum(1.0 / np.arange(1, len(words) + 1))
    return _Vocabulary(words, weights / weights[-1])


def _sentence(rng: np.random.Generator, vocab: _Vocabulary, subject: str = "") -> str:
    words = list(vocab.words[np.searchsorted(vocab.cumulative, rng.random(int(rng.integers(10, 26))))])
    if rng.random() < 0.3:  # figures: what template reports and copies differ in
        words.insert(int(rng.integers(len(words))), str(int(rng.integers(2, 5000))))
    if subject:
        words.insert(len(words) // 2, subject)
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: np.random.Generator, vocab: _Vocabulary, language: Language, words: int) -> list[str]:
    subject = language.subjects[int(rng.integers(len(language.subjects)))] if rng.random() < ON_TOPIC else ""
    paragraphs, count = [], 0
    while count < words:
        paragraph = " ".join(_sentence(rng, vocab, subject if rng.random() < 0.25 else "")
                             for _ in range(int(rng.integers(2, 5))))
        paragraphs.append(paragraph)
        count += paragraph.count(" ") + 1
    return paragraphs


def _teaser(rng: np.random.Generator, vocab: _Vocabulary, language: Language, words: int) -> str:
    """A feed's teaser: the first `words` words of a lede, cut where the feed cut it (whole
    paragraphs would run to 100 words and more, and most "teasers" would not be any)."""
    lede = " ".join(_paragraphs(rng, vocab, language, words)).split()[:words]
    return " ".join(lede).rstrip(".") + " …"


def _page_html(title: str, paragraphs: list[str], caption: str) -> str:
    """Markup as an extracted page or a full-content feed delivers it."""
    body = [f"<p>{p}</p>" for p in paragraphs]
    body.insert(1 if len(body) > 1 else 0, f'<figure><img src="/i.jpg" alt=""><figcaption>{caption}</figcaption></figure>')
    if len(body) > 3:
        body[2] = body[2].replace(" ", ' <a href="/tag/x">', 1).replace(" ", "</a> ", 2)
    return f"<h1>{title}</h1>" + "".join(body).replace(" - ", " &ndash; ")


def _copy(rng: np.random.Generator, title: str, paragraphs: list[str], language: Language,
          vocab: _Vocabulary) -> tuple[str, str]:
    """A republication of an earlier article in one of the shapes aggregators produce."""
    agency = AGENCIES[int(rng.integers(len(AGENCIES)))]
    shape = int(rng.integers(5))
    if shape == 0:  # hard-wrapped under a header block and a new headline
        text = "\n".join(paragraphs)
        wrapped = "\n".join(text[i:i + 60] for i in range(0, len(text), 60))
        header = f"{iso_from_datetime(datetime(2025, 11, 1, tzinfo=UTC))[:10]}\nBy staff writers\n({agency})\n"
        return _sentence(rng, vocab)[:80], f"<pre>{header}{wrapped}</pre>"
    if shape == 1:  # a caption or photo credit as the first line
        return title, "".join(f"<p>{p}</p>" for p in [f"Photo: {agency}. {_sentence(rng, vocab)}", *paragraphs])
    if shape == 2:  # trimmed ending
        keep = max(1, int(len(paragraphs) * rng.uniform(0.4, 0.8)))
        return title, "".join(f"<p>{p}</p>" for p in paragraphs[:keep])
    if shape == 3:  # straight quotes and a dateline
        dateline = language.dateline.format(day=int(rng.integers(1, 29)), agency=agency)
        body = [f"{dateline} {paragraphs[0]}", *paragraphs[1:]]
        return title, "".join(f"<p>{p}</p>" for p in body).replace("«", '"').replace("»", '"')
    intro = " ".join(_sentence(rng, vocab) for _ in range(3))  # the outlet's own intro paragraph
    return title, "".join(f"<p>{p}</p>" for p in [intro, *paragraphs])


def coverage_articles(count: int, seed: int = 7) -> Iterator[Article]:
    """`count` articles shaped like the coverage (see the module docstring)."""
    rng = np.random.default_rng(seed)
    vocabularies = {language.code: _vocabulary(language, rng) for language in LANGUAGES}
    shares = np.cumsum([language.share for language in LANGUAGES])
    start = datetime(2025, 11, 1, tzinfo=UTC)
    recent: dict[str, list[tuple[str, list[str]]]] = {language.code: [] for language in LANGUAGES}
    for i in range(count):
        language = LANGUAGES[int(np.searchsorted(shares, rng.random() * shares[-1]))]
        vocab, originals = vocabularies[language.code], recent[language.code]
        outlet = language.outlets[int(rng.integers(len(language.outlets)))]
        if originals and rng.random() < COPY_SHARE:
            title, content = _copy(rng, *originals[int(rng.integers(len(originals)))], language, vocab)
        else:
            teaser = rng.random() < TEASER_SHARE / (1 - COPY_SHARE)  # a tenth of all articles
            title = _sentence(rng, vocab)[:100].rstrip(".")
            if teaser:
                content = f"<p>{_teaser(rng, vocab, language, int(rng.integers(25, 46)))}</p>"
            else:
                paragraphs = _paragraphs(rng, vocab, language, int(np.clip(rng.lognormal(np.log(700), 0.3), 250, 1600)))
                content = _page_html(title, paragraphs, _sentence(rng, vocab))
                originals[:] = [*originals[-299:], (title, paragraphs)]
        yield Article(
            id=f"coverage-{seed}-{i:08d}",
            url=f"https://www.{outlet}/news/{seed}/{i}",
            title=title,
            content=content,
            published=iso_from_datetime(start + timedelta(seconds=20 * i)),
            source=outlet,
            feed=f"https://www.{outlet}/rss",
        )
