"""Settings are checked when they are read: each wrong value is one line naming it and where it came from."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from newsmon.settings import ConfigError, Settings, WebhookTarget, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No NEWSMON_* or endpoint variables from the machine, no ./newsmon.toml, no config file unless a test writes one."""
    for name in list(os.environ):
        if name.startswith("NEWSMON_") or name in ("KAFKA_BOOTSTRAP_SERVERS", "ELASTICSEARCH_URL", "KIBANA_URL"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def problems(monkeypatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return caught.value.lines


def test_defaults_load():
    settings = load_settings()
    assert settings.poll_interval_seconds == 300.0 and settings.web_port == 6066 and settings.full_text == "auto"


@pytest.mark.parametrize(("name", "value", "says"), [
    ("POLL_INTERVAL_SECONDS", "0", "greater than 0"),
    ("POLL_INTERVAL_SECONDS", "-5", "greater than 0"),
    ("POLL_INTERVAL_SECONDS", "abc", "valid number"),
    ("POLL_INTERVAL_SECONDS", "inf", "finite number"),
    ("FETCH_TIMEOUT_SECONDS", "nan", "finite number"),
    ("DEDUPE_WINDOW_DAYS", "-1", "greater than or equal to 1"),
    ("DEDUPE_WINDOW_DAYS", "0", "greater than or equal to 1"),
    ("EVENTS_WINDOW_DAYS", "0", "greater than 0"),
    ("WEB_PORT", "0", "greater than or equal to 1"),
    ("WEB_PORT", "70000", "less than or equal to 65535"),
    ("EMBEDDED_KAFKA_PORT", "65536", "less than or equal to 65535"),
    ("EMBEDDED_ELASTICSEARCH_PORT", "http", "valid integer"),
    ("FETCH_CONCURRENCY", "0", "greater than or equal to 1"),
    ("MAX_FEED_BYTES", "-1", "greater than or equal to 1"),
    ("MAX_REDIRECTS", "-1", "greater than or equal to 0"),
    ("STREAM_BATCH_BYTES", "0", "greater than or equal to 1"),
    ("WEBHOOK_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("WEBHOOK_ATTEMPTS", "0", "greater than or equal to 1"),
    ("STAGE_FAILURE_LIMIT_SECONDS", "-1", "greater than 0"),
    ("ALERT_OUTLET_STEPS", "[10, 0]", "greater than or equal to 1"),
    ("FULL_TEXT", "sometimes", "'auto', 'always' or 'never'"),
    ("EMBEDDED_KAFKA", "redpanda", "'noida' or 'tansu'"),
    ("KAFKA_SECURITY_PROTOCOL", "TLS", "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'"),
    ("KAFKA_SASL_MECHANISM", "GSSAPI", "'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'"),
    ("KAFKA_BOOTSTRAP_SERVERS", "broker:99999", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "a:9092,,b:9092", "host:port"),
    ("ELASTICSEARCH_URL", "es.example:9200", "http:// or https:// URL"),
    ("KIBANA_URL", "http://kibana:port", "http:// or https:// URL"),
    ("RAW_TOPIC", "news raw", "Kafka topic name"),
    ("WORKER_GROUP", "", "Kafka topic name"),
    ("INDEX_ALIAS", "News-Articles", "lowercase Elasticsearch index name"),
    ("STORIES_INDEX", "_stories", "lowercase Elasticsearch index name"),
    ("USER_AGENT", "newsmon\r\nX-Injected: 1", "without control characters"),
    ("TOPIC_RULES", "missing.yaml", "does not point to a file"),
    ("KAFKA_SSL_CAFILE", "/no/such/ca.pem", "does not point to a file"),
])
def test_a_wrong_value_is_one_line_naming_the_setting_and_its_variable(monkeypatch, name, value, says):
    lines = problems(monkeypatch, **{f"NEWSMON_{name}": value})
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"setting {name.lower()}") and f"environment NEWSMON_{name}" in lines[0], lines
    assert says in lines[0], lines


def test_every_wrong_value_gets_its_own_line(monkeypatch):
    lines = problems(monkeypatch, NEWSMON_POLL_INTERVAL_SECONDS="0", NEWSMON_WEB_PORT="-1", NEWSMON_FULL_TEXT="x")
    assert sorted(line.split()[1] for line in lines) == ["full_text", "poll_interval_seconds", "web_port"]


@pytest.mark.parametrize(("name", "value"), [
    ("KAFKA_EMPTY_FETCH_WAIT_SECONDS", "0"),  # brokers that honour fetch_max_wait_ms
    ("MAX_REDIRECTS", "0"),  # a redirect is a failed fetch
    ("PAGE_HOST_INTERVAL_SECONDS", "0"),  # no spacing between one host's requests
    ("KAFKA_BOOTSTRAP_SERVERS", "b1:9092, b2:9093,[::1]:9094,broker"),
    ("ELASTICSEARCH_URL", "https://user:pw@es.example:9243/prefix"),
])
def test_documented_edge_values_are_accepted(monkeypatch, name, value):
    monkeypatch.setenv(f"NEWSMON_{name}", value)
    load_settings()


def test_protocol_and_mechanism_in_any_case_are_normalised(monkeypatch):
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "scram-sha-512",
                        "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}.items():
        monkeypatch.setenv(f"NEWSMON_{name}", value)
    settings = load_settings()
    assert (settings.kafka_security_protocol, settings.kafka_sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")


def test_sasl_without_credentials_is_refused_at_start(monkeypatch):
    lines = problems(monkeypatch, NEWSMON_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", NEWSMON_KAFKA_SASL_USERNAME="u")
    assert lines == ["settings: kafka_security_protocol=SASL_PLAINTEXT needs kafka_sasl_mechanism, "
                     "kafka_sasl_username and kafka_sasl_password"]


def test_the_conventional_variable_is_named_when_it_set_the_value(monkeypatch):
    lines = problems(monkeypatch, KAFKA_BOOTSTRAP_SERVERS="broker:0")
    assert lines[0].startswith("setting kafka_bootstrap_servers = 'broker:0' (from environment KAFKA_BOOTSTRAP_SERVERS)")


def test_a_wrong_value_in_the_toml_file_names_the_file(monkeypatch, tmp_path):
    config = tmp_path / "conf.toml"
    config.write_text('dedupe_window_days = -1\nweb_port = 8080\n[[webhooks]]\nurl = "file:///etc/passwd"\n', encoding="utf-8")
    lines = problems(monkeypatch, NEWSMON_CONFIG=str(config))
    assert lines == [
        f"setting dedupe_window_days = -1 (from {config}): Input should be greater than or equal to 1",
        f"setting webhooks.0.url (from {config}): expected an http:// or https:// URL with a host (and a port in 1..65535)",
    ]


def test_the_environment_wins_over_the_file_and_is_named(monkeypatch, tmp_path):
    config = tmp_path / "conf.toml"
    config.write_text("web_port = 8080\n", encoding="utf-8")
    lines = problems(monkeypatch, NEWSMON_CONFIG=str(config), NEWSMON_WEB_PORT="99999")
    assert lines == ["setting web_port = '99999' (from environment NEWSMON_WEB_PORT): Input should be less than or equal to 65535"]


def test_default_toml_in_the_working_folder_is_read_and_checked(tmp_path):
    (tmp_path / "newsmon.toml").write_text('full_text = "never"\n', encoding="utf-8")
    assert load_settings().full_text == "never"
    (tmp_path / "newsmon.toml").write_text("poll_interval_seconds = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"poll_interval_seconds = 0 \(from newsmon.toml\)"):
        load_settings()


def test_config_file_problems_are_one_line_each(monkeypatch, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("poll_interval_seconds = \n", encoding="utf-8")
    assert problems(monkeypatch, NEWSMON_CONFIG=str(broken)) == [f"{broken}: not valid TOML: Invalid value (at line 1, column 25)"]
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    assert problems(monkeypatch, NEWSMON_CONFIG=str(binary))[0].startswith(f"{binary}: not valid TOML: 'utf-8' codec")
    assert problems(monkeypatch, NEWSMON_CONFIG=str(tmp_path / "nope.toml")) == [f"NEWSMON_CONFIG={tmp_path / 'nope.toml'}: no such file"]
    assert problems(monkeypatch, NEWSMON_CONFIG=str(tmp_path)) == [f"NEWSMON_CONFIG={tmp_path}: a directory, not a file"]


def test_dev_null_as_config_means_no_file(monkeypatch, tmp_path):
    (tmp_path / "newsmon.toml").write_text("web_port = 0\n", encoding="utf-8")  # not read: NEWSMON_CONFIG wins
    monkeypatch.setenv("NEWSMON_CONFIG", os.devnull)
    assert load_settings().web_port == 6066


def test_a_list_setting_that_is_not_json_says_how_to_write_it(monkeypatch):
    lines = problems(monkeypatch, NEWSMON_FEEDS="https://a.example/rss,https://b.example/rss")
    assert lines == ["setting feeds from NEWSMON_FEEDS: not JSON (lists and tables are written as JSON in environment "
                     "variables, e.g. '[\"https://example.org/rss\"]')"]


def test_secrets_and_url_credentials_never_reach_the_line(monkeypatch, tmp_path):
    config = tmp_path / "conf.toml"
    config.write_text("kafka_sasl_password = 12345678\n", encoding="utf-8")
    lines = problems(monkeypatch, NEWSMON_CONFIG=str(config), NEWSMON_ELASTICSEARCH_URL="ftp://admin:hunter2@es.example/")
    assert len(lines) == 2 and not any("12345678" in line or "hunter2" in line for line in lines), lines
    assert any(line.startswith("setting kafka_sasl_password (from") for line in lines)
    slack = "https://hooks.slack.example/services/T0/B0/s3cr3t-token"  # the URL is the secret
    lines = problems(monkeypatch, NEWSMON_WEBHOOKS=f'[{{"url": "{slack}", "format": "teams"}}]')
    assert not any("s3cr3t" in line for line in lines), lines
    assert "setting webhooks.0.format (from environment NEWSMON_WEBHOOKS): Input should be 'json' or 'slack'" in lines


def test_settings_built_in_code_are_checked_too():
    """The values the issue saw crash-loop the alert stage or hammer a feed are refused wherever Settings are made."""
    with pytest.raises(ValidationError):
        Settings(dedupe_window_days=-1)
    with pytest.raises(ValidationError):
        Settings(poll_interval_seconds=0)
    with pytest.raises(ValidationError):
        WebhookTarget(url="file:///etc/passwd")
    assert Settings(topic_rules=Path(__file__)).topic_rules == Path(__file__)
