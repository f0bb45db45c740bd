"""One typed settings object, loaded once in main() and passed down.

Sources, highest first: CLI flags (applied by the commands), environment variables
(``NEWSMON_*``; the conventional ``KAFKA_BOOTSTRAP_SERVERS`` / ``ELASTICSEARCH_URL`` /
``KIBANA_URL`` are accepted too), a TOML file (``NEWSMON_CONFIG``, default ``./newsmon.toml``),
then the defaults below. Credentials are ``SecretStr`` so they never reach a log line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_FEEDS = [
    # Outlets of the kinds the seed articles come from (English, Russian, Persian coverage).
    "https://www.tehrantimes.com/rss",
    "https://en.mehrnews.com/rss",
    "https://www.presstv.ir/rss.xml",
    "https://tass.com/rss/v2.xml",
    "https://tass.ru/rss/v2.xml",
    "https://www.rferl.org/api/zrqiteuuir",
    "https://www.aljazeera.com/xml/rss/all.xml",
    "https://feeds.bbci.co.uk/news/world/middle_east/rss.xml",
]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class WebhookTarget(BaseModel):
    """One place alerts are POSTed to (see docs/live.md): which topics, in which format, signed how."""

    url: str  # http(s) endpoint; Slack incoming-webhook URLs carry a secret, so only the host is ever logged
    topics: list[str] = []  # topic ids to deliver; empty means every topic
    format: Literal["json", "slack"] = "json"
    secret: SecretStr | None = None  # HMAC-SHA256 key for the X-Newsmon-Signature header


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="ignore", populate_by_name=True)

    # --- where things live ---
    data_dir: Path = Path(".newsmon")
    feeds: list[str] = Field(default_factory=lambda: list(DEFAULT_FEEDS))

    # --- Kafka: unset bootstrap servers means "start the embedded broker" ---
    kafka_bootstrap_servers: str | None = Field(
        None, validation_alias=_env("NEWSMON_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_sasl_mechanism: str | None = None  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    topic_partitions: int = 4
    # Wait after an empty fetch the broker answered at once (noida-db does): without it an
    # idle consumer spins a core. 0 for brokers that honour fetch_max_wait_ms.
    kafka_empty_fetch_wait_seconds: float = 0.05
    # The worker's internal hops carry batches: up to this many articles, gathered for at
    # most this long, in messages of at most about this many bytes.
    stream_batch_size: int = 500
    stream_batch_seconds: float = 0.05
    stream_batch_bytes: int = 512 * 1024
    # How long news.raw and the internal topics keep records: longer than any outage the
    # worker or Elasticsearch should ride out (older records need `newsmon replay`).
    topic_retention_days: float = 7.0
    raw_topic: str = "news.raw"
    dedupe_topic: str = "news.dedupe"  # the worker's single-partition, sequenced hop
    articles_topic: str = "news.articles"
    volume_topic: str = "news.volume"  # per-topic article events for breaking-volume detection
    dlq_topic: str = "news.dlq"
    alerts_topic_prefix: str = "alerts."

    # --- Elasticsearch: unset URL means "start the embedded server" ---
    elasticsearch_url: str | None = Field(
        None, validation_alias=_env("NEWSMON_ELASTICSEARCH_URL", "ELASTICSEARCH_URL")
    )
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: Path | None = None
    index_alias: str = "news-articles"
    stories_index: str = "news-stories"
    index_batch_size: int = 500
    index_batch_seconds: float = 0.5

    # --- Kibana (reached only through its HTTP API) ---
    kibana_url: str = Field("http://127.0.0.1:5601", validation_alias=_env("NEWSMON_KIBANA_URL", "KIBANA_URL"))
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_api_key: SecretStr | None = None

    # --- embedded servers (used only when the URLs above are unset) ---
    embedded_kafka: str = "noida"  # "noida" (on disk, keeps data across restarts) | "tansu" (memory)
    embedded_kafka_port: int = 9092
    embedded_elasticsearch_port: int = 9200

    # --- collectors ---
    poll_interval_seconds: float = 300.0
    fetch_timeout_seconds: float = 20.0
    fetch_concurrency: int = 16
    max_feed_bytes: int = 16 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
    archive: bool = True  # keep raw feed bytes under data_dir/archive for replay
    # --- article pages behind teaser-only feeds (docs/collectors.md, "Fetching article pages") ---
    full_text: Literal["auto", "always", "never"] = "auto"  # auto: fetch the link when the entry is a teaser
    full_text_min_words: int = 150  # auto: an entry with fewer words than this is a teaser
    page_host_concurrency: int = 2  # requests in flight to one host
    page_host_interval_seconds: float = 1.0  # between request starts to one host (robots Crawl-delay may raise it)
    page_host_queue: int = 100  # articles waiting for one host's pages; beyond it they go on as teasers (queue-full)
    page_max_wait_seconds: float = 120.0  # a host backing off longer than this: its articles go on as teasers
    page_concurrency: int = 32  # page requests in flight over all hosts (the page fetcher's connection pool)
    page_timeout_seconds: float = 15.0
    max_page_bytes: int = 8 * 1024 * 1024  # after decompression
    robots_ttl_seconds: float = 24 * 3600.0  # how long a host's robots.txt is trusted (RFC 9309)

    # --- stream processing ---
    topic_rules: Path | None = None  # default: schemas/topics.yaml shipped with the package
    dedupe_window_days: int = 30
    # Events (newsmon/core/events.py): a story idle this long (event time) takes no more reports
    events_window_days: float = 4.0
    # Story alerts: once per event and topic, then a follow-up when the event reaches each of
    # these outlet counts (the highest crossed) and, if set, when it is reported in a new language
    alert_outlet_steps: list[int] = Field(default_factory=lambda: [10, 25])
    alert_language_steps: bool = True
    breaking_factor: float = 3.0
    breaking_window_minutes: int = 60
    breaking_min_articles: int = 5
    worker_group: str = "newsmon"  # the Faust app id: the worker's consumer group, prefix of its internal topics
    web_host: str = "127.0.0.1"  # the live page and /health bind here; 0.0.0.0 exposes them to the network
    web_port: int = 6066
    # `newsmon up` stops (exit 1) when a worker stage stays failing this long (its /health says which)
    stage_failure_limit_seconds: float = 600.0

    # --- live page (served by the worker) and alert deliveries ---
    live_window_hours: int = 6  # span of the per-topic chart
    live_refresh_seconds: float = 2.0  # how often the page's data is re-read while someone watches
    webhooks: list[WebhookTarget] = Field(default_factory=list)  # NEWSMON_WEBHOOKS='[{"url": ...}]' or [[webhooks]] in TOML
    webhook_attempts: int = 5  # per alert and target, then the alert goes to news.dlq
    webhook_backoff_seconds: float = 1.0  # first retry delay, doubled per attempt
    webhook_timeout_seconds: float = 10.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        toml_file = Path(os.environ.get("NEWSMON_CONFIG", "newsmon.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
            file_secret_settings,
        )

    def with_embedded_defaults(self) -> "Settings":
        """Endpoints left unset point at the embedded servers `newsmon up` starts on loopback."""
        return self.model_copy(
            update={
                "kafka_bootstrap_servers": self.kafka_bootstrap_servers or f"127.0.0.1:{self.embedded_kafka_port}",
                "elasticsearch_url": self.elasticsearch_url or f"http://127.0.0.1:{self.embedded_elasticsearch_port}",
            }
        )

    def alerts_topic(self, topic_id: str) -> str:
        return f"{self.alerts_topic_prefix}{topic_id}"
