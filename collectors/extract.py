"""The article behind a teaser: its text and what the page knows better than the feed.

Most outlets' feeds carry a headline and a sentence; the linked page carries the article.
`extract_page` turns a fetched page's bytes into a `Page` (text, title, authors,
publication time, canonical URL, declared language) or a reason it could not: the fetcher
(collectors/pages.py) decides whether to fetch, `with_page` / `as_teaser` / `as_feed` say
what the article carries afterwards. Pure: bytes in, values out, so live collection,
`newsmon replay` and `newsmon reprocess --reextract` give the same result from the same bytes.

The body is the page's JSON-LD `articleBody` when it is there and whole (the publisher's
own copy of the text, free of boilerplate), else trafilatura's main-text extraction.
"""
from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import msgspec
import trafilatura
from lxml import etree
from newsmon.collectors.normalize import language_tag
from newsmon.schemas.article import Article

from newsmon.core.text import html_to_text
from newsmon.core.times import TimeFormatError, iso_from_datetime, parse_iso

# Reasons (Article.body_reason) decided here; the fetcher adds its own (robots, http-404, ...).
NOT_HTML = "not-html"
EXTRACTION_EMPTY = "extraction-empty"
PAYWALL = "paywall"
FULL_TEXT_OFF = "full-text-off"  # a teaser kept because full_text is `never`
NOT_ARCHIVED = "not-archived"  # replay / reextract: the page was never fetched or not kept

MODES = ("auto", "always", "never")
DEFAULT_MIN_WORDS = 150
MIN_PAGE_WORDS = 20  # fewer words than this is no article (an error page, a gallery, a video)
PAYWALL_WORDS = 150  # a gated page shows at most a lead of about this length
MAX_PARSED_BYTES = 1_000_000  # a bigger page is slimmed, then cut here (see `slim`)
LAYOUT_CELL_WORDS = 80  # a table cell with this many words is page layout, not data
RIGHTS_AFTER_WORDS = 50  # a rights notice after this many words of text closes the article
LINK_LIST_MIN = 5  # links in a list or nav before its link density is looked at
LINK_LIST_SHARE = 0.8  # share of its text inside links that makes it a menu
JSON_LD_COVERAGE = 0.8  # articleBody is whole if it has at least this share of the extracted words

TRAFILATURA_OPTIONS = {  # measured on the dev set (docs/collectors.md, "Article pages")
    "include_comments": False, "include_tables": True, "deduplicate": False,
    "favor_precision": False, "favor_recall": False, "no_fallback": False, "with_metadata": False,
}
ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting", "LiveBlogPosting", "Report",
    "ScholarlyArticle", "TechArticle", "SocialMediaPosting",
})
_NOT_HTML_TYPES = re.compile(r"^(application/(pdf|json|zip|octet-stream|msword|vnd\.|x-)|image/|audio/|video/|font/)")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"RIFF", b"\x1f\x8b", b"OggS")
_MARKUP_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|p|article|!--)",
                           re.IGNORECASE | re.DOTALL)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_TRUNCATED_END = re.compile(r"(\.\.\.|…|\[\s*…?\s*\]|read more|continue reading)\s*$", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|–—:·•»-]{1,2}\s+")
_PAYWALL_MARK = re.compile(r"paywall|pay-wall|piano-|subscriber-only|premium-(content|article|gate)|meter(ed)?-?wall"
                           r"|regwall|article-gate|subscribe-(wall|gate)", re.IGNORECASE)
_GENERIC_LABELS = frozenset({"www", "m", "amp", "mobile", "en", "ru", "fa", "ar", "news", "co", "com", "org", "net", "example"})
_RIGHTS_RESERVED = re.compile(r"all rights reserved|все права защищены|کلیه حقوق|تمامی حقوق|جميع الحقوق محفوظة|حقوق النشر محفوظة",
                              re.IGNORECASE)
_END_MARK = re.compile(r"^[/*#\[(]\s*[^\W\d_]+(?:\s+[^\W\d_]+){0,2}\s*[/*#\])]?$|^[^\W\d_]+(?:\s+[^\W\d_]+){0,2}\s*/$")
_HOSTNAME = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+\.(?:com|org|net|ir|ru|uk|tv|example)\b", re.IGNORECASE)
_NO_LETTERS = re.compile(r"^[\W\d_]*$")
_LEAD_ELEMENT = etree.XPath("//body//*[self::p or self::div or self::span or self::h2 or self::h3 or self::strong"
                            " or self::section][normalize-space(.) = $wanted][1]")
