"""Canonical article URLs and the article id derived from them.

The same article reaches us as http and https, with tracking parameters, with an AMP
variant, with or without `www.` and a trailing slash. Folding all of those into one
canonical URL makes "same URL" mean "same article", and hashing that URL gives the
stable article id used as the Kafka key and the Elasticsearch document id, so an exact
re-delivery overwrites instead of adding a second document.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urljoin,
    urlsplit,
)

_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ref", "ref_src", "ref_url", "referrer", "cmpid",
        "ncid", "sr_share", "spm", "rss", "ito", "smid", "ocid", "soc_src", "soc_trk",
    }
)
_TRACKING_PREFIXES = ("utm_", "at_", "ns_", "mkt_", "hsa_", "pk_", "mtm_")
_AMP_PARAMS = frozenset({"amp", "outputtype", "_amp", "amp_js_v", "usqp"})
_HOST_PREFIXES = ("www.", "amp.", "m.")
_DEFAULT_PORTS = {"80", "443"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_CANONICAL_PATH = re.compile(r"(?:/[A-Za-z0-9:@!$&'()*+,;=._~-]+)+")  # what _path returns unchanged: no %, no empty segment
# user:password@ after a scheme, and query parameters that carry a secret, anywhere in a text
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|apikey|key|password|passwd|secret|sig|signature|auth)=)[^&#\s]+"
)
REDACTED = "***"
# An http(s) URL urlsplit would split as it stands: an ASCII host (no userinfo, no IPv6
# brackets, nothing for its NFKC check), no fragment, no tab/CR/LF for it to remove. One
# match instead of urlsplit's half-dozen scans: the netloc, path and query it would return.
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9.:-]*)(/[^?#\t\r\n]*)?(?:\?([^#\t\r\n]*))?")


def redact_url(text: str) -> str:
    """`text` (a URL, or a message holding URLs) with credentials replaced by ***: the
    userinfo (`https://user:pass@host` -> `https://***@host`) and secret query parameters.
    Used wherever a URL is printed, logged or stored in a record."""
    if "://" not in text:
        return text
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", _USERINFO.sub(rf"\g<1>{REDACTED}@", text))


def web_url_parts(url: str) -> SplitResult | None:
    """`url` split when it is an http(s) URL with a host and a valid port, else None.
    Never raises: feeds carry links like `http://[oops/x` or `http://h:99999/`."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def is_web_url(url: str) -> bool:
    return web_url_parts(url) is not None


def canonicalize_url(url: str, canonical_link: str = "") -> str:
    """One spelling per article: the page's own canonical link when given, folded.

    Folds: scheme to https, host case, `www.`/`amp.`/`m.` prefixes, default ports,
    userinfo, fragments, tracking and AMP query parameters, `/amp` path segments and
    `.amp` suffixes, percent-encoding, trailing slashes; sorts the remaining query.
    A URL that cannot be parsed (`http://[oops/x`) is returned stripped, as it is: its
    id stays stable and the article costs nothing else downstream.
    """
    url = url.strip()
    if not canonical_link.strip() and (plain := _PLAIN_URL.fullmatch(url)):  # most article links
        netloc, path, query = plain.groups()
    else:
        try:
            if canonical_link.strip():
                url = urljoin(url, canonical_link.strip())
            parts = urlsplit(url)
        except ValueError:
            return url
        if parts.scheme.lower() not in ("http", "https", ""):
            return url
        netloc, path, query = parts.netloc, parts.path, parts.query
    query = _query(query or "")
    # urlunsplit's result for a path that starts with one "/" (_path's always does)
    return f"https://{_host(netloc)}{_path(path or '')}{'?' if query else ''}{query}"


def _host(netloc: str) -> str:
    host = netloc.rpartition("@")[2].lower()
    name, _, port = host.partition(":") if not host.startswith("[") else (host, "", "")
    name = name.rstrip(".")
    for prefix in _HOST_PREFIXES:
        if name.startswith(prefix) and name.count(".") > 1:
            name = name[len(prefix):]
            break
    return name if not port or port in _DEFAULT_PORTS else f"{name}:{port}"


def _path(path: str) -> str:
    if _CANONICAL_PATH.fullmatch(path) and "amp" not in path.lower():  # most article paths: nothing to fold
        return path
    segments = [s for s in unquote(path).split("/") if s and s.lower() != "amp"]
    if segments:
        last = segments[-1]
        for suffix in (".amp.html", ".amp"):
            if last.lower().endswith(suffix):
                segments[-1] = last[: -len(suffix)] + (".html" if suffix == ".amp.html" else "")
    return quote("/" + "/".join(segments), safe=_PATH_SAFE)


def _query(query: str) -> str:
    if not query:  # most article URLs
        return ""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_noise_param(k, v)]
    return urlencode(sorted(kept), quote_via=quote)


def _is_noise_param(key: str, value: str) -> bool:
    key = key.lower()
    if key in _AMP_PARAMS:
        return key != "outputtype" or value.lower() == "amp"
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def article_id(canonical_url: str) -> str:
    """Stable 32-hex-digit id of an article: blake2b-128 of its canonical URL."""
    return hashlib.blake2b(canonical_url.encode("utf-8"), digest_size=16).hexdigest()
