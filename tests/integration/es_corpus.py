"""A realistic, multilingual batch for the Elasticsearch tests: the five seed articles plus
hand-written Russian and Persian reports, near-duplicate copies and their story records.

Times are spread backwards from an anchor so the batch crosses a month boundary.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

from newsmon.schemas.article import Article, Story

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


def corpus(anchor: datetime) -> tuple[list[Article], list[Story]]:
    """Articles (originals + near-duplicate copies) and one story per cluster."""
    articles, stories = [], []
    for n, original in enumerate(originals(anchor)):
        cluster = original.id
        members = [original]
        for k, source in enumerate(COPY_SOURCES[: n % 4]):
            url = f"https://{source}/copy/{n}-{k}"
            members.append(Article(id=article_id(url), url=url, title=original.title, text=original.text, source=source,
                                   language=original.language, topics=original.topics,
                                   published=iso(datetime.fromisoformat(original.published) + timedelta(minutes=20 * (k + 1))),
                                   duplicate_of=original.id, is_duplicate=True))
        for member in members:
            member.cluster_id = cluster
            member.fetched = member.processed = member.published
        articles += members
        sources = sorted({m.source for m in members})
        stories.append(Story(cluster_id=cluster, article_id=original.id, title=original.title, url=original.url,
                             source=original.source, language=original.language, first_seen=members[0].published,
                             last_seen=members[-1].published, copies=len(members), sources=sources,
                             source_count=len(sources), topics=original.topics))
    return articles, stories
