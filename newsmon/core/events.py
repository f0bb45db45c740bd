"""Events: every report of one happening, in any wording or language, in one story.

Copy groups (`cluster_id`, newsmon.core.dedupe) join the same text republished; an event
joins forty outlets' own articles about it, in English, Russian, Persian or Arabic. The
clusterer is online, like the rest of the stream:

* **on arrival** an article's copy group decides first: a group already in a story stays
  there (copies always share their group's story, and a re-delivered article finds its
  story again without counting twice). The first article of a new group is compared with
  the live stories and joins the best one above the threshold, or starts a new story.
* **features** are language-independent keys computed from the headline and the lede
  (the first `lede_chars` of the text, where a report says who did what): every word
  becomes a *sound skeleton* -- transliterated from Latin, Cyrillic or Arabic script to
  consonant classes, vowels dropped -- so that Araghchi, Arakchi, Аракчи and عراقچی are one
  key; a small cross-language lexicon maps the words that are not transliterated (Iran /
  Иран / ایران / إيران, sanctions / санкции / تحریم / عقوبات, snapback / مکانیسم ماشه) to
  one concept key; numbers are keys; the article's topics (the monitored subjects) are keys.
  What every report carries whatever its event is no key: agency tags of datelines (РИА
  Новости, ایرنا, سبوتنيك), weekdays, month names and the day of the month beside them.
  Within one language the skeletons are the words themselves (a little coarser), so one
  weighting serves both: tf-idf, idf from how many live stories use a key.
* **a story's features grow**: its centroid is the sum of its reports' key vectors with
  exponential time decay (`half_life_days`), cut to its `centroid_keys` heaviest keys, and
  its names (keys that look like proper names, numbers, concepts) are kept for matching
  across languages. Copies add nothing to the centroid: forty reprints of one wire text
  must not outvote the independent reports.
* **joining**: cosine of tf-idf vectors >= `same_language` when the story already has a
  report in the article's language; across languages (fewer shared keys by nature) cosine
  >= `cross_language` and at least `cross_names` shared names; a name more than
  `common_names` live stories have (Tehran in an Iran monitor) is no evidence. Only stories
  active within `window_days` of the article's own time are candidates, and stories idle that
  long expire.
* **merges, never silent rewrites**: when an article matches two live stories well
  (both >= `merge` x their threshold, the second nearly as well as the best), the younger is
  merged into the older: it gets `merged_into`, its copy groups follow the survivor from
  then on, its counts are added.
  Articles already assigned keep their story id; the absorbed story's document stays (with
  `merged_into`) for the index and the alert stage to see.

State is one record per story in a mapping passed in (a dict for `newsmon process`, a
changelog-backed Faust table in the stream), kept in memory and written back by `flush()`
once per batch for every story touched. The candidate index and copy-group map are derived
from the records and rebuilt after a restart (`rebuild`).
"""
from __future__ import annotations

import math
import re
import sys
from collections import Counter
from itertools import chain, compress, repeat
from operator import is_, itemgetter
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import cast

from newsmon.core.times import TimeFormatError, epoch_from_iso, iso_from_epoch

DAY = 86400.0
SOURCES_CAP = 32
WORD_CACHE = 100_000  # words whose keys are remembered (per script kind, _Memo), then forgotten all at once
NORM_DRIFT = 0.25  # a story's cached norm is recomputed when the live stories changed by this share


@dataclass(frozen=True)
class EventConfig:
    window_days: float = 4.0  # a story idle (by event time) this long takes no more reports and expires
    half_life_days: float = 2.0  # centroid weights halve over this much event time
    lede_chars: int = 200  # text after the headline that features are taken from
    centroid_keys: int = 40  # heaviest keys kept per story
    names_kept: int = 40  # cross-language anchors kept per story
    candidates: int = 4  # stories sharing most names with the article that are scored
    posting_cap: int = 24  # a key in more live stories than this finds no candidates (it is still scored)
    same_language: float = 0.35  # cosine to join a story that has a report in the article's language ...
    same_names: int = 3  # ... sharing at least this many names with it (the event's actors, places, figures)
    cross_language: float = 0.05  # cosine to join a story in other languages only ...
    cross_names: int = 3  # ... sharing at least this many names (entities, numbers, concepts)
    merge: float = 1.4  # a second story matched this far above its threshold is merged in ...
    merge_close: float = 0.8  # ... if it matched at least this share of the best one's ratio
    common_names: int = 6  # a name more live stories have than this (and than `common_share` of them) ...
    common_share: float = 0.02  # ... counts as no shared name


