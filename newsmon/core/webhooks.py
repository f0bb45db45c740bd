"""What an alert looks like on the wire to a webhook, and how receivers can trust it.

Pure functions only: the delivering task (streams/deliveries.py) does the HTTP and the
retries (newsmon.retry decides which failures are worth another try), these build the body,
the signature and the headers. Receivers check the signature with
`verify`, and deduplicate with the `X-Newsmon-Delivery` id, which is the same on every
attempt of one alert (at-least-once delivery turns into once per story).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from newsmon.schemas.article import Alert, encode
from newsmon.settings import WebhookTarget

SIGNATURE_HEADER = "X-Newsmon-Signature"
DELIVERY_HEADER = "X-Newsmon-Delivery"
TOPIC_HEADER = "X-Newsmon-Topic"


class WebhookError(ValueError):
    """A webhook target that cannot be used as configured (e.g. not an http(s) URL)."""


@dataclass(frozen=True)
class WebhookRequest:
    """One POST, identical on every attempt."""

    url: str
    body: bytes
    headers: dict[str, str]
    delivery_id: str


def delivery_id(alert: Alert) -> str:
    """Stable per alert: a story alert is once per topic and story cluster, a burst once per its time."""
    if alert.kind == "story":
        return f"{alert.topic}:story:{alert.story_id or alert.cluster_id}"
    if alert.kind == "story-update":
        return f"{alert.topic}:story-update:{alert.story_id}:{alert.step}"
    return f"{alert.topic}:{alert.kind}:{alert.created}"


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>` HMAC of the exact body bytes, as GitHub-style receivers expect."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Constant-time check of a received signature header."""
    return hmac.compare_digest(sign(body, secret), header)


def wants(target: WebhookTarget, topic: str) -> bool:
    return not target.topics or topic in target.topics


def target_host(url: str) -> str:
    """What may be logged about a target: its host and port only (Slack-style URLs carry their
    secret in the path, others a password before the host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a port that is not a number
        return host


def json_payload(alert: Alert) -> dict:
    """The alert as the alerts.<topic> message carries it, plus its delivery id."""
    return {"delivery_id": delivery_id(alert), **orjson.loads(encode(alert))}


def slack_payload(alert: Alert) -> dict:
    """Slack incoming-webhook message: plain `text` fallback and one section block."""
    if alert.kind in ("story", "story-update"):
        text = f"[{alert.topic}] {alert.title} ({alert.source})"
        link = f"<{slack_escape(alert.url)}|{slack_escape(alert.title or alert.url)}>" if alert.url else slack_escape(alert.title)
        markdown = f"*{slack_escape(alert.topic)}* · {link}\n{slack_escape(alert.source)} · {slack_escape(alert.published[:16])}"
    else:
        text = f"[{alert.topic}] breaking volume: {alert.rate:.0f} articles vs baseline {alert.baseline:.1f}"
        markdown = f"*{slack_escape(alert.topic)}* · breaking volume: *{alert.rate:.0f}* articles vs baseline {alert.baseline:.1f}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": markdown}}]}


def slack_escape(text: str) -> str:
    """Slack's three control characters; article text can never form a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_request(target: WebhookTarget, alert: Alert) -> WebhookRequest:
    if urlsplit(target.url).scheme not in ("http", "https"):
        raise WebhookError(f"webhook URL must be http(s), got {urlsplit(target.url).scheme or 'none'}:// for {target_host(target.url)}")
    payload = slack_payload(alert) if target.format == "slack" else json_payload(alert)
    body = orjson.dumps(payload)
    ident = delivery_id(alert)
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: ident, TOPIC_HEADER: alert.topic}
    if target.secret is not None:
        headers[SIGNATURE_HEADER] = sign(body, target.secret.get_secret_value())
    return WebhookRequest(url=target.url, body=body, headers=headers, delivery_id=ident)