_BLOCK_TAGS = frozenset({"p", "div", "ul", "ol", "nav", "form", "table", "h1", "h2", "h3", "article", "section"})
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>")
_LINK_BLOCKS = etree.XPath("//body//*[self::ul or self::ol or self::nav or self::menu][not(ancestor::ul or ancestor::ol"
                           " or ancestor::nav or ancestor::menu)]")
_WORD = re.compile(r"\w+")
# trafilatura drops every non-printable character, and with them the zero-width (non-)joiners
# Persian spelling needs inside words (می‌شود); they cross the extractor as two printable
# letters no news text uses, and are put back in every field of the Page.
_JOINERS_KEPT = str.maketrans({"\u200c": "\u02ac", "\u200d": "\u02ad"})
_JOINERS_BACK = str.maketrans({"\u02ac": "\u200c", "\u02ad": "\u200d"})
_HEAVY_BLOCKS = re.compile(rb"<(?:script(?![^>]*ld\+json)[^>]*>.*?</script\s*|style[^>]*>.*?</style\s*|svg[^>]*>.*?</svg\s*"
                           rb"|!--.*?--)>", re.IGNORECASE | re.DOTALL)
_INLINE_DATA = re.compile(rb"""=\s*["']data:[^"']*["']""")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")  # lxml refuses str input that declares an encoding


class PageSkipped(Exception):
    """A page that yields no article; the message is its reason code."""


@dataclass(frozen=True)
class Page:
    text: str = ""
    title: str = ""
    authors: tuple[str, ...] = ()
    published: str = ""  # ISO 8601 UTC
    canonical_url: str = ""
    language: str = ""  # declared by the page (<html lang>, og:locale, JSON-LD inLanguage, content-language)
    reason: str = ""  # "" on success, else why there is no text (NOT_HTML, EXTRACTION_EMPTY, PAYWALL)


def extract_page(body: bytes, url: str, content_type: str = "") -> Page:
    """The article of one fetched page, or a `Page` whose `reason` says why there is none."""
    try:
        tree = parse_html(body, content_type)
    except PageSkipped as skipped:
        return Page(reason=str(skipped))
    facts = page_facts(tree, url)
    text = article_text(tree, url, facts).translate(_JOINERS_BACK)
    title = facts.title.translate(_JOINERS_BACK)
    if facts.gated and word_count(text) < PAYWALL_WORDS:
        return Page(title=title, canonical_url=facts.canonical_url, reason=PAYWALL)
    if word_count(text) < MIN_PAGE_WORDS:
        return Page(title=title, canonical_url=facts.canonical_url, reason=EXTRACTION_EMPTY)
    authors = tuple(author.translate(_JOINERS_BACK) for author in facts.authors)
    return Page(text, title, authors, facts.published, facts.canonical_url, facts.language)


# --- decoding and parsing ---------------------------------------------------------------

def parse_html(body: bytes, content_type: str = "") -> etree._Element:
    """The page's element tree; raises PageSkipped(NOT_HTML) for PDFs, images, JSON, empty bodies."""
    if not looks_like_html(body, content_type):
        raise PageSkipped(NOT_HTML)
    text = _XML_DECLARATION.sub("", decode_html(slim(body), content_type), count=1)
    text = text.translate(_JOINERS_KEPT) if "\u200c" in text or "\u200d" in text else text
    try:
        tree = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        raise PageSkipped(NOT_HTML) from None
    return tree


def slim(body: bytes) -> bytes:
    """A page over MAX_PARSED_BYTES without its scripts (JSON-LD kept), styles, SVG and comments,
    then cut there: big pages are big with app state and inline images, not with article."""
    if len(body) <= MAX_PARSED_BYTES:
        return body
    return _INLINE_DATA.sub(b'=""', _HEAVY_BLOCKS.sub(b"", body))[:MAX_PARSED_BYTES]


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    """HTML by its bytes: a declared non-HTML type or binary magic wins over everything."""
    media = content_type.split(";", 1)[0].strip().lower()
    head = body[:1024].lstrip()
    if not head or _NOT_HTML_TYPES.match(media) or head.startswith(_BINARY_MAGIC):
        return False
    if media in ("text/html", "application/xhtml+xml"):
        return not head.startswith((b"{", b"["))
    return bool(_MARKUP_START.match(_without_bom(head)))


