import pytest

from newsmon.core.urls import article_id, canonicalize_url

BASE = "https://example.com/news/story"


@pytest.mark.parametrize(
    "variant",
    [
        "http://example.com/news/story",
        "HTTPS://WWW.Example.COM/news/story/",
        "https://example.com:443/news/story#comments",
        "http://example.com:80/news/story?utm_source=rss&utm_medium=feed",
        "https://example.com/news/story?fbclid=abc&gclid=1&ref=home&mc_cid=x",
        "https://amp.example.com/news/story",
        "https://example.com/amp/news/story",
        "https://example.com/news/story/amp/",
        "https://example.com/news/story?amp=1",
        "https://example.com/news/story?amp",
        "https://example.com/news/story.amp",
        "https://m.example.com/news/story",
        "https://user@example.com/news/story",
    ],
)
def test_variants_fold_to_one_url(variant):
    assert canonicalize_url(variant) == BASE


def test_query_is_sorted_and_meaningful_params_kept():
    assert canonicalize_url("https://example.com/a?b=2&a=1&utm_campaign=x") == "https://example.com/a?a=1&b=2"
    assert canonicalize_url("https://example.com/a?id=7") != canonicalize_url("https://example.com/a?id=8")


def test_canonical_link_wins_and_may_be_relative():
    assert canonicalize_url("https://example.com/amp/x?amp=1", "https://www.example.com/news/x/") == "https://example.com/news/x"
    assert canonicalize_url("https://example.com/amp/x", "/news/x") == "https://example.com/news/x"


def test_percent_encoding_is_normalised():
    raw = "https://example.com/fa/news/تهران"
    encoded = "https://example.com/fa/news/%d8%aa%d9%87%d8%b1%d8%a7%d9%86"
    assert canonicalize_url(raw) == canonicalize_url(encoded)


def test_non_default_port_and_root_are_kept():
    assert canonicalize_url("http://example.com:8080") == "https://example.com:8080/"


def test_article_id_is_stable_hex():
    first = article_id(BASE)
    assert first == article_id(canonicalize_url("http://www.example.com/news/story/"))
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != article_id(BASE + "2")


def test_plain_urls_are_split_as_urlsplit_splits_them():
    """canonicalize_url's one-match fast path takes exactly the parts urlsplit would."""
    from itertools import product
    from urllib.parse import urlsplit

    from newsmon.core.urls import _PLAIN_URL

    hosts = ["www.x.com", "X.COM.", "x.com:443", "x.com:99999", "", "u:p@x.com", "[::1]", "خبر.ir"]
    paths = ["", "/", "//a", "/amp/x.amp.html", "/a%2Fb", "/خبر", "/a b", "/a\tb", "/a\nb", "/@:;~", "/\x00"]
    queries = ["", "?", "?b=2&a=1&utm_source=x", "?a=1?b=2", "?x=%20", "?a\r"]
    taken = 0
    for scheme, host, path, query, fragment in product(["http://", "https://", "HTTP://", "ftp://"], hosts, paths, queries, ["", "#f"]):
        url = f"{scheme}{host}{path}{query}{fragment}"
        if plain := _PLAIN_URL.fullmatch(url):
            parts, taken = urlsplit(url), taken + 1
            assert parts.scheme in ("http", "https") and not parts.fragment, url
            assert (parts.netloc, parts.path, parts.query) == tuple(part or "" for part in plain.groups()), url
    assert taken > 100


def test_paths_taken_as_they_are_need_no_folding():
    """A path _path returns unchanged has no %, no empty or amp segment and only characters quote keeps."""
    from urllib.parse import quote

    from newsmon.core.urls import _CANONICAL_PATH, _PATH_SAFE

    for path in ["/news/7/0", "/a/b.html", "/x:y@z/~_-.!$&'()*+,;=", "/2025/11/08/story-slug"]:
        assert _CANONICAL_PATH.fullmatch(path) and quote(path, safe=_PATH_SAFE) == path
    for path in ["", "/", "/a/", "//a", "/a%20b", "/خبر", "/a b", "/a\n"]:
        assert not _CANONICAL_PATH.fullmatch(path), path
    for variant in ["/amp/news/x", "/news/x/amp", "/news/x.amp", "/news/x.AMP.html", "/news/x/"]:
        assert canonicalize_url(f"https://example.com{variant}").startswith("https://example.com/news/x"), variant
