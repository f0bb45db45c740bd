"""Canonical article URLs and the article id derived from them.

The same article reaches us as http and https, with tracking parameters, with an AMP
variant, with or without `www.` and a trailing slash. Folding all of those into one
canonical URL makes "same URL" mean "same article", and hashing that URL gives the
stable article id used as the Kafka key and the Elasticsearch document id, so an exact
re-delivery overwrites instead of adding a second document.
"""
from __future__ import annotations

import hashlib
from urllib.parse import (
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
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


def canonicalize_url(url: str, canonical_link: str = "") -> str:
    """One spelling per article: the page's own canonical link when given, folded.

    Folds: scheme to https, host case, `www.`/`amp.`/`m.` prefixes, default ports,
    userinfo, fragments, tracking and AMP query parameters, `/amp` path segments and
    `.amp` suffixes, percent-encoding, trailing slashes; sorts the remaining query.
    """
    url = url.strip()
    if canonical_link.strip():
        url = urljoin(url, canonical_link.strip())
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", ""):
        return url
    return urlunsplit(("https", _host(parts.netloc), _path(parts.path), _query(parts.query), ""))


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