def decode_html(body: bytes, content_type: str = "") -> str:
    """Text of the page: BOM, else the header's charset, else <meta charset>, else UTF-8 (bad bytes replaced)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace")
    declared = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(body[:4096])
    for candidate in (declared.group(1) if declared else "", meta.group(1).decode("ascii") if meta else ""):
        encoding = known_encoding(candidate)
        if encoding:
            return body.decode(encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


def known_encoding(name: str) -> str:
    """A codec Python knows for `name`, "" if none; latin-1 read as cp1252, as browsers do."""
    try:
        codec = codecs.lookup(name.strip().strip("'\"")).name if name.strip() else ""
    except LookupError:
        return ""
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _without_bom(head: bytes) -> bytes:
    return head.removeprefix(codecs.BOM_UTF8)


# --- what the page says about itself -----------------------------------------------------

@dataclass(frozen=True)
class Facts:
    title: str
    authors: tuple[str, ...]
    published: str
    canonical_url: str
    language: str
    body: str  # JSON-LD articleBody, plain text, "" if none
    word_count: int  # JSON-LD wordCount, 0 if none
    description: str  # meta / og description: often the lead paragraph
    gated: bool  # the page says its article is behind a paywall


def page_facts(tree: etree._Element, url: str) -> Facts:
    """Metadata from JSON-LD first (the publisher's structured copy), then <meta>/<link>/<time>."""
    meta = meta_values(tree)
    ld = json_ld_article(tree)
    site = str(meta.get("og:site_name", ""))
    title = (_text(ld.get("headline")) or meta.get("og:title", "") or meta.get("twitter:title", "")
             or _text(tree.findtext(".//title")))
    published = (first_time(ld.get("datePublished"), meta.get("article:published_time"),
                            meta.get("datepublished"), meta.get("pubdate"), meta.get("publish-date"),
                            meta.get("date"), meta.get("dc.date"), *tree.xpath("//time/@datetime")[:1]))
    language = language_tag(str(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or "")
                            or _text(ld.get("inLanguage")) or meta.get("og:locale", "")
                            or meta.get("content-language", "") or meta.get("language", ""))
    return Facts(
        title=strip_site_name(title, site, url),
        authors=ld_authors(ld.get("author")) or meta_authors(meta.get("author", ""), meta.get("article:author", "")),
        published=published,
        canonical_url=canonical_url(tree, url, meta, ld),
        language=language if re.fullmatch(r"[a-z]{2,3}", language) else "",
        body=plain_body(ld.get("articleBody")),
        word_count=_number(ld.get("wordCount")),
        description=meta.get("description", "") or meta.get("og:description", "") or _text(ld.get("description")),
        gated=_false(ld.get("isAccessibleForFree")) or has_paywall_mark(tree),
    )


def meta_values(tree: etree._Element) -> dict[str, str]:
    """<meta property|name|itemprop|http-equiv = content>, keys lower-cased, first value wins."""
    values: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or element.get("http-equiv")
        content = (element.get("content") or "").strip()
        if key and content:
            values.setdefault(key.strip().lower(), content)
    return values


def json_ld_article(tree: etree._Element) -> dict[str, Any]:
    """The first JSON-LD object typed as an article (top level, in a list or in @graph), else {}."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue  # one broken block must not hide the others
        for node in json_ld_nodes(data):
            types = node.get("@type")
            if set(types if isinstance(types, list) else [types]) & ARTICLE_TYPES:
                return node
    return {}


def json_ld_nodes(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from json_ld_nodes(item)
    elif isinstance(data, dict):
        yield data
        yield from json_ld_nodes(data.get("@graph", []))


def plain_body(value: Any) -> str:
    """JSON-LD articleBody as text, one paragraph a line: publishers put plain text (paragraphs
    on lines) or HTML there."""
    if isinstance(value, list):
        value = "\n".join(item for item in value if isinstance(item, str))
    if not isinstance(value, str):
        return ""
    if _MARKUP.search(value):
        return html_to_text(value)
    return "\n".join(" ".join(line.split()) for line in html.unescape(value).splitlines() if line.strip())


def ld_authors(value: Any) -> tuple[str, ...]:
    """JSON-LD author: a name, a Person/Organization, or a list of them."""
    items = value if isinstance(value, list) else [value]
    names = [_text(item.get("name") if isinstance(item, dict) else item) for item in items]
    return _distinct(name for name in names if name and not _is_url(name))


def meta_authors(*values: str) -> tuple[str, ...]:
    names = [part.strip() for value in values for part in re.split(r"\s*[,;]\s*|\s+and\s+", value)]
    return _distinct(name for name in names if name and not _is_url(name))


def first_time(*values: Any) -> str:
    """The first value that reads as an ISO 8601 time, as UTC wire format; "" if none does."""
    for value in values:
        try:
            return iso_from_datetime(parse_iso(_text(value)))
        except TimeFormatError:
            continue
    return ""


def canonical_url(tree: etree._Element, url: str, meta: dict[str, str], ld: dict[str, Any]) -> str:
    """<link rel=canonical>, else og:url, else JSON-LD url; absolute http(s) or ""."""
    links = [link.get("href", "") for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split()]
    entity = ld.get("mainEntityOfPage")
    for candidate in (*links, meta.get("og:url", ""), _text(ld.get("url")),
                      _text(entity.get("@id") if isinstance(entity, dict) else entity)):
        absolute = urljoin(url, candidate.strip()) if candidate.strip() else ""
        if _is_url(absolute):
            return absolute
    return ""


def strip_site_name(title: str, site: str, url: str) -> str:
    """'Headline | Site name' -> 'Headline': a last (or first) segment naming the site goes."""
    title = " ".join(title.split())
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    names = {_letters(site)} | {_letters(label) for label in site_labels(url)}
    names = {name for name in names if len(name) >= 4}
    if _names_site(parts[-1], names):
        return title[: title.rfind(parts[-1])].rstrip(" |–—:·•»-")
    if _names_site(parts[0], names):
        return title[len(parts[0]):].lstrip(" |–—:·•»-")
    return title


def site_labels(url: str) -> list[str]:
    """The host's distinctive labels: 'www.tehrantimes.com' -> ['tehrantimes']."""
    labels = (urlsplit(url).hostname or "").split(".")[:-1]
    return [label for label in labels if label not in _GENERIC_LABELS]


def _names_site(segment: str, names: set[str]) -> bool:
    letters = _letters(segment)
    return len(letters) >= 3 and any(letters == name or letters in name or name in letters for name in names)


def has_paywall_mark(tree: etree._Element) -> bool:
    """An element whose class or id names a paywall, a metered wall or a subscriber gate."""
    return any(_PAYWALL_MARK.search(value) for value in tree.xpath("//body//@class | //body//@id"))


# --- the text -----------------------------------------------------------------------------

def article_text(tree: etree._Element, url: str, facts: Facts) -> str:
    """JSON-LD articleBody when whole, else trafilatura's main text with its lead put back and
    the title and byline it repeats taken off."""
    lead = lead_paragraph(tree, facts.description)
    drop_link_lists(tree)
    unwrap_layout_tables(tree)
    extracted = trafilatura_text(tree, url)
    if whole_body(facts.body, extracted, facts.word_count):
        return facts.body
    if lead:  # first, where the page prints it (extractors leave it out, or append it last)
        extracted = "\n".join([lead, *(line for line in extracted.split("\n") if line.strip() != lead)])
    return without_trailing_boilerplate(without_heading_lines(extracted, facts.title, facts.authors))


def whole_body(ld_body: str, extracted: str, declared_words: int) -> bool:
    """A JSON-LD articleBody is the article unless it ends cut ("…", "read more") or is clearly
    shorter than the page's text or than its own declared wordCount."""
    words = word_count(ld_body)
    return bool(ld_body) and not _TRUNCATED_END.search(ld_body) and words >= JSON_LD_COVERAGE * max(
        word_count(extracted), declared_words)


def lead_paragraph(tree: etree._Element, description: str) -> str:
    """The page's own lead: a body element whose whole text is the meta description (the
    standfirst agencies print above the article, which extractors tend to leave out)."""
    wanted = " ".join(description.split())
    if word_count(wanted) < 8 or _TRUNCATED_END.search(wanted):
        return ""
    return wanted if _LEAD_ELEMENT(tree, wanted=wanted) else ""


def drop_link_lists(tree: etree._Element) -> None:
    """Menus and link lists go before the extractor sees them: a list or nav whose text is
    nearly all link text is never the article, and testing every such block for link density
    is most of trafilatura's time on pages with a mega-menu."""
    for block in _LINK_BLOCKS(tree):
        if block.getparent() is None or len(links := block.findall(".//a")) < LINK_LIST_MIN:
            continue
        text = len("".join(block.itertext()).strip())
        linked = sum(len("".join(link.itertext()).strip()) for link in links)
        if text and linked >= LINK_LIST_SHARE * text:
            block.getparent().remove(block)


def unwrap_layout_tables(tree: etree._Element) -> None:
    """Tables used for page layout (old CMSs) become plain blocks, so the extractor looks for the
    article inside their cells instead of keeping or dropping the whole page as one table."""
    for table in [t for t in tree.iter("table") if is_layout_table(t)]:
        for element in [table, *table.iterchildren("tbody", "thead", "tfoot")]:
            element.tag = "div"
        for row in table.iter("tr"):
            row.tag = "div"
        for cell in [c for c in table.iter("td", "th") if c.getparent() is not None and c.getparent().tag == "div"]:
            cell.tag = "div"


def is_layout_table(table: etree._Element) -> bool:
    """Readability's test, simplified: presentation role, a nested table, or a cell holding a
    text's worth of words or block markup; never a table with a caption or header cells."""
    if (table.get("role") or "").lower() == "presentation":
        return True
    if table.find(".//caption") is not None or table.find(".//th") is not None:
        return False
    if table.find(".//table") is not None:
        return True
    return any(word_count(" ".join(cell.itertext())) >= LAYOUT_CELL_WORDS or cell.find("br") is not None
               or any(child.tag in _BLOCK_TAGS for child in cell) for cell in table.iter("td"))


def without_heading_lines(text: str, title: str, authors: tuple[str, ...]) -> str:
    """Leading lines that only repeat the headline, the byline or a date are not the article."""
    repeats = {_letters(title)} | {_letters(a) for a in authors} | {_letters(f"by {a}") for a in authors}
    lines = text.split("\n")
    while lines and (_letters(lines[0]) in repeats - {""} or _NO_LETTERS.match(lines[0])):
        lines.pop(0)
    return "\n".join(lines)


def without_trailing_boilerplate(text: str) -> str:
    """A rights notice after the first paragraphs ends the article (old CMSs print it, and the
    related links after it, inside the article's own cell); so do end marks ("/ انتهای پیام /")
    and a last line of site addresses."""
    lines, words = text.split("\n"), 0
    for index, line in enumerate(lines):
        if words >= RIGHTS_AFTER_WORDS and word_count(line) < 30 and _RIGHTS_RESERVED.search(line):
            lines = lines[:index]
            break
        words += word_count(line)
    while len(lines) > 1 and (_END_MARK.match(lines[-1].strip()) or len(_HOSTNAME.findall(lines[-1])) >= 2):
        lines.pop()  # an agency's end-of-story mark, a "we are also at these addresses" trailer
    return "\n".join(lines)


def trafilatura_text(tree: etree._Element, url: str) -> str:
    document = trafilatura.bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)
    return (document.text or "") if document is not None else ""


