"""Fetch feed and article-page bytes over HTTP(S) (feeds also file://) without trusting the other end.

Feeds and the pages they link to are third-party servers: they are slow, huge, compressed
into bombs, redirect in circles or towards internal services, and rate-limit us. Feeds
(`Fetcher.fetch`) and pages or robots.txt (`Fetcher.get`) go through ONE guarded GET, so
both get the same caps (size after decompression, deadline, redirect count) and the same
address guard. Every such case ends here as a `FeedFetchError` subclass whose message is
one readable line, so the caller can log it, back off that one feed or host, and go on.

The address guard: every URL requested is resolved and classed loopback, internal
(private, link-local, CGNAT, reserved) or public, BEFORE any connection is made, on the
first hop and after each redirect. A public address is always allowed; a loopback or
internal one only when the origin (the configured feed, for its own redirects and for
the pages it links to) is in that same class. So a public feed cannot reach inside, and a
feed on loopback cannot make us send traffic into a private range.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from newsmon.core.urls import web_url_parts
from newsmon.settings import Settings

MAX_TIMEOUT_SECONDS = 30.0
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
LOOPBACK, INTERNAL, PUBLIC = "loopback", "internal", "public"

Resolver = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True)
class FetchLimits:
    """What one Fetcher may do: deadline per request, body cap, Accept header, connection pool."""

    timeout: float
    max_bytes: int
    accept: str
    connections: int

    @classmethod
    def for_feeds(cls, settings: Settings) -> "FetchLimits":
        return cls(min(settings.fetch_timeout_seconds, MAX_TIMEOUT_SECONDS), settings.max_feed_bytes, ACCEPT,
                   max(1, settings.fetch_concurrency))

    @classmethod
    def for_pages(cls, settings: Settings) -> "FetchLimits":
        return cls(min(settings.page_timeout_seconds, MAX_TIMEOUT_SECONDS), settings.max_page_bytes, PAGE_ACCEPT,
                   max(1, settings.page_concurrency))


class FeedFetchError(Exception):
    """A feed could not be fetched; ``str(exc)`` is the one-line reason."""

    retry_after: float | None = None


class FetchTimeout(FeedFetchError):
    """No complete response within the per-request deadline."""


class FetchConnectionError(FeedFetchError):
    """DNS, TCP or TLS failure."""


class FeedTooLarge(FeedFetchError):
    """The (decompressed) body exceeds settings.max_feed_bytes."""


class FeedEncodingError(FeedFetchError):
    """Corrupt or unsupported Content-Encoding."""


class TooManyRedirects(FeedFetchError):
    """More redirects than settings.max_redirects."""


class RedirectLoop(FeedFetchError):
    """A redirect leads back to a URL already visited."""


class BlockedAddress(FeedFetchError):
    """A URL whose address class its origin may not reach, or not HTTP(S): refused before connecting."""


class BlockedRedirect(BlockedAddress):
    """A redirect to an address class the origin may not reach, or off HTTP(S)."""


class InvalidFeedURL(FeedFetchError):
    """The feed URL or a redirect target is not a usable http(s) URL (`http://h:99999/`)."""


class FeedFileError(FeedFetchError):
    """A file:// feed could not be read."""


class FeedHTTPError(FeedFetchError):
    """The server answered 4xx/5xx (or another status that carries no feed)."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    url: str  # the configured feed URL
    final_url: str  # after redirects
    status: int  # 200 or 304
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def address_class(address: str) -> str:
    """LOOPBACK, INTERNAL (private, link-local, CGNAT, reserved, unspecified) or PUBLIC; ValueError if not an IP."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_loopback:
        return LOOPBACK
    return PUBLIC if ip.is_global else INTERNAL


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now; accepts delta-seconds and HTTP-date forms."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


class _BodyDecoder:
    """Decodes Content-Encoding incrementally and refuses to produce more than `limit` bytes."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflater = zlib.decompressobj(wbits=47)  # 47: gzip or zlib header, auto-detected
        elif encoding == "identity":
            self._inflater = None
        else:
            raise FeedEncodingError(f"unsupported Content-Encoding {encoding!r}")
        self.limit = limit
        self.size = 0

    def decode(self, raw: bytes) -> bytes:
        if self._inflater is None:
            out = raw
        else:
            try:  # never inflate more than one byte past the limit: a bomb stops here
                out = self._inflater.decompress(raw, self.limit - self.size + 1)
            except zlib.error as exc:
                raise FeedEncodingError(f"corrupt compressed body: {exc}") from None
        self.size += len(out)
        if self.size > self.limit:
            raise FeedTooLarge(f"body exceeds {self.limit} bytes (after decompression)")
        return out


async def read_capped(chunks: AsyncIterator[bytes], encoding: str | None, limit: int) -> bytes:
    decoder = _BodyDecoder(encoding, limit)
    return b"".join([decoder.decode(raw) async for raw in chunks])


def read_file(url: str, limit: int, last_modified: str | None) -> FetchResult:
    """A file:// feed; its mtime plays the role of Last-Modified."""
    path = Path(urllib.request.url2pathname(urlsplit(url).path))
    try:
        stamp = formatdate(path.stat().st_mtime, usegmt=True)
        if last_modified == stamp:
            return FetchResult(url, url, 304, last_modified=stamp)
        with path.open("rb") as handle:
            body = handle.read(limit + 1)
    except OSError as exc:
        raise FeedFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(body) > limit:
        raise FeedTooLarge(f"file exceeds {limit} bytes")
    return FetchResult(url, url, 200, body, last_modified=stamp)


