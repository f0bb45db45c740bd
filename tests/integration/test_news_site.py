"""A loopback news site behind a teaser-only feed, collected by `newsmon collect --once --stdout`.

Two outlets on loopback (two ports: two hosts to the page stage). The feed carries one
sentence per item, in en/ru/fa, and links to the cases a page fetcher meets: a page with
JSON-LD, one with heavy boilerplate and a comment section, one under robots.txt Disallow,
a slow one, one answering 429 with Retry-After, one redirecting to a private address, a
PDF, a 20 MB page, a paywall stub and a 404. The pages are the extraction dev set's
(tests/fixtures/pages, written from the seeds) plus stubs written here. The server records
every request, so the test checks the politeness from the other end: the per-host interval
and concurrency, robots.txt read once per host, the backoff of the limited host only.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from newsmon.bench.extraction import score
from newsmon.collectors.archive import archived_page

from tests.integration.helpers import clean_env
from tests.loopback import serve

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "tests" / "fixtures" / "pages"
INTERVAL = 0.5  # page_host_interval_seconds for this run
RETRY_AFTER = 2  # seconds the limited page asks for
SLOW = 1.5  # seconds the slow page takes (the page timeout is 5)
SLACK = 0.1  # request receipt jitter on a loaded machine

ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PAYWALL = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>What the envoys agreed on sanctions | Ledger</title>
<meta property="og:type" content="article"></head><body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<article><h1>What the envoys agreed on sanctions</h1><p class="lead">Envoys from three capitals spent a second night on the wording
of the sanctions text, and a draft shown to reporters suggests the deadline may move once more.</p>
<div class="paywall-gate"><p>This story is for subscribers. Subscribe to keep reading, or sign in if you already have an account.</p>
<a href="/subscribe">Subscribe now</a></div></article><footer>Ledger Media Group</footer></body></html>"""
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HUGE = 20 * 1024 * 1024
FULL_TEXT = " ".join(["The feed of this outlet carries whole articles, so the collector has nothing to fetch:"] +
                     ["the port authority said the new berth would open in spring and take ships of twice the size."] * 12)


