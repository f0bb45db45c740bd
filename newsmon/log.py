"""Operator-readable logging: one line per event, key=value fields, to stderr.

stdout is reserved for data (JSON lines, search results) so commands compose in pipes.
"""
from __future__ import annotations

import logging
import sys

from newsmon.core.urls import redact_url


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("aiokafka", "kafka", "elastic_transport", "httpx", "faust", "mode"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:  # a warning per retried request and per node put on timeout, then our own one line says it all
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def kv(**fields: object) -> str:
    """Render fields as `key=value` pairs, quoting values with spaces; credentials in URLs
    (a feed's `user:pass@`, a token parameter) are redacted in every value."""
    parts = []
    for key, value in fields.items():
        text = f"{value:.3f}" if isinstance(value, float) else redact_url(str(value))
        if not text or any(c.isspace() for c in text):
            text = '"' + text.replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)
