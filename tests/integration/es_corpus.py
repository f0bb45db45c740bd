"""A realistic, multilingual batch for the Elasticsearch tests: the five seed articles plus
hand-written English, Russian, Persian, Arabic, Turkish and German reports, near-duplicate
copies, and one story document per event (the reports of one topic here are one event, in
several languages and outlets).

Times are spread backwards from an anchor so the batch crosses a month boundary. Story
documents carry the event fields the stories mapping has (`story_mapped`), so the corpus
indexes cleanly while that mapping grows.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

from newsmon.es.templates import load_template
from newsmon.schemas.article import Article

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "dedupe" / "seeds"  # copies of ../shared/seeds

WRITTEN = [
    ("en", "snapback", "UN snapback sanctions on Iran take effect after trigger mechanism",
     "European powers triggered the snapback mechanism and UN sanctions on Iran were restored.", "reuters.com"),
    ("en", "bushehr", "Bushehr nuclear power plant receives fresh fuel from Russia",
     "Rosatom delivered a new batch of fuel to the Bushehr plant on the Persian Gulf coast.", "tehrantimes.com"),
    ("en", "north-south-corridor", "Rasht-Astara railway to close the gap in the North-South corridor",
     "The International North-South Transport Corridor links Russia, Azerbaijan and Iran by rail.", "tass.com"),
    ("ru", "snapback", "Иран и Россия осудили механизм восстановления санкций ООН",
     "Москва назвала возобновление санкций против Ирана незаконным.", "tass.ru"),
    ("ru", "bushehr", "Росатом: строительство второго энергоблока АЭС «Бушер» продолжается",
     "Российские специалисты продолжают работы на площадке АЭС в Бушере.", "ria.ru"),
    ("ru", "north-south-corridor", "Коридор «Север — Юг»: начато строительство железной дороги Решт — Астара",
     "Международный транспортный коридор свяжет Россию и Иран.", "tass.ru"),
    ("fa", "snapback", "سازوکار ماشه و بازگشت تحریم‌های سازمان ملل علیه ایران",
     "کشورهای اروپایی سازوکار ماشه را فعال کردند و تحریم‌ها بازگشت.", "irna.ir"),
    ("fa", "bushehr", "نیروگاه اتمی بوشهر سوخت جدید دریافت کرد",
     "محموله جدید سوخت هسته‌ای از روسیه به نیروگاه بوشهر رسید.", "mehrnews.com"),
    ("fa", "north-south-corridor", "کریدور شمال-جنوب و راه‌آهن رشت-آستارا",
     "راه‌آهن رشت-آستارا حلقه گمشده کریدور بین‌المللی شمال-جنوب است.", "isna.ir"),
    ("fa", "north-south-corridor", "قرارداد حمل و نقل ریلی میان ایران و روسیه امضا شد",
     "این مسیر ترانزیتی از سال آینده فعال میشود و بار را به بندرعباس میرساند.", "tasnimnews.com"),
    ("ar", "snapback", "إعادة فرض عقوبات الأمم المتحدة على إيران عبر آلية الزناد",
     "أعلنت الدول الأوروبية تفعيل آلية الزناد وعادت العقوبات الأممية على طهران.", "aljazeera.net"),
    ("ar", "bushehr", "محطة بوشهر النووية تتسلّم شحنة وقود جديدة من روسيا",
     "وصلت الشحنة الثانية من الوقود النووي إلى المحطة الإيرانيـة على ساحل الخليج.", "asharq.com"),
    ("tr", "north-south-corridor", "Kuzey-Güney Koridoru'nda Reşt-Astara demiryolu için anlaşma imzalandı",
     "İran ve Rusya, Azerbaycan üzerinden geçen demiryolu hattının inşasını hızlandıracak.", "aa.com.tr"),
    ("tr", "bushehr", "Buşehr Nükleer Santrali'ne yeni yakıt sevkiyatı",
     "Rusya'nın Buşehr'deki santrale gönderdiği yakıt İran'a ulaştı.", "trthaber.com"),
    ("de", "bushehr", "Neue Brennstofflieferung für das Atomkraftwerk Buschehr",
     "Russland hat eine weitere Lieferung Kernbrennstoff für Buschehr abgeschlossen.", "dw.com"),
]
COPY_SOURCES = ["presstv.ir", "aljazeera.com", "rferl.org"]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def article_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:20]


def originals(anchor: datetime) -> list[Article]:
    found = []
    seeds = sorted(SEEDS.glob("*.txt"))
    assert len(seeds) == 5, f"the five seed articles are missing from {SEEDS}"
    for n, path in enumerate(seeds):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        url = f"https://seeds.example/{path.stem}"
        found.append(Article(id=article_id(url), url=url, title=lines[0][:200], text=" ".join(lines[1:]),
                             source="seeds.example", language="en", topics=[], published=iso(anchor - timedelta(days=3 * n + 1))))
    for n, (language, topic, title, text, source) in enumerate(WRITTEN):
        url = f"https://{source}/news/{n}"
        found.append(Article(id=article_id(url), url=url, title=title, text=text, summary=text[:80], source=source,
                             language=language, topics=[topic], matched_rules=[f"{topic}:name"],
                             published=iso(anchor - timedelta(hours=5 * n + 2))))
    return found


BODY_SOURCES = ["feed", "page", "page", "teaser"]
TEASER_REASONS = ["http-429", "robots", "paywall"]


def story_of(original: Article) -> str:
    """The event: every report on one topic here, in any language; each seed is its own event."""
    return f"event-{original.topics[0]}" if original.topics else f"event-{original.id}"


def corpus(anchor: datetime) -> tuple[list[Article], list[dict]]:
    """Articles (originals + near-duplicate copies, each with a body source) and one story per event."""
    articles, events = [], {}
    for n, original in enumerate(originals(anchor)):
        members = [original]
        for k, source in enumerate(COPY_SOURCES[: n % 4]):
            url = f"https://{source}/copy/{n}-{k}"
            members.append(Article(id=article_id(url), url=url, title=original.title, text=original.text, source=source,
                                   language=original.language, topics=original.topics,
                                   published=iso(datetime.fromisoformat(original.published) + timedelta(minutes=20 * (k + 1))),
                                   duplicate_of=original.id, is_duplicate=True))
        for k, member in enumerate(members):
            member.cluster_id, member.story_id = original.id, story_of(original)
            member.fetched = member.processed = member.published
            member.body_source = BODY_SOURCES[(n + k) % len(BODY_SOURCES)]
            member.body_reason = TEASER_REASONS[(n + k) % len(TEASER_REASONS)] if member.body_source == "teaser" else ""
        articles += members
        events.setdefault(original.story_id, []).extend(members)
    return articles, [story_mapped(story_document(story_id, members)) for story_id, members in events.items()]


def story_document(story_id: str, members: list[Article]) -> dict:
    """One event as the events stage writes it (COMMON.md's Story fields)."""
    members = sorted(members, key=lambda a: a.published)
    first = members[0]
    sources = sorted({m.source for m in members})
    titles = {}
    for member in members:
        titles.setdefault(member.language, member.title)
    return {
        "story_id": story_id, "cluster_id": story_id, "article_id": first.id, "title": first.title, "url": first.url,
        "source": first.source, "language": first.language, "titles": titles,
        "first_seen": first.published, "last_seen": members[-1].published, "articles": len(members),
        "copies": sum(m.is_duplicate for m in members), "clusters": len({m.cluster_id for m in members}),
        "sources": sources, "source_count": len(sources), "languages": sorted({m.language for m in members}),
        "topics": sorted({t for m in members for t in m.topics}),
    }


def story_mapped(document: dict) -> dict:
    """Only the fields the stories mapping (dynamic: strict) knows."""
    mapped = load_template("news-stories-mappings.component.json")["template"]["mappings"]["properties"]
    return {name: value for name, value in document.items() if name in mapped}
