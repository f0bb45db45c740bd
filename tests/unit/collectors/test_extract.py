"""Article pages: the body, the facts the page knows better than the feed, the reasons, the decisions."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from newsmon.bench.extraction import (
    evaluate,
    load_cases,
    score,
)
from newsmon.collectors.extract import (
    EXTRACTION_EMPTY,
    FULL_TEXT_OFF,
    NOT_HTML,
    PAYWALL,
    Page,
    as_teaser,
    decode_html,
    extract_page,
    strip_site_name,
    wants_page,
    with_page,
    without_page,
)
from newsmon.schemas.article import Article

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"
CASES = load_cases(PAGES)
URL = "https://www.tehrantimes.com/news/512345/some-slug"
PARAGRAPH = ("The ministry said the new line would carry freight between the Caspian ports and the Gulf "
             "within four years, and that the first section would open to passenger trains next spring.")


def page(body: str, head: str = "", lang: str = "en") -> bytes:
    return f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'.encode()


def article_html(paragraphs: int = 6) -> str:
    return "<article>" + "".join(f"<p>{PARAGRAPH} Paragraph {i}.</p>" for i in range(paragraphs)) + "</article>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# --- quality on the dev set -----------------------------------------------------------------

FLOORS = {"en": 0.97, "ru": 0.97, "fa": 0.97, "ar": 0.97, "all": 0.97}


def test_dev_set_bodies_score_above_the_floor_per_language():
    scores = evaluate(CASES)
    assert set(scores) == set(FLOORS)
    low = {lang: round(s.f1, 3) for lang, s in scores.items() if s.f1 < FLOORS[lang]}
    assert not low, f"F1 under the floor: {low}"


def test_the_teaser_alone_scores_low_so_the_metric_can_fail():
    case = next(c for c in CASES if c.name == "en-agency")
    teaser = case.truth.splitlines()[0]
    assert score(teaser, case.truth).recall < 0.2 and score(case.truth, case.truth).f1 == 1.0


@pytest.mark.parametrize("case", [c for c in CASES if c.meta["layout"] != "legacy"], ids=lambda c: c.name)
def test_dev_set_pages_give_their_canonical_url_title_and_language(case):
    result = extract_page(case.body, case.url, case.content_type)
    assert result.reason == ""
    assert result.canonical_url == case.meta["canonical_url"]
    assert result.title == case.meta["title"]
    assert result.language == case.language


def test_pages_in_legacy_charsets_decode_from_meta_or_header():
    ru = next(c for c in CASES if c.name == "ru-legacy")
    ar = next(c for c in CASES if c.name == "ar-legacy")
    assert ru.content_type == "text/html" and b"windows-1251" in ru.body
    assert b"windows-1256" not in ar.body and "windows-1256" in ar.content_type
    for case in (ru, ar):
        result = extract_page(case.body, case.url, case.content_type)
        assert score(result.text, case.truth).f1 > 0.95


def test_persian_zero_width_non_joiners_survive_extraction():
    case = next(c for c in CASES if c.name == "fa-bare")
    assert "\u200c" in case.truth and extract_page(case.body, case.url, case.content_type).text.count("\u200c") == case.truth.count("\u200c")


def heavy(body: bytes) -> bytes:
    """A dev page as heavy as a real one: 150 KB of inline script and an 800-link mega-menu."""
    script = b"<script>" + b"var x=function(a){return a*2};" * 5000 + b"</script>"
    menu = b"<div class='mega-menu'>" + b"".join(b"<ul>" + b"".join(
        b"<li><a href='/s/%d/%d'>Section %d item %d</a></li>" % (i, j, i, j) for j in range(20)) + b"</ul>" for i in range(40)) + b"</div>"
    return body.replace(b"</head>", script + b"</head>", 1).replace(b"<body>", b"<body>" + menu, 1)


def test_a_mega_menu_costs_no_quality():
    for case in CASES[:6]:
        assert score(extract_page(heavy(case.body), case.url, case.content_type).text, case.truth).f1 > 0.97


# --- decoding ---------------------------------------------------------------------------------

def test_decoding_order_is_bom_header_meta_then_utf8_with_replacement():
    text = "Привет"
    meta = b'<meta charset="windows-1251">'
    assert decode_html(meta + text.encode("cp1251"), "text/html").endswith(text)
    assert decode_html(text.encode("koi8-r") + meta, "text/html; charset=koi8-r").startswith(text)
    assert decode_html(b"\xef\xbb\xbf" + text.encode() + meta, "text/html; charset=windows-1251") == text + meta.decode()
    assert decode_html("سلام".encode("utf-16-le").join([b"\xff\xfe", b""])) == "سلام"
    assert decode_html(b"ok \xff bytes", "text/html; charset=nonsense") == "ok \ufffd bytes"


# --- reasons ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, content_type", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    (b"%PDF-1.7\n1 0 obj", "text/html"),  # a lying server
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b'{"articles": [{"title": "x"}]}', "text/html; charset=utf-8"),
    (b'{"articles": []}', "application/json"),
    (b"", "text/html"),
    (b"just some words, no markup at all", ""),
])
def test_what_is_not_html_says_so(body, content_type):
    assert extract_page(body, URL, content_type) == Page(reason=NOT_HTML)


def test_a_page_without_article_text_is_extraction_empty():
    gallery = page('<nav><a href="/">Home</a></nav><div class="gallery"><img src="a.jpg"><p>Photo: the port at dawn</p></div>',
                   '<link rel="canonical" href="/gallery/9"><title>Photos of the week | Tehran Times</title>')
    result = extract_page(gallery, URL, "text/html")
    assert result.reason == EXTRACTION_EMPTY and result.text == ""
    assert result.canonical_url == "https://www.tehrantimes.com/gallery/9" and result.title == "Photos of the week"


def test_a_paywall_stub_is_a_paywall_and_a_long_gated_text_is_not():
    lead = f"<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p>"
    gated = ld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "H", "isAccessibleForFree": "False"})
    stub = page(f'<article>{lead}<div class="paywall"><p>Subscribe to continue reading.</p></div></article>')
    assert extract_page(page(f"<article>{lead}</article>", gated), URL, "text/html").reason == PAYWALL
    assert extract_page(stub, URL, "text/html").reason == PAYWALL
    full = extract_page(page(article_html(8), gated), URL, "text/html")  # flexible sampling: the text is there
    assert full.reason == "" and full.text.count(PARAGRAPH) == 8
    assert extract_page(page(f"<article>{lead}</article>"), URL, "text/html").reason == ""  # short but free


def test_a_20_mb_page_is_extracted_within_a_fraction_of_a_second():
    script = b"<script>window.__STATE__=" + b'{"k":"v"},' * 2_000_000 + b"</script>"
    body = page(article_html(10)).replace(b"</head>", script + b"</head>")
    assert len(body) > 20_000_000
    started = time.process_time()
    result = extract_page(body, URL, "text/html")
    assert time.process_time() - started < 1.5 and result.text.count(PARAGRAPH) == 10


# --- what the page knows ----------------------------------------------------------------------

def test_json_ld_article_body_is_preferred_inside_a_graph_or_a_list():
    body = "\n\n".join(f"{PARAGRAPH} Number {i}." for i in range(5))
    node = {"@type": ["NewsArticle"], "headline": "Rail deal signed", "articleBody": body, "inLanguage": "en-GB",
            "datePublished": "2025-11-09T10:00:00+03:30", "author": [{"@type": "Person", "name": "A. Writer"}, "B. Writer"]}
    html = page(f"<main><p>Navigation teaser only.</p>{article_html(2)}</main>", lang="")
    for data in ({"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "TT"}, node]}, [{"@type": "Organization"}, node]):
        result = extract_page(html.replace(b"</head>", ld(data).encode() + b"</head>"), URL, "text/html")
        assert result.text == body.replace("\n\n", "\n")
        assert (result.title, result.authors, result.published, result.language) == (
            "Rail deal signed", ("A. Writer", "B. Writer"), "2025-11-09T06:30:00Z", "en")


def test_a_cut_json_ld_body_loses_to_the_page_text():
    for cut in ({"articleBody": PARAGRAPH[:80] + "…"}, {"articleBody": PARAGRAPH, "wordCount": 400}):
        html = page(article_html(6), ld({"@type": "Article", "headline": "H", **cut}))
        assert extract_page(html, URL, "text/html").text.count(PARAGRAPH) == 6


def test_meta_tags_give_the_facts_when_there_is_no_json_ld():
    head = ('<meta property="og:url" content="https://www.tehrantimes.com/news/512345/">'
            '<meta property="og:locale" content="fa_IR"><meta property="og:site_name" content="Tehran Times">'
            '<meta property="og:title" content="Rail deal signed - Tehran Times">'
            '<meta property="article:published_time" content="2025-11-09T10:00:00+03:30">'
            '<meta name="author" content="A. Writer, B. Writer">')
    result = extract_page(page(article_html(), head, lang=""), URL + "?utm_source=rss", "text/html")
    assert (result.canonical_url, result.language, result.title, result.published, result.authors) == (
        "https://www.tehrantimes.com/news/512345/", "fa", "Rail deal signed", "2025-11-09T06:30:00Z", ("A. Writer", "B. Writer"))


def test_a_time_element_dates_the_page_and_an_unreadable_date_is_none():
    dated = extract_page(page('<time datetime="2025-11-09">9 Nov</time>' + article_html()), URL, "text/html")
    assert dated.published == "2025-11-09T00:00:00Z"
    undated = extract_page(page(article_html(), '<meta property="article:published_time" content="last Tuesday">'), URL, "text/html")
    assert undated.published == ""


@pytest.mark.parametrize("title, site, expected", [
    ("Rail deal signed | Tehran Times", "", "Rail deal signed"),
    ("Rail deal signed - TASS", "TASS", "Rail deal signed"),
    ("Tehran Times :: Rail deal signed", "", "Rail deal signed"),
    ("Rasht-Astara railway: what comes next", "", "Rasht-Astara railway: what comes next"),
    ("Iran - Russia talks resume in Moscow", "Tehran Times", "Iran - Russia talks resume in Moscow"),
])
def test_site_names_come_off_titles_and_headlines_keep_their_dashes(title, site, expected):
    assert strip_site_name(title, site, "https://www.tehrantimes.com/x") == expected


# --- decisions ----------------------------------------------------------------------------------

def feed_article(text: str = "A two-line teaser from the feed.", **fields) -> Article:
    defaults = {"id": "a1", "url": URL, "title": "Feed title", "fetched": "2025-11-09T08:00:00Z", "published": "2025-11-09T07:00:00Z"}
    return Article(content=text, **{**defaults, **fields})


def test_wants_page_by_mode_and_length():
    teaser, long = feed_article(), feed_article(" ".join(["word"] * 150))
    assert wants_page(teaser, "auto", 150) and not wants_page(long, "auto", 150)
    assert wants_page(long, "always", 150) and not wants_page(teaser, "never", 150)
    assert not wants_page(Article(id="b", url="file:///tmp/a.html", content="x"), "always", 150)


def test_with_page_takes_the_text_and_fills_what_the_feed_lacked():
    result = Page(text=" ".join([PARAGRAPH] * 3), title="Page title", authors=("A. Writer",), published="2025-11-09T06:30:00Z",
                  canonical_url="https://www.tehrantimes.com/news/512345", language="en")
    got = with_page(feed_article(published="2025-11-09T08:00:00Z"), result)  # feed gave no date: published == fetched
    assert (got.content, got.summary, got.body_source, got.body_reason) == (result.text, "A two-line teaser from the feed.", "page", "")
    assert (got.canonical_link, got.title, got.authors, got.published, got.declared_language) == (
        result.canonical_url, "Feed title", ["A. Writer"], "2025-11-09T06:30:00Z", "en")
    kept = with_page(feed_article(summary="Teaser", canonical_link="https://feed/canon", authors=["Feed Author"],
                                  declared_language="fa"), result)
    assert (kept.summary, kept.canonical_link, kept.authors, kept.published, kept.declared_language) == (
        "Teaser", "https://feed/canon", ["Feed Author"], "2025-11-09T07:00:00Z", "fa")
    assert kept.id == "a1"  # ids stay what the feed gave: seen-state and replays find the same document


def test_with_page_never_loses_the_feeds_longer_text():
    feed = feed_article(" ".join([PARAGRAPH] * 4))
    got = with_page(feed, Page(text=PARAGRAPH, canonical_url="https://x/c"))
    assert (got.content, got.body_source, got.canonical_link) == (feed.content, "feed", "https://x/c")


def test_failures_and_refusals_leave_a_teaser_with_its_reason():
    teaser = feed_article()
    assert with_page(teaser, Page(reason=PAYWALL)) == as_teaser(teaser, PAYWALL)
    got = as_teaser(teaser, "robots")
    assert (got.content, got.body_source, got.body_reason) == (teaser.content, "teaser", "robots")


def test_without_page_labels_the_feeds_own_text():
    assert without_page(feed_article(" ".join(["word"] * 200)), 150).body_source == "feed"
    off = without_page(feed_article(), 150)
    assert (off.body_source, off.body_reason) == ("teaser", FULL_TEXT_OFF)