def word_count(text: str) -> int:
    return len(text.split())


# --- what the article carries -------------------------------------------------------------

def wants_page(article: Article, mode: str, min_words: int = DEFAULT_MIN_WORDS) -> bool:
    """Should the linked page be fetched? auto: only when the feed's text is shorter than `min_words`."""
    if mode == "never" or not _is_url(article.url):
        return False
    return mode == "always" or feed_words(article) < min_words


def with_page(article: Article, page: Page) -> Article:
    """The article with the page's text and the facts the feed lacked; the feed's text wins when longer."""
    if page.reason:
        return as_teaser(article, page.reason)
    feed_text = html_to_text(article.content or article.summary)
    longer = word_count(page.text) > word_count(feed_text)
    return msgspec.structs.replace(
        article,
        content=page.text if longer else article.content,
        summary=article.summary or article.content,
        body_source="page" if longer else "feed",
        body_reason="",
        canonical_link=article.canonical_link or page.canonical_url,
        title=article.title or page.title,
        authors=article.authors or list(page.authors),
        published=page.published if page.published and article.published in ("", article.fetched) else article.published,
        declared_language=article.declared_language or page.language,
    )


def as_teaser(article: Article, reason: str) -> Article:
    """The feed's text stays: the page was not fetched, or gave no article, for `reason`."""
    return msgspec.structs.replace(article, body_source="teaser", body_reason=reason)


def as_feed(article: Article) -> Article:
    """The feed carried the article itself."""
    return msgspec.structs.replace(article, body_source="feed", body_reason="")


def without_page(article: Article, min_words: int = DEFAULT_MIN_WORDS) -> Article:
    """No page wanted (`wants_page` said no): the feed's text is the article when it is long
    enough, else it stays a teaser because full text is off (FULL_TEXT_OFF)."""
    return as_feed(article) if feed_words(article) >= min_words else as_teaser(article, FULL_TEXT_OFF)


def feed_words(article: Article) -> int:
    return word_count(html_to_text(article.content or article.summary))


# --- small helpers -------------------------------------------------------------------------

def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _number(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        return 0


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _letters(value: str) -> str:
    return "".join(_WORD.findall(value.lower())).replace("_", "")


def _distinct(names: Iterator[str] | Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
