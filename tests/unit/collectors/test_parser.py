"""Parser: hostile XML is neutralised, non-feeds are named, encodings decode, only non-plain HTML is sanitised."""
from __future__ import annotations

import time
import xml.sax
from xml.sax.saxutils import escape

import feedparser
import feedparser.api
import feedparser.html
import feedparser.mixin
import pytest
from feedparser.sanitizer import _HTMLSanitizer
from newsmon.collectors import parser
from newsmon.collectors.parser import (
    PLAIN_END_TAGS,
    PLAIN_TAGS,
    BufferedExpatReader,
    FeedParseError,
    is_plain_markup,
    neutralise,
    parse_feed,
    sanitise,
)
from newsmon.core.text import html_to_text

from tests.unit.collectors.conftest import fixture_bytes


def test_billion_laughs_is_neutralised_before_feedparser():
    started = time.monotonic()
    parsed = parse_feed(fixture_bytes("billion-laughs.rss"), "https://laughs.example.com/rss")
    assert time.monotonic() - started < 1
    entry = parsed.entries[0]
    assert "lollol" not in entry.title + entry.summary  # the entity was never expanded
    assert entry.link == "https://laughs.example.com/news/1"


def test_external_entity_is_not_resolved():
    parsed = parse_feed(fixture_bytes("external-entity.rss"))
    assert "root:" not in parsed.entries[0].summary


def test_internal_subset_is_stripped_in_utf16_too():
    attack = fixture_bytes("billion-laughs.rss").decode().encode("utf-16")
    cleaned = neutralise(attack).decode("utf-16")
    assert "<!ENTITY" not in cleaned and cleaned.startswith('<?xml version="1.0"?>\n<!DOCTYPE rss >')


def test_unterminated_internal_subset_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 70_000 + b'">'
    with pytest.raises(FeedParseError, match="entity expansion guard"):
        parse_feed(data)


LONG_COMMENT = b"<!--" + b"c" * 70_000 + b"-->\n"  # past any fixed window at the start (it was 64 KB)
ENTITY_FEED = (b'<rss version="2.0"><channel><title>t</title><item><title>T &e;</title>'
               b"<link>https://x.example.com/1</link><description>D &e;</description></item></channel></rss>")


def test_an_entity_declared_after_a_70_kb_comment_is_stripped():
    data = b'<?xml version="1.0"?>\n' + LONG_COMMENT + b'<!DOCTYPE rss [<!ENTITY e "EXPANDED">]>\n' + ENTITY_FEED
    cleaned = neutralise(data)
    assert b"<!ENTITY" not in cleaned and b"<!DOCTYPE rss >" in cleaned
    assert cleaned.endswith(ENTITY_FEED), "only the internal subset goes"
    entry = parse_feed(data).entries[0]
    assert "EXPANDED" not in entry.title + entry.summary


def test_a_declaration_after_a_70_kb_comment_outside_a_doctype_is_refused():
    data = b'<?xml version="1.0"?>\n' + LONG_COMMENT + b'<!ENTITY e "EXPANDED">\n' + ENTITY_FEED
    with pytest.raises(FeedParseError, match="entity expansion guard"):
        parse_feed(data)


