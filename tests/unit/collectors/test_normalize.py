"""Normalisation: feed entries -> Article, with every repair and skip counted."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from newsmon.collectors.normalize import articles_from_bytes

from newsmon.core.text import html_to_text
from newsmon.core.urls import article_id, canonicalize_url
from tests.unit.collectors.conftest import fixture_bytes

FETCHED = datetime(2025, 11, 10, 12, 0, tzinfo=timezone.utc)


def articles(name: str, counts: Counter | None = None):
    return articles_from_bytes(fixture_bytes(name), f"https://feeds.example.com/{name}", FETCHED, counts=counts)


def test_seed_feed_maps_every_field():
    items = articles("seeds.rss")
    assert len(items) == 5
    envoy = next(a for a in items if a.source == "Tehran Times")
    assert envoy.title == "Tehran–Moscow partnership will not yield to foreign pressure: Russian envoy"
    assert envoy.url == "https://www.tehrantimes.com/news/tehran-moscow-partnership-will-not-yield-to-foreign"
    assert envoy.published == "2025-11-01T16:07:00Z"  # 19:37 Tehran time (+03:30)
    assert envoy.content.startswith("<p>TEHRAN – Russia has reiterated") and envoy.content.count("<p>") > 10
    assert envoy.summary.startswith("TEHRAN – Russia")
    assert envoy.feed == "https://feeds.example.com/seeds.rss"
    assert envoy.fetched == "2025-11-10T12:00:00Z"
    assert envoy.language == "en" and envoy.guid == envoy.url
    assert envoy.id == article_id(canonicalize_url(envoy.url))


def test_seed_titles_drop_the_date_prefix_and_dateline():
    titles = [a.title for a in articles("seeds.rss")]
    assert titles[0].startswith("Russian official reaffirmed that Moscow's relationship with Tehran")
    assert not any(t.startswith((" date", "date", "TABNAK")) for t in titles)


def test_atom_entries_carry_author_language_and_dates():
    items = articles("atom.xml")
    assert len(items) == 5
    first = items[0]
    assert first.title.startswith("Iran completes land acquisition for Rasht–Astara railway")
    assert first.authors == ["Eurasia Transport Monitor"]
    assert first.published == "2025-09-10T10:00:00Z" and first.language == "en"
    assert first.source == "Eurasia Transport Monitor"


def test_feed_language_tag_is_reduced_to_its_primary_subtag():
    assert {a.language for a in articles("russian.rss")} == {"ru"}
    assert {a.language for a in articles("persian.rss")} == {"fa"}


def test_absurd_dates_missing_links_and_titles_are_repaired_or_skipped_and_counted():
    counts = Counter()
    items = {a.url.rsplit("/", 1)[1]: a for a in articles("absurd.rss", counts)}
    assert counts == Counter({"fixed-absurd-date": 2, "fixed-missing-date": 1, "skip-no-link": 2,
                              "fixed-missing-title": 1, "skip-empty": 1})
    assert items["ancient"].published == items["future"].published == "2025-11-10T12:00:00Z"
    assert items["undated"].published == "2025-11-10T12:00:00Z"
    assert items["by-guid"].url == "https://odd.example.com/news/by-guid"
    assert items["untitled"].title == "Bushehr reactor restarts after maintenance while officials discuss the fuel contract with …"
    assert items["normal"].published == "2025-11-08T12:00:00Z"
    assert set(items) == {"ancient", "future", "undated", "by-guid", "untitled", "normal"}


def test_canonical_link_feeds_the_id():
    feed = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
            b'<entry><title>Amp copy</title><id>urn:x:1</id>'
            b'<link rel="alternate" href="https://amp.example.com/news/1/amp?utm_source=feed"/>'
            b'<link rel="canonical" href="https://www.example.com/news/1"/>'
            b'<updated>2025-11-08T10:00:00Z</updated><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>')
    (item,) = articles_from_bytes(feed, "https://example.com/atom", FETCHED)
    assert item.canonical_link == "https://www.example.com/news/1"
    assert item.id == article_id(canonicalize_url("https://www.example.com/news/1"))
    assert item.source == "T" and item.content == "<p>Body</p>"


def test_script_tags_are_sanitised_out_of_content():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>X</title><item><title>t</title>'
            b'<link>https://x.example.com/1</link><description>&lt;p&gt;ok&lt;/p&gt;&lt;script&gt;alert(1)'
            b'&lt;/script&gt;</description></item></channel></rss>')
    (item,) = articles_from_bytes(feed, "https://x.example.com/rss", FETCHED)
    assert "script" not in item.content and "ok" in item.content


def test_scripts_styles_and_handlers_never_reach_the_text():
    bodies = ['<p onclick="steal()">ok</p><script>alert(1)</script>', "<p>ok</p><script>alert(1)",
              "<p>ok</p><style>p{x:alert(1)}</style>", "<p>ok<!-- alert(1) never closed",
              '<p>ok<img src="x" onerror="alert(1)"></p>', '<p>ok<a href="javascript:alert(1)"></a></p>']
    for body in bodies:
        feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>X</title><item><title>t</title>'
                f"<link>https://x.example.com/1</link><description>{escape(body)}</description>"
                "</item></channel></rss>").encode()
        (item,) = articles_from_bytes(feed, "https://x.example.com/rss", FETCHED)
        assert html_to_text(item.content) == "ok", body
        assert "alert" not in item.content, body  # the sanitiser removed handler, link and script alike


def test_a_link_that_is_no_url_is_counted_as_a_bad_link_even_once_feedparser_emptied_it():
    def feed(link: str) -> bytes:
        return (f'<rss version="2.0"><channel><title>t</title><item><title>Linked</title>{link}'
                "<description>Body.</description></item></channel></rss>").encode()

    cases = {
        "<link>http://[oops/x</link>": "skip-bad-link",  # feedparser drops it resolving against the feed URL
        "<link>http://h:99999/x</link>": "skip-bad-link",
        "<link>javascript:alert(1)</link>": "skip-bad-link",
        "": "skip-no-link",
        '<enclosure url="https://a.example.com/x.mp3" type="audio/mpeg" length="1"/>': "skip-no-link",
    }
    for link, reason in cases.items():
        counts: Counter[str] = Counter()
        assert articles_from_bytes(feed(link), "https://feeds.example.com/rss", FETCHED, counts=counts) == []
        assert counts == Counter({reason: 1}), link
