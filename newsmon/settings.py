"""One typed settings object, loaded once in main() and passed down.

Sources, highest first: CLI flags (applied by the commands), environment variables
(``NEWSMON_*``; the conventional ``KAFKA_BOOTSTRAP_SERVERS`` / ``ELASTICSEARCH_URL`` /
``KIBANA_URL`` are accepted too), a TOML file (``NEWSMON_CONFIG``, default ``./newsmon.toml``),
then the defaults below. Credentials are ``SecretStr`` so they never reach a log line.
Every value is checked when `load_settings` reads them, before any command starts: a wrong one
(a zero interval, a negative window, a port out of range, an unknown protocol) is one line naming
the setting and where it came from, and `newsmon` exits 2, instead of a crash loop hours later.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from newsmon.core.urls import is_web_url, redact_url

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


# --- value checks: a wrong value is refused at start, one line each (see `load_settings`) ---
# Infinity and NaN are refused everywhere: "wait for ever" is not a setting any of these have.
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # 0 where the field's comment says what 0 means
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _http_url(value: str) -> str:
    if not is_web_url(value):
        raise ValueError("expected an http:// or https:// URL with a host (and a port in 1..65535)")
    return value


def _bootstrap_servers(value: str) -> str:
    """`host[:port]` entries separated by commas, as Kafka clients take them."""
    for entry in value.split(","):
        try:
            parts = urlsplit(f"//{entry.strip()}")
            usable = bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port out of 0..65535 or not a number, an unclosed [IPv6
            usable = False
        if not usable:
            raise ValueError(f"expected host:port[,host:port...] with ports in 1..65535, got entry {entry.strip()!r}")
    return value


_KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]*")


def _kafka_name(value: str) -> str:
    """A Kafka topic name (or the prefix of one): letters, digits, '.', '_', '-', at most 249."""
    if not value or len(value) > 249 or not _KAFKA_NAME.fullmatch(value):
        raise ValueError("expected 1-249 letters, digits, '.', '_' or '-' (a Kafka topic name)")
    return value


def _index_name(value: str) -> str:
    """An Elasticsearch index or alias name (its own rules: lowercase, none of \\/*?"<>|,# : or space)."""
    if (not value or value in (".", "..") or value != value.lower() or value[0] in "-_+"
            or any(c in value for c in '\\/*?"<>|,#: ') or len(value.encode()) > 255):
        raise ValueError("expected a lowercase Elasticsearch index name without \\/*?\"<>|,#: or spaces")
    return value


def _no_controls(value: str) -> str:
    if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("expected non-empty text without control characters")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
BootstrapServers = Annotated[str, AfterValidator(_bootstrap_servers)]
KafkaProtocol = Annotated[Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], BeforeValidator(_upper)]
SaslMechanism = Annotated[Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], BeforeValidator(_upper)]
Text = Annotated[str, AfterValidator(_no_controls)]
TopicName = Annotated[str, AfterValidator(_kafka_name)]
IndexName = Annotated[str, AfterValidator(_index_name)]


class WebhookTarget(BaseModel):
    """One place alerts are POSTed to (see docs/live.md): which topics, in which format, signed how."""

    url: HttpUrl  # http(s) endpoint; Slack incoming-webhook URLs carry a secret, so only the host is ever logged
    topics: list[str] = []  # topic ids to deliver; empty means every topic
    format: Literal["json", "slack"] = "json"
    secret: SecretStr | None = None  # HMAC-SHA256 key for the X-Newsmon-Signature header


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="ignore", populate_by_name=True)

    # --- where things live ---
    data_dir: Path = Path(".newsmon")
    feeds: list[str] = Field(default_factory=lambda: list(DEFAULT_FEEDS))

    # --- Kafka: unset bootstrap servers means "start the embedded broker" ---
    kafka_bootstrap_servers: BootstrapServers | None = Field(
        None, validation_alias=_env("NEWSMON_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL (any case)
    kafka_sasl_mechanism: SaslMechanism | None = None  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512; needed by SASL_*
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: FilePath | None = None
    topic_partitions: Count = 4
    # Wait after an empty fetch the broker answered at once (noida-db does): without it an
    # idle consumer spins a core. 0 for brokers that honour fetch_max_wait_ms.
    kafka_empty_fetch_wait_seconds: NonNegative = 0.05
    # The worker's internal hops carry batches: up to this many articles, gathered for at
    # most this long, in messages of at most about this many bytes.
    stream_batch_size: Count = 500
    stream_batch_seconds: Positive = 0.05
    stream_batch_bytes: Count = 512 * 1024
    # How long news.raw and the internal topics keep records: longer than any outage the
    # worker or Elasticsearch should ride out (older records need `newsmon replay`).
    topic_retention_days: Positive = 7.0
    raw_topic: TopicName = "news.raw"
    dedupe_topic: TopicName = "news.dedupe"  # the worker's single-partition, sequenced hop
    articles_topic: TopicName = "news.articles"
    volume_topic: TopicName = "news.volume"  # per-topic article events for breaking-volume detection
    dlq_topic: TopicName = "news.dlq"
    alerts_topic_prefix: TopicName = "alerts."

    # --- Elasticsearch: unset URL means "start the embedded server" ---
    elasticsearch_url: HttpUrl | None = Field(
        None, validation_alias=_env("NEWSMON_ELASTICSEARCH_URL", "ELASTICSEARCH_URL")
    )
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: FilePath | None = None
    index_alias: IndexName = "news-articles"
    stories_index: IndexName = "news-stories"
    index_batch_size: Count = 500
    index_batch_seconds: Positive = 0.5

    # --- Kibana (reached only through its HTTP API) ---
    kibana_url: HttpUrl = Field("http://127.0.0.1:5601", validation_alias=_env("NEWSMON_KIBANA_URL", "KIBANA_URL"))
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_api_key: SecretStr | None = None

    # --- embedded servers (used only when the URLs above are unset) ---
    embedded_kafka: Literal["noida", "tansu"] = "noida"  # "noida" (on disk, keeps data across restarts) | "tansu" (memory)
    embedded_kafka_port: Port = 9092
    embedded_elasticsearch_port: Port = 9200

    # --- collectors ---
    poll_interval_seconds: Positive = 300.0
    fetch_timeout_seconds: Positive = 20.0
    fetch_concurrency: Count = 16
    max_feed_bytes: Count = 16 * 1024 * 1024
    max_redirects: Annotated[int, Field(ge=0)] = 5  # 0: a redirect is a failed fetch
    user_agent: Text = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
    archive: bool = True  # keep raw feed bytes under data_dir/archive for replay
    # --- article pages behind teaser-only feeds (docs/collectors.md, "Fetching article pages") ---
    full_text: Literal["auto", "always", "never"] = "auto"  # auto: fetch the link when the entry is a teaser
    full_text_min_words: Count = 150  # auto: an entry with fewer words than this is a teaser
    page_host_concurrency: Count = 2  # requests in flight to one host
    page_host_interval_seconds: NonNegative = 1.0  # between request starts to one host (robots Crawl-delay may raise it); 0: no spacing
    page_host_queue: Count = 100  # articles waiting for one host's pages; beyond it they go on as teasers (queue-full)
    page_max_wait_seconds: Positive = 120.0  # a host backing off longer than this: its articles go on as teasers
    page_concurrency: Count = 32  # page requests in flight over all hosts (the page fetcher's connection pool)
    page_timeout_seconds: Positive = 15.0
    max_page_bytes: Count = 8 * 1024 * 1024  # after decompression
    robots_ttl_seconds: Positive = 24 * 3600.0  # how long a host's robots.txt is trusted (RFC 9309)

    # --- stream processing ---
    topic_rules: FilePath | None = None  # default: schemas/topics.yaml shipped with the package
    dedupe_window_days: Count = 30
    # Events (newsmon/core/events.py): a story idle this long (event time) takes no more reports
    events_window_days: Positive = 4.0
    # Story alerts: once per event and topic, then a follow-up when the event reaches each of
    # these outlet counts (the highest crossed) and, if set, when it is reported in a new language
    alert_outlet_steps: list[Count] = Field(default_factory=lambda: [10, 25])
    alert_language_steps: bool = True
    breaking_factor: Positive = 3.0
    breaking_window_minutes: Count = 60
    breaking_min_articles: Count = 5
    worker_group: TopicName = "newsmon"  # the Faust app id: the worker's consumer group, prefix of its internal topics
    web_host: Text = "127.0.0.1"  # the live page and /health bind here; 0.0.0.0 exposes them to the network
    web_port: Port = 6066
    # `newsmon up` stops (exit 1) when a worker stage stays failing this long (its /health says which)
    stage_failure_limit_seconds: Positive = 600.0

    # --- live page (served by the worker) and alert deliveries ---
    live_window_hours: Count = 6  # span of the per-topic chart
    live_refresh_seconds: Positive = 2.0  # how often the page's data is re-read while someone watches
    webhooks: list[WebhookTarget] = Field(default_factory=list)  # NEWSMON_WEBHOOKS='[{"url": ...}]' or [[webhooks]] in TOML
    webhook_attempts: Count = 5  # per alert and target, then the alert goes to news.dlq
    webhook_backoff_seconds: Positive = 1.0  # first retry delay, doubled per attempt
    webhook_timeout_seconds: Positive = 10.0

    @model_validator(mode="after")
    def _sasl_complete(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL_") and not (
                self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"kafka_security_protocol={self.kafka_security_protocol} needs kafka_sasl_mechanism, "
                             "kafka_sasl_username and kafka_sasl_password")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
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


CONFIG_ENV = "NEWSMON_CONFIG"
DEFAULT_CONFIG = Path("newsmon.toml")


class ConfigError(ValueError):
    """The settings cannot be loaded; `lines` holds one readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def config_file() -> Path:
    """The TOML file settings are read from: $NEWSMON_CONFIG, else ./newsmon.toml (optional)."""
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))


def load_settings() -> Settings:
    """Settings from every source, or ConfigError naming each wrong value and where it came from.

    A file named by NEWSMON_CONFIG must exist (/dev/null says "no file"); ./newsmon.toml may be absent."""
    path = config_file()
    if CONFIG_ENV in os.environ and (path.is_dir() or not path.exists()):
        raise ConfigError([f"{CONFIG_ENV}={path}: {'a directory, not a file' if path.exists() else 'no such file'}"])
    try:
        return Settings()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except SettingsError as exc:  # an env value of a list/object setting that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1) if field else ""
        where = " or ".join(_env_names(name)) if name else "the environment"
        raise ConfigError([f"setting {name or '?'} from {where}: not JSON (lists and tables are written as JSON in "
                           "environment variables, e.g. '[\"https://example.org/rss\"]')"]) from None
    except ValidationError as exc:
        raise ConfigError(_validation_lines(exc, path)) from None


def _env_names(field: str) -> list[str]:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"{Settings.model_config.get('env_prefix', '')}{field}".upper()]


def _field_named(name: str) -> str:
    """The field an error location names: pydantic reports an aliased field by its first alias."""
    for field in Settings.model_fields:
        if name in _env_names(field) and name != field:
            return field
    return name


def _source(field: str, path: Path) -> str:
    """Where a setting's value came from: the environment variable that set it, or the TOML file."""
    environ = {key.upper(): key for key in os.environ}
    for name in _env_names(field):
        if name in environ:
            return f"environment {environ[name]}"
    return str(path) if path.is_file() else "the defaults"


# Values never repeated in a line: credentials, and webhook targets (a Slack webhook URL is itself the secret).
_SECRET_WORDS = ("secret", "password", "api_key", "webhooks")


def _validation_lines(exc: ValidationError, path: Path) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a check across settings (model validator)
            lines.append(f"settings: {message}")
            continue
        field, *inner = [str(part) for part in error["loc"]]
        field = _field_named(field)
        loc = [field, *inner]
        secret = any(word in part for part in loc for word in _SECRET_WORDS)
        shown = "" if secret or error["type"] == "missing" else f" = {_short(error['input'])}"
        lines.append(f"setting {'.'.join(loc)}{shown} (from {_source(field, path)}): {message}")
    return lines


def _short(value: Any) -> str:
    text = repr(redact_url(value) if isinstance(value, str) else value)
    return text if len(text) <= 80 else f"{text[:77]}..."