def fixture(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def truth(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    path: str  # on the outlet named by `host`
    host: str  # "a" (the outlet serving the feed) or "b"
    teaser: str
    source: str  # expected body_source
    reason: str = ""  # expected body_reason
    truth: str = ""  # fixture text the page's content must match


CASES = [  # the 429 case first: its backoff then overlaps the other host's pages
    Case("/news/limited", "a", "Тегеран и Москва обсудили график поставок топлива.", "page", truth="fa-portal.txt"),
    Case("/news/jsonld", "a", "A Russian envoy says the partnership will not bend to pressure.", "page",
         truth="en-portal.txt"),
    Case("/news/comments", "a", "Novak says energy ties with Tehran keep growing.", "page", truth="en-agency.txt"),
    Case("/private/members-only", "a", "A page robots.txt keeps us from.", "teaser", "robots"),
    Case("/news/slow", "a", "Новак: связи России и Ирана будут расти.", "page", truth="ru-agency.txt"),
    Case("/news/moved", "a", "A story that moved inside someone's network.", "teaser", "redirect-private"),
    Case("/news/report.pdf", "a", "گزارش سالانه به صورت پی‌دی‌اف منتشر شد.", "teaser", "not-html"),
    Case("/news/huge", "a", "A page far over the size cap.", "teaser", "too-large"),
    Case("/news/paywall", "a", "Envoys spent a second night on the sanctions text.", "teaser", "paywall"),
    Case("/news/gone", "a", "A story the outlet took down.", "teaser", "http-404"),
    Case("/news/full", "a", FULL_TEXT, "feed"),
    Case("/news/ru", "b", "Посол России: партнёрство с Ираном не уступит давлению.", "page", truth="ru-portal.txt"),
    Case("/news/fa", "b", "سفیر روسیه از ادامه همکاری‌ها خبر داد.", "page", truth="fa-blog.txt"),
    Case("/news/en", "b", "Iran hails the new strategic pact with Russia.", "page", truth="en-wire.txt"),
]


class Site:
    """Both outlets' routes and every request they received: (host, path, start, end)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, float, float]] = []
        self.limited_calls = 0
        self.bases: dict[str, str] = {}

    def handler(self, host: str) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # http.server's naming
                started = time.monotonic()
                try:
                    site.answer(self, host)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up (the 20 MB page): what it should do
                finally:
                    with site.lock:
                        site.requests.append((host, self.path, started, time.monotonic()))

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, handler: BaseHTTPRequestHandler, host: str) -> None:
        path = handler.path
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return send(handler, 200, ROBOTS, "text/plain")
        if host == "b":
            pages = {"/news/ru": "ru-portal.html", "/news/fa": "fa-blog.html", "/news/en": "en-wire.html"}
            return send(handler, 200, fixture(pages[path]), html) if path in pages else send(handler, 404, b"")
        if path == "/rss":
            return send(handler, 200, self.feed(), "application/rss+xml")
        if path == "/news/limited":
            with self.lock:
                self.limited_calls += 1
                first = self.limited_calls == 1
            if first:
                return send(handler, 429, b"slow down", "text/plain", {"Retry-After": str(RETRY_AFTER)})
            return send(handler, 200, fixture("fa-portal.html"), html)
        if path == "/news/slow":
            time.sleep(SLOW)
            return send(handler, 200, fixture("ru-agency.html"), html)
        if path == "/news/huge":
            handler.send_response(200)
            handler.send_header("Content-Type", html)
            handler.send_header("Content-Length", str(HUGE))
            handler.end_headers()
            chunk = b"<p>" + b"filler " * 9000 + b"</p>\n"
            for _ in range(HUGE // len(chunk)):
                handler.wfile.write(chunk)
            return None
        static = {"/news/jsonld": (fixture("en-portal.html"), html), "/news/comments": (fixture("en-agency.html"), html),
                  "/news/report.pdf": (PDF, "application/pdf"), "/news/paywall": (PAYWALL, html)}
        if path in static:
            return send(handler, 200, *static[path])
        if path == "/news/moved":
            return send(handler, 302, b"", "text/plain", {"Location": "http://10.1.2.3/news/moved"})
        return send(handler, 404, b"<html><body>Not found</body></html>", html)

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>Case {case.path}</title><link>{self.bases[case.host]}{case.path}</link>"
            f"<guid>{case.host}{case.path}</guid><description>{case.teaser}</description>"
            "<pubDate>Tue, 04 Nov 2025 07:00:00 GMT</pubDate></item>" for case in CASES)
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loopback Herald</title>'
                f"<link>{self.bases['a']}/</link>{items}</channel></rss>").encode()

    def of(self, host: str, pages_only: bool = True) -> list[tuple[str, float, float]]:
        return sorted((path, start, end) for h, path, start, end in self.requests
                      if h == host and (not pages_only or path not in ("/rss", "/robots.txt")))


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def most_in_flight(requests: list[tuple[str, float, float]]) -> int:
    events = sorted([(start, 1) for _, start, _ in requests] + [(end, -1) for _, _, end in requests])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_a_teaser_feed_gets_its_pages_politely_and_loses_no_article(tmp_path):
    site = Site()
    with serve(site.handler("a")) as base_a, serve(site.handler("b")) as base_b:
        site.bases = {"a": base_a, "b": base_b}
        env = clean_env(NEWSMON_DATA_DIR=str(tmp_path / "data"), NEWSMON_CONFIG=os.devnull,
                        NEWSMON_FULL_TEXT="auto", NEWSMON_PAGE_HOST_INTERVAL_SECONDS=str(INTERVAL),
                        NEWSMON_PAGE_HOST_CONCURRENCY="2", NEWSMON_PAGE_TIMEOUT_SECONDS="5")
        result = subprocess.run([sys.executable, "-m", "newsmon.cli", "collect", "--once", "--stdout",
                                 "--feed", f"{base_a}/rss"], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]

    # every entry comes out once, with the body the case calls for
    by_url = {record["url"]: record for record in records}
    assert len(records) == len(CASES) == len(by_url), sorted(by_url)
    for case in CASES:
        record = by_url[site.bases[case.host] + case.path]
        assert (record.get("body_source"), record.get("body_reason", "")) == (case.source, case.reason), case.path
        if case.truth:
            assert score(record["content"], truth(case.truth)).f1 >= 0.9, case.path
            assert record["summary"] == case.teaser  # the feed's teaser is kept beside the article
        elif case.source == "teaser":
            assert record.get("content", record.get("summary")) == case.teaser, case.path
    comments = by_url[f"{site.bases['a']}/news/comments"]["content"]
    assert "big announcements, slow delivery" not in comments  # the comment section is not the article
    assert archived_page(tmp_path / "data", f"{site.bases['a']}/news/jsonld")[0] == fixture("en-portal.html")

    # never asked: what robots.txt disallows, and the page of an entry that carried its article
    asked = {path for _, path, _, _ in site.requests}
    assert "/private/members-only" not in asked and "/news/full" not in asked
    assert [path for host, path, _, _ in site.requests if path == "/robots.txt"] == ["/robots.txt"] * 2
    assert all(start >= min(s for h, p, s, _ in site.requests if h == "b" and p == "/robots.txt")
               for _, start, _ in site.of("b"))

    # politeness, seen by the servers: interval and concurrency per host
    for host in ("a", "b"):
        requests = site.of(host, pages_only=False)
        starts = sorted(start for path, start, _ in requests if path != "/rss")
        assert min(b - a for a, b in itertools.pairwise(starts)) >= INTERVAL - SLACK, (host, starts)
        assert most_in_flight([r for r in requests if r[0] != "/rss"]) <= 2

    # the 429 backed off host a, and only host a
    limited = [(start, end) for path, start, end in site.of("a") if path == "/news/limited"]
    assert len(limited) == 2, "asked again after the backoff"
    answered_429 = limited[0][1]
    quiet_until = answered_429 + RETRY_AFTER - SLACK
    assert not [path for path, start, _ in site.of("a") if answered_429 < start < quiet_until]
    assert [path for path, start, _ in site.of("b") if answered_429 < start < quiet_until], "host b went on"
    assert result.stderr.count("event=page-host-backing-off") == 1  # one line per host state change
