"""Webhook bodies, signatures and retry policy, on real Alert records (no network)."""
from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest
from newsmon.schemas.article import Alert
from pydantic import SecretStr

from newsmon.core.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    WebhookError,
    build_request,
    delivery_id,
    slack_payload,
    target_host,
    verify,
    wants,
)
from newsmon.settings import Settings, WebhookTarget

STORY = Alert(kind="story", topic="bushehr", title="Fuel <b>delivered</b> & loaded", url="https://news.example/a?x=1&y=2",
              source="Tehran Wire", published="2025-10-14T08:00:00Z", cluster_id="c1", created="2025-10-14T08:01:00Z")
BURST = Alert(kind="breaking-volume", topic="snapback", rate=12.0, baseline=2.5, created="2025-10-14T09:00:00Z")


def test_signature_is_hmac_sha256_of_the_exact_body():
    target = WebhookTarget(url="https://hooks.example/in", secret=SecretStr("s3cret"))
    request = build_request(target, STORY)
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert verify(request.body, "s3cret", request.headers[SIGNATURE_HEADER])
    assert not verify(request.body + b" ", "s3cret", request.headers[SIGNATURE_HEADER])
    assert not verify(request.body, "other", request.headers[SIGNATURE_HEADER])


def test_no_secret_no_signature_header():
    assert SIGNATURE_HEADER not in build_request(WebhookTarget(url="http://127.0.0.1:9/x"), STORY).headers


def test_json_body_carries_the_alert_and_a_stable_delivery_id():
    target = WebhookTarget(url="https://hooks.example/in")
    first, again = build_request(target, STORY), build_request(target, STORY)
    body = orjson.loads(first.body)
    assert body["delivery_id"] == "bushehr:story:c1" == first.headers[DELIVERY_HEADER]
    assert first.body == again.body, "every attempt posts the same bytes"
    assert body["title"] == STORY.title and body["url"] == STORY.url and body["kind"] == "story"


def test_slack_format_escapes_article_text_and_links_the_story():
    payload = orjson.loads(build_request(WebhookTarget(url="https://hooks.slack.example/T/B/X", format="slack"), STORY).body)
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == "[bushehr] Fuel <b>delivered</b> & loaded (Tehran Wire)"
    block = payload["blocks"][0]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    assert "<https://news.example/a?x=1&amp;y=2|Fuel &lt;b&gt;delivered&lt;/b&gt; &amp; loaded>" in block["text"]["text"]


def test_slack_format_of_a_volume_burst():
    payload = slack_payload(BURST)
    assert "breaking volume" in payload["text"] and "12" in payload["text"]
    assert delivery_id(BURST) == "snapback:breaking-volume:2025-10-14T09:00:00Z"


def test_targets_choose_topics_and_need_http():
    assert wants(WebhookTarget(url="https://h/x"), "anything")
    assert wants(WebhookTarget(url="https://h/x", topics=["bushehr"]), "bushehr")
    assert not wants(WebhookTarget(url="https://h/x", topics=["bushehr"]), "snapback")
    with pytest.raises(WebhookError):
        build_request(WebhookTarget.model_construct(url="file:///etc/passwd"), STORY)  # settings refuse it at start


def test_only_host_and_port_of_a_target_are_ever_shown():
    assert target_host("https://user:hunter2@hooks.example:8443/services/T0/B0/secret") == "hooks.example:8443"
    assert target_host("http://[::1]:9000/x") == "[::1]:9000"
    assert target_host("https://hooks.example/x") == "hooks.example"


def test_webhooks_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("NEWSMON_WEBHOOKS", '[{"url": "https://h/x", "topics": ["bushehr"], "format": "slack", "secret": "hush-42"}]')
    target = Settings().webhooks[0]
    assert (target.url, target.topics, target.format, target.secret.get_secret_value()) == ("https://h/x", ["bushehr"], "slack", "hush-42")
    assert "hush-42" not in repr(target)