def test_external_dtd_without_subset_is_accepted():
    data = fixture_bytes("absurd.rss").replace(
        b"<rss", b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss', 1)
    assert neutralise(data) == data
    assert len(parse_feed(data).entries) == 9


def test_binary_junk_is_not_a_feed():
    with pytest.raises(FeedParseError, match="^not a feed: no XML markup"):
        parse_feed(fixture_bytes("junk.bin"))


def test_markup_looking_junk_is_not_a_feed():
    with pytest.raises(FeedParseError, match="^not a feed: no RSS/Atom root"):
        parse_feed(b"<\x00\x01\x02garbage" + bytes(range(256)) * 4)


def test_html_page_is_not_a_feed():
    with pytest.raises(FeedParseError, match="^not a feed: HTML page"):
        parse_feed(fixture_bytes("page.html"))


def test_malformed_feed_with_entries_is_accepted_with_a_warning(caplog):
    parsed = parse_feed(fixture_bytes("malformed.rss"), "https://careless.example.com/rss")
    assert [e.title for e in parsed.entries] == ["Sanctions & markets: traders brace", "Second story"]
    assert "feed-malformed" in caplog.text and "careless.example.com" in caplog.text


def test_well_formed_empty_feed_is_fine():
    parsed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert parsed.entries == [] and parsed.feed.title == "Quiet"


@pytest.mark.parametrize(("name", "word"), [("cp1251.rss", "Бушерскую"), ("utf16.rss", "بوشهر")])
def test_legacy_and_wide_encodings_decode(name, word):
    parsed = parse_feed(fixture_bytes(name))
    assert len(parsed.entries) == 7
    assert any(word in entry.title for entry in parsed.entries)


PLAIN = [
    "Plain words, no markup at all",
    '<p>Tehran said <a href="/news/1?a=1&amp;b=2">talks</a> resumed.</p>'
    '<figure><img src="/i.jpg" alt=""><figcaption>x</figcaption></figure>',
    "<P CLASS='lead'>caps &amp; quotes &nbsp;&hellip;&#8212;&#x2014;&#150;&apos;</P><br/><hr />",
    '<p>The</a> <a</a> href="/tag/x">left open before the next inline tag</p>',
    "a > b, \"quoted\" and 'single'",
]
NOT_PLAIN = [
    "<p>ok</p><script>alert(1)</script>",
    "<p>ok<script>alert(1)",  # never closed: the sanitiser drops the rest, html_to_text would keep it
    '<p onclick="x">a</p><iframe src="https://e.com/">fallback</iframe>',
    "<nav>menu</nav>body", "<x-embed>a</x-embed>", "<o:p>word</o:p>",
    "a<!-- comment -->b", "a<!-- never closed b", "<![CDATA[x]]>", "<!DOCTYPE html>a", "<?php echo 1 ?>",
    '<a title="1 > 2">x</a>', '<a title="say &#34;hi&#34;">x</a>', "a</br>b", "</p class=x>",
    "AT&T", "&foo; &AMP; &NewLine;", "&amp", "a < b", "<p", "<a</p>", "<span<div>x",
    # harmless to html_to_text, but not as HTML: kept for the sanitiser to clean
    '<img src="x" onerror="alert(1)">', '<p style="background:url(javascript:x)">a</p>',
    '<a href="javascript:alert(1)">a</a>', '<a href="java\nscript:alert(1)">a</a>',
    '<a href="javascript&#58;alert(1)">a</a>', "<a href=javascript:x>a</a>",
    '<img src="data:image/svg+xml,x">', '<p data-x="1">a</p>',
]


@pytest.mark.parametrize("markup", PLAIN)
def test_plain_markup_reads_the_same_as_feedparsers_sanitised_copy(markup):
    assert is_plain_markup(markup)
    assert html_to_text(markup) == html_to_text(sanitise(markup, "text/html", "https://e.com/"))


def test_every_plain_tag_reads_the_same_as_feedparsers_sanitised_copy():
    assert PLAIN_TAGS <= _HTMLSanitizer.acceptable_elements
    for tag in PLAIN_TAGS:
        markup = f'x<{tag} class="c">y{"" if tag not in PLAIN_END_TAGS else f"</{tag}>"}z<{tag}/>w'
        assert is_plain_markup(markup), tag
        assert html_to_text(markup) == html_to_text(sanitise(markup, "text/html", "https://e.com/")), tag


@pytest.mark.parametrize("markup", NOT_PLAIN)
def test_markup_the_sanitiser_would_read_differently_is_not_plain(markup):
    assert not is_plain_markup(markup)


def rss_item(description: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>t</title>'
            f"<link>https://x.example.com/1</link><description>{escape(description)}</description>"
            "</item></channel></rss>").encode()


def test_plain_markup_is_kept_as_the_feed_gave_it():
    body = '<p>Talks <a href="/news/2">resumed</a>.</p><img src="/i.jpg" alt="">'
    assert parse_feed(rss_item(body), "https://x.example.com/rss").entries[0].summary == body


def test_other_markup_is_resolved_and_sanitised_as_feedparser_does():
    body = ('<p onclick="steal()">Talks <a href="/news/2">resumed</a>.</p>'
            '<script>alert(1)</script><iframe src="/x">f</iframe>')
    summary = parse_feed(rss_item(body), "https://x.example.com/rss").entries[0].summary
    headers = {"content-location": "https://x.example.com/rss"}
    expected = feedparser.parse(rss_item(body), response_headers=headers, resolve_relative_uris=True,
                                sanitize_html=True).entries[0].summary
    assert summary == expected == '<p>Talks <a href="https://x.example.com/news/2">resumed</a>.</p>f'


def test_a_summary_equal_to_its_content_is_sanitised_with_it():
    feed = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>t</title>'
            b'<id>urn:x:1</id><link href="https://x.example.com/1"/><updated>2025-11-08T10:00:00Z</updated>'
            b'<summary type="html">&lt;p&gt;Body&lt;/p&gt;</summary>'
            b'<content type="html">&lt;p&gt;Body&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</content></entry></feed>')
    entry = parse_feed(feed).entries[0]
    assert entry.summary == entry.content[0].value == "<p>Body</p>"


def test_feedparser_reads_text_through_the_buffered_expat_reader(monkeypatch):
    assert isinstance(xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS), BufferedExpatReader)
    body = "<p>" + "&amp;".join(["one", "two", "три"]) + "</p>\n<p>line&#8212;end</p>\n" * 300
    buffered = parse_feed(rss_item(body))
    monkeypatch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", [])  # Python's own expat reader
    assert buffered == parse_feed(rss_item(body)) and buffered.entries[0].summary == body.strip()


def test_feedparsers_cp1252_mapping_translates_as_its_own_table_does():
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    assert every.translate(feedparser.mixin._cp1252) == every.translate(feedparser.html._cp1252)
    assert "\x80\x9f\x81".translate(feedparser.mixin._cp1252) == "€Ÿ\x81"


def test_a_huge_hostile_tag_is_judged_quickly_and_not_kept():
    started, before = time.monotonic(), parser._known_tag.cache_info().currsize
    for value in ("x" * 400_000, "x " * 200_000, '"' * 200_000, "<a " + "b=1 " * 100_000):
        assert not is_plain_markup(f'<p title="{value}>text') and not is_plain_markup(f"<p {value}>")
    assert time.monotonic() - started < 1 and parser._known_tag.cache_info().currsize - before <= 8
