"""robots.txt per host: fetched once, cached for a while, honoured for article pages.

Feeds are published to be polled, so they are fetched whatever robots.txt says (as feed
readers do); article pages are crawled, so a host's robots.txt decides, for our user agent:
Disallow/Allow rules and Crawl-delay (which can only lengthen the per-host interval).
The stdlib `urllib.robotparser` parses both. What an answer means (RFC 9309):

- 2xx: the rules, trusted for `ttl` seconds (default 24 h);
- 404 and the other 4xx (except 429): no robots.txt, every page allowed;
- 429, 5xx, timeout, connection failure, a redirect we refuse or a file over 500 KiB:
  unreachable. The host's last good rules go on being used; a host never read so far is
  treated as disallowing everything (its articles go on as teasers, reason
  `robots-unavailable`) and robots.txt is asked again after ROBOTS_RETRY_SECONDS, not
  after the full TTL. Crawling a host that may be failing because it is overloaded is the
  wrong moment to start.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from newsmon.collectors.fetcher import FeedFetchError, FeedHTTPError, FetchResult

ROBOTS_MAX_BYTES = 500 * 1024  # what RFC 9309 asks a crawler to read at least
ROBOTS_RETRY_SECONDS = 600.0
READ, ABSENT, UNAVAILABLE = "robots-read", "robots-absent", "robots-unavailable"

RobotsFetch = Callable[[str], Awaitable[FetchResult]]


@dataclass(frozen=True)
class RobotsRules:
    """What one host's robots.txt says, until `expires` (a clock reading)."""

    expires: float
    status: str  # READ (rules), ABSENT (no file: all allowed), UNAVAILABLE (none yet: nothing allowed)
    parser: RobotFileParser | None = None  # None: no rules (status decides)
    note: str = ""  # the one-line why, for the operator's log

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.status != UNAVAILABLE
        return self.parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay else 0.0


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def parse_rules(body: bytes, now: float, ttl: float) -> RobotsRules:
    parser = RobotFileParser()
    parser.parse(body.decode("utf-8", errors="replace").splitlines())  # parse() also marks it read
    return RobotsRules(now + ttl, READ, parser, "robots.txt read")


def rules_after_error(exc: FeedFetchError, now: float, ttl: float, previous: RobotsRules | None) -> RobotsRules:
    """A 4xx means no robots.txt (all allowed); anything else keeps the last good rules, else disallows."""
    if isinstance(exc, FeedHTTPError) and 400 <= exc.status < 500 and exc.status != 429:
        return RobotsRules(now + ttl, ABSENT, None, f"no robots.txt ({exc}): every page allowed")
    if previous is not None and previous.status != UNAVAILABLE:
        return RobotsRules(now + ROBOTS_RETRY_SECONDS, previous.status, previous.parser,
                           f"robots.txt unreachable ({exc}): keeping the rules read before")
    return RobotsRules(now + ROBOTS_RETRY_SECONDS, UNAVAILABLE, None,
                       f"robots.txt unreachable ({exc}): no page fetched before it answers")


class RobotsCache:
    """Rules per scheme://host:port; concurrent asks for one host wait for its one fetch."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str, fetch: RobotsFetch) -> RobotsRules:
        """The rules covering `url`, fetched with `fetch(robots_url)` when missing or expired."""
        where = robots_url(url)
        async with self._locks.setdefault(where, asyncio.Lock()):
            known = self._rules.get(where)
            if known is not None and self.clock() < known.expires:
                return known
            try:
                result = await fetch(where)
                fresh = parse_rules(result.body, self.clock(), self.ttl)
            except FeedFetchError as exc:
                fresh = rules_after_error(exc, self.clock(), self.ttl, known)
            self._rules[where] = fresh
            return fresh