@dataclass(frozen=True)
class EventDecision:
    story_id: str
    reason: str  # "new" | "copy" (the copy group's story) | "event" (joined by its features)
    merged: tuple[str, ...] = ()  # stories merged into `story_id` by this article

    @property
    def touched(self) -> tuple[str, ...]:
        return (self.story_id, *self.merged)


@dataclass(frozen=True, eq=False)
class Features:
    """One article's keys: tf weights (summing to 1) and the subset that may anchor across languages."""

    terms: dict[str, float]
    names: frozenset[str]
    probe: set[str]  # keys candidates are looked up by: the names and the headline's keys


# ---- transliteration to sound skeletons --------------------------------------------------

_CLASSES = {  # output class: the letters of each script that sound alike
    "k": "kqgcx" "кгх" "\u06a9\u0643\u0642\u06af\u063a\u062e",
    "s": "sz" "сзшщжц" "\u0633\u0635\u062b\u0634\u0632\u0630\u0636\u0638\u0698",
    "c": "j" "ч" "\u0686\u062c",
    "t": "td" "тд" "\u062a\u0637\u062f",
    "p": "pb" "пб" "\u067e\u0628",
    "l": "l" "л" "\u0644",
    "r": "r" "р" "\u0631",
    "m": "m" "м" "\u0645",
    "n": "n" "н" "\u0646",
}
# Silent letters become "_", removed after. v and f are silent too: Persian writes v as a vowel
# letter (لاوروف), Arabic as f (لافروف), so Lavrov / Лавров / لاوروف / لافروف are all "lr".
_SILENT = "aeiouyvwhf" "аеёиоуыэюяйьъвф" "\u0627\u0622\u06cc\u064a\u0649\u0648\u0624\u0626\u0621\u0639\u0647\u0629\u062d\u0641"
_SKELETON = str.maketrans({**{ch: out for out, letters in _CLASSES.items() for ch in letters}, **dict.fromkeys(_SILENT, "_")})
# Russian case endings that are consonants (instrumental -ом/-ем/-ым/-ами, locative plural -ах):
# "с Аббасом Аракчи", "с Лавровым" would otherwise not be the name's skeleton. Not -им/-ам,
# which end names (Ибрагим).
_CASE_ENDING = re.compile("(?<=[\u0430-\u044f]{3})(?:ом|ем|ём|ым|ами|ями|ах|ях)(?!\\S)")
_DOUBLES = tuple((out, out + out) for out in _CLASSES)
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”„‘’‚—–―‐‑…·•،؛؟٪\u00a0\u200b"
_ASCII_CLEAN = bytes(32 if chr(b) in _PUNCTUATION else b for b in range(256))
_CLEAN = {  # what `_clean` makes of each character it changes
    **dict.fromkeys(_PUNCTUATION, " "),
    "\u200c": "", "\u0640": "", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0629": "\u0647",
    **dict.fromkeys([chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"], ""),
    **{chr(0x06F0 + d): str(d) for d in range(10)},
    **{chr(0x0660 + d): str(d) for d in range(10)},
}
_SPACED = re.compile("[%s]" % re.escape("".join(ch for ch, out in _CLEAN.items() if out == " ")))
_DROPPED = re.compile("[%s]" % re.escape("".join(ch for ch, out in _CLEAN.items() if out == "")))
_FOLDED = tuple((ch, out) for ch, out in _CLEAN.items() if out.strip())
_FOLDABLE = re.compile("[%s]" % re.escape("".join(ch for ch, out in _CLEAN.items() if out != " ")))

# Function words of the four languages, and words every report has whatever its event
# (weekdays, "today"): never keys. Folded as the text is when the module loads.
_STOP = """
a an the of in on at to for from by with and or but as is are was were be been has have had
that this these those it its their his her they he she we you not no will would can could may
after before over under about into than then there here also said says say new more most
what who which when where why how all any some one two three other such while amid against
monday tuesday wednesday thursday friday saturday sunday today yesterday
и в во на с со к по о об от до из за для не что как это этот эта его ее их он она они мы
был была были будет также после при уже или но а то же ли бы так который которые заявил
сообщил сказал года году г
понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье сегодня вчера
و در به از که این آن با را برای تا بر یا هم نیز شد شده است بود کرد کرده می گفت گفته های ها
وی او ما آنها خود پس پیش روز سال اما اگر هر یک دو سه بین
شنبه یکشنبه دوشنبه سه‌شنبه چهارشنبه پنجشنبه جمعه امروز دیروز صبح عصر ظهر شامگاه بامداد
في من على إلى عن مع أن ان إن هذا هذه ذلك التي الذي التى كان قد لا ما كما بعد قبل حول
عند أو او ثم بين وقال قال وقد وفي كل منذ خلال
السبت الأحد الاثنين الثلاثاء الأربعاء الخميس الجمعة اليوم أمس يوم
"""
# What outlets put on every report, whatever its event: agencies in datelines and credits
# ("МОСКВА, 1 дек – РИА Новости.", "تهران- ایرنا-", "موسكو - سبوتنيك.", "(MNA)", "/Корр./").
_TAGS = """
reuters afp ap tass ria novosti interfax irna isna ilna tasnim mna mehr fars sputnik anadolu xinhua dpa
корр риа новости тасс интерфакс ирна спутник
ایرنا ایسنا ایلنا تسنیم مهر فارس خبرگزاری باشگاه خبرنگاران جوان خبرنگار شانا ایمنا
سبوتنيك أنباء الأنباء رويترز الأناضول وام واس سانا قنا
"""
# Month names: a date of the month says when, not what (the window already keeps time), and
# two events of one day share it. The month and a day number beside it are dropped.
_MONTH_NAMES = """
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
января февраля марта апреля мая июня июля августа сентября октября ноября декабря
январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь
янв фев мар апр июн июл авг сен сент окт ноя нояб дек
فروردین اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند
ژانویه فوریه مارس آوریل مه ژوئن ژوئیه اوت سپتامبر اکتبر نوامبر دسامبر
يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر
كانون شباط آذار نيسان أيار حزيران تموز أيلول تشرين
"""
# The Arabic article and the particles written onto it (al-, wa-l-, bi-l-, li-l-): Arabic
# writes al-Sudani, al-Kremlin as one word, English and Persian without it.
_ARTICLE = re.compile("(?<!\\S)(?:[\u0648\u0641\u0628\u06a9]?\u0627\u0644|\u0644\u0644)(?=\\S\\S\\S)")


def _fold_words(words: str, arabic: bool = False) -> list[str]:
    """Words folded as `features` folds the text (and without the article, for Arabic)."""
    folded = _clean(words).lower()
    return (_ARTICLE.sub("", folded) if arabic else folded).split()


def _concepts() -> dict[str, str]:
    """Stem (first 5 letters of a folded word; a 4-letter stem matches longer words, a shorter
    one only itself) -> concept key, for names and words that are translated rather than
    transliterated. Small on purpose: the sound skeletons carry the names; these are the
    subjects monitored and the actions that tell their events apart."""
    table = {
        "iran": "iran иран ایران ايران ایرانی iranian иранск",
        "russia": "russia росси روسیه روسي russian московск",
        "moscow": "moscow москв مسکو موسکو",
        "tehran": "tehran тегер تهران طهران",
        "us": "us usa washington сша вашин آمریک امریک واشنگ أمريك امريك ولايات",
        "un": "un оон سازمان أمم",
        "security-council": "council совбе совет شورای مجلس",
        "iaea": "iaea магат آژانس وكالة طاقة grossi гросс گروسی غروسي",
        "e3": "e3 е3 евротр тройк troika تروئی ترویک تروی ترويك europe европ اروپا اروپ أوروب اوروب",
        "eu": "eu ес اتحاد",
        "israel": "israel израи اسرائ إسرائ اسراي",
        "china": "china китай چین صين",
        "uk": "uk brita briti брита англи انگلی انگلستان بریتانیا بريطانيا",
        "germany": "germa герма آلمان ألمانيا",
        "turkey": "turke turki турци турец ترکیه تركيا",
        "egypt": "egypt египе مصر مصري",
        "saudi": "saudi саудо عربستان السعودية",
        "uae": "uae emira эмира оаэ امارات الإمارات",
        "japan": "japan япони ژاپن اليابان",
        "india": "india индия индий هند الهند",
        "sanctions": "sanct санкц تحریم عقوبا",
        "snapback": "snapb снэпб снепб ماشه trigge триггер",
        "nuclear": "nucle ядерн атомн هسته نووي nuclea",
        "treaty": "treat pact agree догов соглаш пакт معاهد پیمان توافق قرارد اتفاق",
        "talks": "talks negot перег مذاکر مفاوض محادث",
        "call": "phone telep телеф تلفن هاتف اتصا مکالم",
        "meeting": "meet встре دیدار ملاقا لقاء اجتما переговоры",
        "visit": "visit визит سفر زيار",
        "attack": "attac strik удар атак حمله هجوم ضرب",
        "killed": "kille dead death погиб убит کشته جانباخ قتل مقتل",
        "election": "elect выбор انتخا",
        "earthquake": "earth quake землет زلزل",
        "oil": "oil нефт نفت نفط",
        "gas": "gas газ گاز غاز",
        "bushehr": "bushe бушер بوشهر",
        "rosatom": "rosat росат روساتم",
        "corridor": "corri корид کریدو ممر",
        "railway": "railw rail желез راهآه سکک",
        "caspian": "caspi каспи خزر قزوین",
        "foreign-minister": "fm",
        "minister": "minis минис وزیر وزير",
        "president": "presi прези رئیس رییس رئيس",
        "respond": "respo reply ответ پاسخ واکنش الرد رد",
        "condemn": "conde осужд محکوم أدان ادان",
        "launch": "launc activ запус активи فعال آغاز تفعي",
        "effect": "effec вступ ступи reimp restor возоб восст اجرا بازگ سريا عودة",
        "vote": "vote голос رای رأی تصویت",
        "resolution": "resol резол قطعن قرار",
        "enrichment": "enric обога غنیس تخصيب",
        "uranium": "urani уран اورانیوم يورانيوم",
        "inspectors": "inspe инспе بازرس مفتش",
        "agency": "agenc агент",
    }
    return {  # each stem as Persian text folds it and as Arabic text does (without the article)
        folded[:5]: f"{'+' if concept in _ACTIONS else '#'}{concept}"
        for concept, stems in table.items() for arabic in (False, True) for folded in _fold_words(stems, arabic)
    }


# Roles and actions ("minister", "met", "visit", "condemned"): they tell events of the same actors
# apart, but say nothing of *which* actors: they count among the names two reports share ("+")
# only beside an actor, place or figure: two ministers meeting elsewhere is not this event.
_ACTIONS = frozenset("""
talks meeting visit attack killed election respond condemn launch effect vote minister president
foreign-minister agency inspectors call
""".split())


def _clean(text: str) -> str:
    """Punctuation to spaces, Arabic-script letter variants and digits folded (`_CLEAN`). Not by
    str.translate, which looks up each character of a non-ASCII text (17 µs for a headline and
    lede): ASCII through bytes, else a regex per kind of change and a replace per folded letter,
    in Arabic script only (all that is folded or dropped is)."""
    if text.isascii():
        return text.encode().translate(_ASCII_CLEAN).decode()
    text = _SPACED.sub(" ", text)
    if _FOLDABLE.search(text):
        text = _DROPPED.sub("", text)
        for letter, folded in _FOLDED:
            text = text.replace(letter, folded)
    return text


_MONTHS = frozenset(_fold_words(_MONTH_NAMES))
_DROP = frozenset(_fold_words(_STOP + _TAGS)) | frozenset(_fold_words(_STOP + _TAGS, arabic=True)) | _MONTHS
_CONCEPT = _concepts()
# A decimal or thousands mark between digits (any script); the mark first, so a search skips
# to the marks instead of trying the lookbehind at every character (3x faster).
_DECIMAL = re.compile(r"[.,\u066b\u066c](?<=\d.)(?=\d)")
_ARABIC_ONLY = re.compile("[\u064a\u0629\u0643]")  # yeh, teh marbuta, kaf: Arabic spellings Persian does not use


def features(title: str, text: str, topics: Sequence[str] = (), lede_chars: int = 200, language: str = "") -> Features:
    """The article's keys from its headline (counted twice: it names the event) and lede."""
    lede = text[:lede_chars]
    if _DECIMAL.search(lede) or _DECIMAL.search(title):  # 5.8, 4,5, ۵.۵, 1,300,000: one figure, one key
        title, lede = _DECIMAL.sub("", title), _DECIMAL.sub("", lede)
    head = _clean(title).split()
    words = head + _clean(lede).split()
    arabic = language == "ar" or not language and bool(_ARABIC_ONLY.search(title) or _ARABIC_ONLY.search(lede))
    memo = _MEMOS[arabic]
    keys = memo.keys(words)
    if not memo.dated.isdisjoint(words):
        _drop_dates(keys, _fold(words, arabic))
    head_keys = keys[: len(head)]
    counts = Counter(filter(None, chain(keys, head_keys, [f"@{topic}" for topic in topics])))
    total = sum(counts.values()) or 1
    names = set(filter(_IS_NAME.__getitem__, counts))
    probe = names.union(filter(None, head_keys))
    return Features({key: n / total for key, n in counts.items()}, frozenset(names), probe)


def _fold(words: Sequence[str], arabic: bool) -> list[str]:
    """The words lower-cased, and in Arabic text without the article."""
    lows = " ".join(words).lower()
    return (_ARTICLE.sub("", lows) if arabic else lows).split(" ")


def _drop_dates(keys: list[str], tokens: list[str]) -> None:
    """"14 ноя", "December 17", "۲۱ آذر": the day beside a month is no key either."""
    for at, low in enumerate(tokens):
        if low in _MONTHS:
            for near in (at - 1, at + 1):
                if 0 <= near < len(tokens) and tokens[near].isdigit() and len(tokens[near]) <= 2:
                    keys[near] = ""


class _Memo:
    """Each word's key ("" for none) as written (the case tells a name), remembered: a word seen
    before costs one lookup, and the new words of an article are keyed together (one pass of
    each fold over all of them). `dated`: the words that are month names."""

    def __init__(self, arabic: bool) -> None:
        self.arabic = arabic
        self.words: dict[str, str] = {}
        self.dated: set[str] = set()

    def keys(self, words: list[str]) -> list[str]:
        known = self.words
        keys = list(map(known.get, words))
        if None not in keys:
            return cast(list[str], keys)
        if len(known) >= WORD_CACHE:
            _forget()  # this article's words too: all of them are learnt again
            self._learn(list(dict.fromkeys(words)))
        else:
            self._learn(list(dict.fromkeys(compress(words, map(is_, keys, repeat(None))))))
        return list(map(known.__getitem__, words))

    def _learn(self, new: list[str]) -> None:
        lows = _fold(new, self.arabic)
        self.words.update(zip(new, map(sys.intern, _word_keys(new, lows, self.arabic))))  # one string per key, whichever story holds it
        if not _MONTHS.isdisjoint(lows):
            self.dated.update(word for word, low in zip(new, lows) if low in _MONTHS)


def _word_keys(words: list[str], lows: list[str], arabic: bool) -> list[str]:
    """Each word's key (`lows`: the words folded), "" for none: a stop word, tag or month has none
    (in Arabic text also when written with the article, "الذي"); else its concept; its sound
    skeleton if it may be a name (capitalised, or of a caseless script; none if under two
    sounds); else its first six letters (within-language). The skeletons are made in one pass."""
    wholes = _fold(words, False) if arabic else lows
    keys: list[str | None] = [
        "" if low in _DROP or whole in _DROP
        else _CONCEPT.get(low[:5]) or _CONCEPT.get(low[:4]) or (f"={low[:6]}" if word[0].islower() else None)
        for word, whole, low in zip(words, wholes, lows)
    ]
    sounded = [at for at, key in enumerate(keys) if key is None]  # the words whose key is their skeleton
    if sounded:
        for at, skeleton in zip(sounded, _skeletons(" ".join([lows[at] for at in sounded]))):
            keys[at] = f"~{skeleton}" if len(skeleton) > 1 else ""
    return cast(list[str], keys)


class _IsName(dict[str, bool]):
    """Key -> whether it may anchor across languages: a skeleton of two sounds or more, a concept,
    an action, a topic, a number."""

    def __missing__(self, key: str) -> bool:
        named = self[key] = (key[0] == "~" and len(key) > 2) or key[0] in "#@+" or key[1:].isdigit()
        return named


_MEMOS = (_Memo(arabic=False), _Memo(arabic=True))  # indexed by "is Arabic text"
_IS_NAME = _IsName()


def _forget() -> None:
    """Bound the memory of words and keys seen: all forgotten at once, relearnt as they come."""
    for memo in _MEMOS:
        memo.words.clear()
        memo.dated.clear()
    _IS_NAME.clear()


def _skeletons(lows: str) -> list[str]:
    """Each word's sound skeleton, aligned with the words of `lows` (a word of vowels only becomes "")."""
    if not lows.isascii() and _CASE_ENDING.search(lows):  # Лавровым, Пезешкианом, Сергеем -> the name
        lows = _CASE_ENDING.sub("", lows)
    if "ch" in lows:  # the one Latin digraph that is not its letters' classes (h is silent)
        lows = lows.replace("ch", "j")
    if not lows.isascii() and "дж" in lows:
        lows = lows.replace("дж", "j")
    joined = lows.translate(_SKELETON).replace("_", "")
    for single, double in _DOUBLES:  # one class twice in a row ("Abbas", "Russia") is one sound
        if double in joined:  # (twice: runs up to four)
            joined = joined.replace(double, single).replace(double, single)
    return joined.split(" ")


# ---- the online clusterer ------------------------------------------------------------------


class _Idf(dict[int, float]):
    """How many live stories have a key -> its idf, for one number of live stories: every key
    of every article and story scored meanwhile looks up one of a few counts, not a logarithm."""

    def __init__(self, live: float) -> None:
        super().__init__()
        self.live = live

    def __missing__(self, stories: int) -> float:
        idf = self[stories] = math.log(self.live / (stories + 0.5))
        return idf


class EventClusterer:
    """Assigns `story_id`s; see the module docstring. `records` maps story id -> record:
    {"story": Story fields, "terms": {key: weight}, "names": [keys], "t": event time of the
    latest report, "groups": {cluster id: copies}}."""

    def __init__(self, config: EventConfig, records: MutableMapping[str, dict]) -> None:
        self.config = config
        self.records = records
        self.live: dict[str, dict] = {}
        self.touched: set[str] = set()
        self._group: dict[str, str] = {}  # cluster id -> story id (derived)
        self._postings: dict[str, set[str]] = {}  # key -> live unmerged stories whose centroid has it (derived)
        self._norms: dict[str, tuple[float, float]] = {}  # story id -> (tf-idf norm, live stories then) (derived, lazily)
        self._named: Counter[str] = Counter()  # name -> live unmerged stories that have it (derived)
        self._idfs = _Idf(0.0)  # of the current number of live stories (derived, lazily)
        self.rebuild()

    # ---- public API -------------------------------------------------------------------

    def assign(
        self,
        *,
        article_id: str,
        cluster_id: str,
        cluster_copies: int,
        title: str,
        text: str,
        url: str,
        source: str,
        language: str,
        published: str,
        topics: Sequence[str],
        now: float,
    ) -> EventDecision:
        """The story of one article whose copy group is `cluster_id` (with `cluster_copies` articles so far)."""
        when = _event_time(published, now)
        known = self._group.get(cluster_id)
        if known is not None:
            story_id = self._survivor(known)
            self._count(self.live[story_id], cluster_id, cluster_copies, title, source, language, topics, when)
            return EventDecision(story_id, "copy")
        found = features(title, text, topics, self.config.lede_chars, language)
        matches = self._matches(found, language, when)
        if not matches:
            story_id = article_id
            self._start(story_id, title, url, source, language, when)
            reason, merged = "new", ()
        else:
            story_id, reason = matches[0][1], "event"
            if matches[0][0] >= self.config.merge:
                close = self.config.merge_close * matches[0][0]
                # Each merge into the survivor so far: a story older than it turns the tables.
                merged = tuple(self._merge(other, self._survivor(story_id)) for ratio, other in matches[1:]
                               if ratio >= self.config.merge and ratio >= close)
                story_id = self._survivor(story_id)
            else:
                merged = ()
        record = self.live[story_id]
        self._grow(record, found, when)
        self._group[cluster_id] = story_id
        self._count(record, cluster_id, cluster_copies, title, source, language, topics, when)
        return EventDecision(story_id, reason, merged)

    def story(self, story_id: str) -> dict:
        """The story document (Story record fields) of a live story."""
        return dict(self.live[story_id]["story"])

    def flush(self) -> int:
        """Write every record touched since the last flush back to `records` (once each)."""
        for story_id in self.touched:
            if story_id in self.live:
                self.records[story_id] = self.live[story_id]
            elif story_id in self.records:
                del self.records[story_id]
        written = len(self.touched)
        self.touched.clear()
        return written

    def rebuild(self) -> None:
        """Derive the in-memory views (live records, copy-group map, candidate index) from `records`."""
        self.live = {story_id: record for story_id, record in self.records.items()}
        self._group.clear()
        self._postings.clear()
        self._norms.clear()
        self._named.clear()
        # An absorbed story keeps its groups (its document shows what it held), and so does the
        # survivor: map each group to the story it is live in, whatever order the records come in.
        for story_id, record in sorted(self.live.items(), key=lambda item: not item[1]["story"]["merged_into"]):
            for cluster in record["groups"]:
                self._group[cluster] = story_id
            # Keys read back are a string per record; interned, stories share them (and with `features`).
            record["terms"] = {sys.intern(key): weight for key, weight in record["terms"].items()}
            record["names"] = list(map(sys.intern, record["names"]))
            if not record["story"]["merged_into"]:
                self._index(story_id, record["terms"], record["names"])

    def expire(self) -> int:
        """Drop stories with no report for `window_days` before the latest event time seen
        (event time, so a replay of old news expires by its own clock); returns how many."""
        latest = max((record["t"] for record in self.live.values()), default=0.0)
        cutoff = latest - self.config.window_days * DAY
        dropped = [story_id for story_id, record in self.live.items() if record["t"] < cutoff]
        for story_id in dropped:
            record = self.live.pop(story_id)
            if not record["story"]["merged_into"]:
                self._unindex(story_id, record["terms"], record["names"])
            self._norms.pop(story_id, None)
            for cluster in record["groups"]:
                if self._group.get(cluster) == story_id:
                    del self._group[cluster]
            self.touched.add(story_id)
        return len(dropped)

    # ---- matching ---------------------------------------------------------------------------

    def _matches(self, found: Features, language: str, when: float) -> list[tuple[float, str]]:
        """(score / threshold, story id) of the live stories the article joins, best first."""
        config = self.config
        index = self._postings
        probed = [p for p in map(index.get, found.probe) if p and len(p) <= config.posting_cap]
        seen: set[str] = set()
        twice: set[str] = set()  # the stories sharing two keys or more with the article
        for stories in probed:
            twice |= seen & stories
            seen |= stories
        live_records = self.live
        window = config.window_days * DAY
        # The stories in the window sharing the most keys, and every story tied with the last of
        # them: the same candidates whatever order the sets of keys and stories iterate in (hash
        # seeds differ per process, and a cut through a tie would pick by seed).
        ranked = sorted([(sum([story_id in stories for stories in probed]), story_id) for story_id in twice
                         if abs(when - live_records[story_id]["t"]) <= window], reverse=True)
        if not ranked:
            return []
        idf = self._idf()
        weights = found.terms
        stories = list(map(len, map(index.get, weights, repeat(()))))
        idfs = list(map(idf.__getitem__, stories))
        norm = math.sqrt(sum([weight * weight * i * i for weight, i in zip(weights.values(), idfs)]))
        # A key no live story has is in no candidate's centroid: it adds to the norm only.
        scaled = [(key, weight * i * i) for (key, weight), i, n in zip(weights.items(), idfs, stories) if n]
        matches = []
        named = self._named
        common = max(config.common_names, config.common_share * idf.live)
        cut = ranked[min(config.candidates, len(ranked)) - 1][0]
        for shared_keys, story_id in ranked:
            if shared_keys < cut:
                break
            record = live_records[story_id]
            story_norm = self._norm(story_id)  # for every candidate: when a norm is cached decides its value
            # Names most live stories have (an outlet's words, a caseless script's common words)
            # are no evidence; roles and actions count, but cannot be all of them.
            shared = [name for name in found.names.intersection(record["names"]) if named[name] <= common]
            shared_names = len(shared) if any(name[0] != "+" for name in shared) else 0
            if language and language in record["story"]["languages"] and shared_names >= config.same_names:
                threshold = config.same_language
            elif shared_names >= config.cross_names:
                threshold = config.cross_language
            else:
                continue
            centroid = record["terms"]
            score = sum([weight * centroid[key] for key, weight in scaled if key in centroid]) / (norm * story_norm or 1.0)
            if score >= threshold:
                matches.append((score / threshold, story_id))
        return sorted(matches, reverse=True)

    def _norm(self, story_id: str) -> float:
        """A story's tf-idf norm, computed again when its centroid changed or the idf moved (the
        number of live stories by more than `NORM_DRIFT`): a norm of an older, smaller idf would
        inflate the old stories' cosines."""
        idf, postings = self._idf(), self._postings
        cached = self._norms.get(story_id)
        if cached is not None and abs(idf.live - cached[1]) <= NORM_DRIFT * cached[1]:
            return cached[0]
        terms = self.live[story_id]["terms"]  # every key of a live story's centroid is in `postings`
        idfs = map(idf.__getitem__, map(len, map(postings.__getitem__, terms)))
        norm = math.sqrt(sum([(w * i) ** 2 for w, i in zip(terms.values(), idfs)]))
        self._norms[story_id] = (norm, idf.live)
        return norm

    def _idf(self) -> _Idf:
        """The idf table for the number of live stories now."""
        live = len(self.live) + 1.0
        if self._idfs.live != live:
            self._idfs = _Idf(live)
        return self._idfs

    # ---- story records ----------------------------------------------------------------------

    def _start(self, story_id: str, title: str, url: str, source: str, language: str, when: float) -> None:
        stamp = iso_from_epoch(when)
        self.live[story_id] = {
            "story": {
                "story_id": story_id, "title": title, "url": url, "source": source, "language": language,
                "titles": {}, "first_seen": stamp, "last_seen": stamp, "articles": 0, "copies": 0,
                "clusters": 0, "sources": [], "source_count": 0, "languages": [], "topics": [],
                "merged_into": "",
            },
            "terms": {}, "names": [], "t": when, "groups": {},
        }

    def _grow(self, record: dict, found: Features, when: float) -> None:
        """Add one independent report to the centroid: decay the old weights to its time, add, cut."""
        story_id = record["story"]["story_id"]
        old_terms, old_names = record["terms"], record["names"]
        decay = 0.5 ** (max(0.0, when - record["t"]) / (self.config.half_life_days * DAY))
        terms = {key: weight * decay for key, weight in old_terms.items()}
        for key, weight in found.terms.items():
            terms[key] = terms.get(key, 0.0) + weight
        kept = dict(sorted(terms.items(), key=itemgetter(1), reverse=True)[: self.config.centroid_keys])
        names = ([name for name in old_names if name not in found.names] + sorted(found.names))[-self.config.names_kept:]
        held = set(old_names)
        self._unindex(story_id, [key for key in old_terms if key not in kept], held.difference(names))
        self._index(story_id, [key for key in kept if key not in old_terms], set(names).difference(held))
        record["terms"], record["names"] = kept, names
        self._norms.pop(story_id, None)

    def _count(
        self, record: dict, cluster_id: str, copies: int, title: str, source: str, language: str,
        topics: Iterable[str], when: float,
    ) -> None:
        """Counts from the copy groups' own (idempotent) copy counts, and the unions."""
        story = record["story"]
        record["groups"][cluster_id] = max(copies, record["groups"].get(cluster_id, 0))
        record["t"] = max(record["t"], when)
        story["articles"] = sum(record["groups"].values())
        story["clusters"] = len(record["groups"])
        story["copies"] = story["articles"] - story["clusters"]
        story["last_seen"] = max(story["last_seen"], iso_from_epoch(when))
        if language and language not in story["titles"]:
            story["titles"] = {**story["titles"], language: title}
            story["languages"] = sorted({*story["languages"], language})
        if not set(topics) <= set(story["topics"]):
            story["topics"] = sorted({*story["topics"], *topics})
        _add_source(story, source)
        self.touched.add(story["story_id"])

    def _merge(self, absorbed_id: str, survivor_id: str) -> str:
        """Merge one story into another: recorded on the absorbed one, its groups follow the survivor."""
        absorbed, survivor = self.live[absorbed_id], self.live[survivor_id]
        if absorbed["story"]["first_seen"] < survivor["story"]["first_seen"]:
            absorbed_id, survivor_id, absorbed, survivor = survivor_id, absorbed_id, survivor, absorbed
        old, new = absorbed["story"], survivor["story"]
        for cluster, copies in absorbed["groups"].items():
            survivor["groups"][cluster] = max(copies, survivor["groups"].get(cluster, 0))
            self._group[cluster] = survivor_id
        new["articles"] = sum(survivor["groups"].values())
        new["clusters"] = len(survivor["groups"])
        new["copies"] = new["articles"] - new["clusters"]
        new["titles"] = {**old["titles"], **new["titles"]}
        new["languages"] = sorted({*new["languages"], *old["languages"]})
        new["topics"] = sorted({*new["topics"], *old["topics"]})
        new["first_seen"], new["last_seen"] = min(new["first_seen"], old["first_seen"]), max(new["last_seen"], old["last_seen"])
        for source in old["sources"]:
            _add_source(new, source)
        new["source_count"] = max(new["source_count"], old["source_count"])
        found = Features(dict(absorbed["terms"]), frozenset(absorbed["names"]), set())
        self._unindex(absorbed_id, absorbed["terms"], absorbed["names"])
        self._norms.pop(absorbed_id, None)
        self._grow(survivor, found, absorbed["t"])
        survivor["t"] = max(survivor["t"], absorbed["t"])
        old["merged_into"] = survivor_id
        self.touched.update((absorbed_id, survivor_id))
        return absorbed_id

    def _survivor(self, story_id: str) -> str:
        """Follow merges to the live story that absorbed `story_id`."""
        while self.live[story_id]["story"]["merged_into"] in self.live:
            story_id = self.live[story_id]["story"]["merged_into"]
        return story_id

    # ---- derived index ----------------------------------------------------------------------

    def _index(self, story_id: str, terms: Iterable[str], names: Iterable[str]) -> None:
        postings = self._postings
        for key in terms:
            stories = postings.get(key)
            if stories is None:
                postings[key] = {story_id}
            else:
                stories.add(story_id)
        self._named.update(names)

    def _unindex(self, story_id: str, terms: Iterable[str], names: Iterable[str]) -> None:
        for key in terms:
            postings = self._postings.get(key)
            if postings is not None:
                postings.discard(story_id)
                if not postings:
                    del self._postings[key]
        named = self._named
        for name in names:
            left = named[name] - 1
            if left > 0:
                named[name] = left
            else:
                del named[name]


def _add_source(story: dict, source: str) -> None:
    if source and source not in story["sources"]:
        story["source_count"] += 1
        if len(story["sources"]) < SOURCES_CAP:
            story["sources"] = story["sources"] + [source]


def _event_time(published: str, now: float) -> float:
    """When the article says it happened (its publication time), else when it arrived;
    never later than arrival (a misdated future article would hold a story open)."""
    if not published:
        return now
    try:
        return min(epoch_from_iso(published), now)
    except TimeFormatError:
        return now