class Fetcher:
    """One shared HTTP client; `fetch` and `get` are safe to call concurrently."""

    def __init__(self, settings: Settings, *, resolver: Resolver = resolve_host,
                 limits: FetchLimits | None = None) -> None:
        limits = limits or FetchLimits.for_feeds(settings)
        self.timeout = limits.timeout
        self.max_bytes = limits.max_bytes
        self.max_redirects = settings.max_redirects
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=limits.connections),
            headers={"User-Agent": settings.user_agent, "Accept": limits.accept, "Accept-Encoding": "gzip, deflate"},
        )

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Conditional GET of one feed within the deadline; raises FeedFetchError."""
        if urlsplit(url).scheme == "file":
            return await self._within_deadline(asyncio.to_thread(read_file, url, self.max_bytes, last_modified))
        return await self._within_deadline(self._fetch_http(url, url, conditional_headers(etag, last_modified),
                                                            self.max_bytes))

    async def get(self, url: str, *, origin: str, max_bytes: int | None = None) -> FetchResult:
        """GET a URL found on `origin` (an article link or robots.txt of a feed): the first hop is
        guarded like a redirect, before any connection. Raises FeedFetchError."""
        return await self._within_deadline(self._fetch_http(url, origin, {}, max_bytes or self.max_bytes))

    async def _within_deadline(self, work: Awaitable[FetchResult]) -> FetchResult:
        try:
            async with asyncio.timeout(self.timeout):
                return await work
        except (TimeoutError, httpx.TimeoutException):
            raise FetchTimeout(f"no complete response within {self.timeout:.0f}s") from None
        except httpx.TransportError as exc:
            raise FetchConnectionError(f"{type(exc).__name__}: {exc or 'connection failed'}") from None
        except httpx.InvalidURL as exc:
            raise FetchConnectionError(f"invalid URL: {exc}") from None

    async def _fetch_http(self, url: str, origin: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        visited = {url}
        current = url
        if url != origin:
            await self._check_target(origin, url, BlockedAddress, "link to")
        for _ in range(self.max_redirects + 1):
            if web_url_parts(current) is None:  # httpx would raise an ExceptionGroup for port 99999
                raise InvalidFeedURL(f"not a valid http(s) URL: {current}")
            request = self.client.build_request("GET", current, headers=headers)
            response = await self.client.send(request, stream=True)
            try:
                if response.status_code not in REDIRECT_STATUSES or "location" not in response.headers:
                    return await self._result(url, response, max_bytes)
                target = str(response.url.join(response.headers["location"]))
            finally:
                await response.aclose()
            if target in visited:
                raise RedirectLoop(f"redirect loop back to {target}")
            await self._check_target(origin, target, BlockedRedirect, "redirect to")
            visited.add(target)
            current = target
        raise TooManyRedirects(f"more than {self.max_redirects} redirects")

    async def _check_target(self, origin: str, target: str, error: type[BlockedAddress], what: str) -> None:
        """Refuse `target` unless it is public or in its origin's own address class."""
        if urlsplit(target).scheme not in ("http", "https"):
            raise error(f"{what} non-HTTP URL {target} refused")
        target_class = await self._address_class(target)
        if target_class != PUBLIC and target_class != await self._address_class(origin):
            raise error(f"{what} internal address {target} ({target_class}) refused: "
                        f"its origin {urlsplit(origin).hostname or origin} is not {target_class}")

    async def _address_class(self, url: str) -> str:
        """The most inward class among the host's addresses; a file:// origin counts as loopback."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            return LOOPBACK
        host = parts.hostname or ""
        try:
            return address_class(host)
        except ValueError:
            pass  # a name, not an address literal
        try:
            addresses = await self.resolver(host)
        except OSError:
            return PUBLIC  # unresolvable: the request itself will fail with a clear DNS error
        classes = {address_class(address) for address in addresses}
        return INTERNAL if INTERNAL in classes else LOOPBACK if LOOPBACK in classes else PUBLIC

    async def _result(self, url: str, response: httpx.Response, max_bytes: int) -> FetchResult:
        status = response.status_code
        if status == 304:
            return FetchResult(url, str(response.url), 304, etag=response.headers.get("etag"),
                               last_modified=response.headers.get("last-modified"))
        if status >= 300 or status < 200:
            raise FeedHTTPError(status, response.reason_phrase, parse_retry_after(response.headers.get("retry-after")))
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedTooLarge(f"Content-Length {declared} exceeds {max_bytes} bytes")
        body = await read_capped(response.aiter_raw(), response.headers.get("content-encoding"), max_bytes)
        return FetchResult(
            url,
            str(response.url),
            status,
            body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_type=response.headers.get("content-type"),
        )
