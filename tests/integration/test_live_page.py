"""The live page in a real browser (system Chromium via Playwright) against `newsmon up`.

A loopback feed serves one sample file, then another one mid-test, and a hostile article and
an Arabic teaser (its page refused with 429) go straight into news.raw: the open page must
show counts, stories as events ("also reported by") and alerts, the arrivals per language and
body source, the outlet backing off, update without a reload, show the hostile title as text,
render the Arabic title right to left, and fit a phone's width. The laptop
view is saved in the test's temporary folder; `NEWSMON_SCREENSHOT=docs/live-page.png` saves
it as the README's picture instead (a test run never rewrites tracked files by itself).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from aiokafka import AIOKafkaProducer
from newsmon.schemas.article import Article, encode

from newsmon.core.times import now_iso
from tests.conftest import REPO
from tests.integration.helpers import running_up, serve_directory, settle, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("up")]
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SAMPLES = REPO / "newsmon" / "samples" / "feeds"
HOSTILE = '<img src=x onerror="window.__pwned=1">Bushehr fuel<script>window.__pwned=2</script>'
ARABIC_TITLE = "محطة بوشهر النووية تتسلم شحنة وقود روسية جديدة"


def publish_feed(folder: Path, sample: str) -> None:
    """Replace the served feed; a later mtime makes the collector's conditional GET see a change."""
    target = folder / "live.xml"
    shutil.copyfile(SAMPLES / sample, target)
    later = time.time() + 5
    os.utime(target, (later, later))


