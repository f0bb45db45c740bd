"""Parser: hostile XML is neutralised, non-feeds are named, encodings decode."""
from __future__ import annotations

import time

import pytest
from newsmon.collectors.parser import FeedParseError, neutralise, parse_feed

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