async def produce_extra(bootstrap: str) -> None:
    hostile = Article(
        id=f"hostile-{uuid.uuid4().hex}", url="javascript:window.__pwned=3", title=HOSTILE, source="Hostile Wire",
        content="The Bushehr nuclear power plant received a fresh batch of Russian nuclear fuel from Rosatom.",
        published=now_iso(), feed="test://hostile", language="en",
    )
    arabic = Article(  # a teaser whose page the outlet refused with 429: the page must show it backing off
        id=f"arabic-{uuid.uuid4().hex}", url="https://asharq.example/news/1", title=ARABIC_TITLE, source="Asharq Wire",
        summary="وصلت إلى المحطة الواقعة على ساحل الخليج شحنة جديدة من الوقود النووي الروسي.",
        content="وصلت إلى المحطة الواقعة على ساحل الخليج شحنة جديدة من الوقود النووي الروسي.",
        published=now_iso(), feed="test://arabic", language="ar", body_source="teaser", body_reason="http-429",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for article in (hostile, arabic):
            await producer.send_and_wait("news.raw", encode(article), key=article.id.encode())
    finally:
        await producer.stop()


def page_served(url: str) -> bool:
    try:
        with urlopen(url, timeout=2) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def wait_page(page, condition: str, timeout: float, what: str) -> None:
    """page.wait_for_function, failing with what the page showed instead."""
    try:
        page.wait_for_function(condition, timeout=timeout * 1000)
    except playwright.TimeoutError:
        shown = page.evaluate("""() => ['#status', '#articles-total', '#topic-counts', '#arrivals', '#alerts', '#stories']
            .map((s) => s + ': ' + document.querySelector(s).textContent.replace(/\\s+/g, ' ').slice(0, 600)).join('\\n')""")
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; the page showed:\n{shown}") from None


def number(page, selector: str) -> int:
    text = page.text_content(selector) or ""
    return int(text) if text.isdigit() else -1


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the system Chromium (make system-deps installs it)")
def test_live_page_shows_and_updates(tmp_path):
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    publish_feed(feeds, "tehran-wire.xml")
    with serve_directory(feeds) as base, \
            running_up(tmp_path / "state", "--feed", f"{base}/live.xml",
                       NEWSMON_POLL_INTERVAL_SECONDS="2", NEWSMON_LIVE_REFRESH_SECONDS="1") as stack, \
            playwright.sync_playwright() as pw:
        wait_for(lambda: page_served(f"{stack.web}/"), timeout=180, what="the worker's web server")
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{stack.web}/")

        # first feed: counts, stories and alerts appear
        wait_page(page, """() => document.querySelectorAll('#stories li').length >= 5
            && Number(document.querySelector('#articles-total')?.textContent) >= 5
            && document.querySelectorAll('#alerts li').length >= 1
            && Number(document.querySelector('#topic-counts tr[data-topic="bushehr"] .total')?.textContent) >= 1""",
                  180, "counts, stories and alerts of the first feed")
        assert page.get_attribute("#status", "data-state") == "live"
        assert page.locator("#chart rect").count() >= 1
        first_articles = number(page, "#articles-total")
        first_bushehr = number(page, '#topic-counts tr[data-topic="bushehr"] .total')
        assert first_articles >= 5 and page.text_content("#lag") not in ("", "–")
        assert number(page, '#language-counts tr[data-language="en"] .articles') >= 1
        assert number(page, "#body-totals .articles") == sum(
            number(page, f"#body-totals .{body}") for body in ("feed", "page", "teaser")) >= 1
        page.evaluate("window.__sameDocument = true")

        # more articles arrive: a second feed file and a hostile article straight into news.raw
        publish_feed(feeds, "gulf-daily.xml")
        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API already runs a loop in this thread
            pool.submit(asyncio.run, produce_extra(stack.kafka)).result()
        wait_page(page, f"""() => Number(document.querySelector('#articles-total').textContent) > {first_articles}
            && document.querySelector('#stories').textContent.includes('Gulf carrier orders 30 wide-body jets')
            && [...document.querySelectorAll('#stories .reported')].some((c) => c.textContent.includes('also reported by'))
            && document.querySelector('#alerts').textContent.includes('Bushehr fuel')""", 180, "the second feed and the hostile article")
        wait_page(page, """() => document.querySelector('#hosts li[data-host="Asharq Wire"]')?.dataset.state === 'backing off'
            && Number(document.querySelector('#language-counts tr[data-language="ar"] .teaser')?.textContent) >= 1
            && [...document.querySelectorAll('#stories .title')].some((t) => t.textContent.includes('بوشهر'))""",
                  60, "the Arabic teaser: its language, its outlet backing off and its story")
        arabic = page.locator("#stories .title", has_text="بوشهر").first
        assert arabic.evaluate("(node) => node.matches(':dir(rtl)')"), "Arabic reads right to left"
        assert page.locator("#stories .title", has_text="Gulf carrier").first.evaluate("(node) => node.matches(':dir(ltr)')")
        wait_page(page, f"""() => Number(document.querySelector(
            '#topic-counts tr[data-topic="bushehr"] .total').textContent) > {first_bushehr}""", 60, "a higher bushehr count")
        assert page.evaluate("window.__sameDocument") is True, "updated live, not by reloading"

        # the hostile title is text: shown verbatim, no element made from it, nothing ran, no link
        assert HOSTILE in page.text_content("#alerts")
        assert page.evaluate("window.__pwned") is None
        assert page.locator("main img, main script").count() == 0
        hostile_item = page.locator("#alerts li", has_text="Bushehr fuel").first
        assert hostile_item.locator("a").count() == 0, "a javascript: URL never becomes a link"

        # the time-basis toggle redraws the chart from the other field
        page.click("button[data-basis=published]")
        assert page.get_attribute("button[data-basis=published]", "aria-pressed") == "true"
        page.wait_for_function("() => document.querySelectorAll('#chart rect').length >= 1", timeout=10_000)
        page.click("button[data-basis=indexed]")
        settle(lambda: (number(page, "#articles-total"), number(page, "#stories-total")), checks=3, interval=1.5)
        screenshot = Path(os.environ.get("NEWSMON_SCREENSHOT") or tmp_path / "live-page.png")
        page.screenshot(path=str(screenshot))
        assert all(url.startswith(stack.web) for url in requested), "no CDN, nothing from elsewhere"

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(f"{stack.web}/")
        phone.wait_for_function("() => document.querySelectorAll('#stories li').length >= 5", timeout=60_000)
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling on a phone"
        browser.close()
    assert screenshot.stat().st_size > 10_000
