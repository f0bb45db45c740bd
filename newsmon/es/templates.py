"""Install the index templates and decide which monthly index an article belongs to.

Articles live in dated indices `<alias>-YYYY.MM` behind the read alias `<alias>`. The month
comes from the article itself (its published time), never from the clock at write time:
a write-time rollover alias or data stream would send a re-delivered article to whichever
index is current *now*, duplicating it across a rollover. Here re-delivery always hits the
same `_id` in the same index. The JSON bodies live in schemas/templates/; this module only
derives their names from Settings so tests and staging can use their own prefixes.

It also says where a text is analysed: each article's title, summary and text once, in the
field of its own language (`title_fa`, `text_ar`, ...; `*_std` for every language without its
own analyzer), so the sink writes and the search reads the same field names.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from elasticsearch import ApiError, Elasticsearch

from newsmon.es import RoutingError, TemplateError
from newsmon.log import kv
from newsmon.schemas import schema_path
from newsmon.settings import Settings

log = logging.getLogger(__name__)

ILM_MISSING_STATUSES = (400, 404, 405, 410)
MONTH_FORMAT = "%Y.%m"
OLDEST_YEAR, NEWEST_YEAR = 1900, 2100
ANALYSED_FIELDS = ("title", "summary", "text")
ANALYSED_LANGUAGES = ("en", "ru", "fa", "ar", "tr")  # each has its analyzer in news-articles-analysis
FALLBACK = "std"  # news_standard: every other language, and articles whose language is unknown
SUFFIXES = (*ANALYSED_LANGUAGES, FALLBACK)


@cache
def load_template(name: str) -> dict:
    """A JSON body from schemas/templates/ (read once, treat as read-only)."""
    return json.loads(schema_path(f"templates/{name}").read_text(encoding="utf-8"))


def month_of(timestamp: str) -> str:
    """`YYYY.MM` of an ISO 8601 timestamp, in UTC (naive times are taken as UTC)."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise RoutingError(f"unparseable timestamp {timestamp!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if not OLDEST_YEAR <= moment.year <= NEWEST_YEAR:
        raise RoutingError(f"timestamp {timestamp!r} is outside {OLDEST_YEAR}-{NEWEST_YEAR}")
    return moment.strftime(MONTH_FORMAT)


def analysis_suffix(language: str) -> str:
    """Which per-language field an article in `language` (ISO 639-1, any case) is analysed in."""
    code = language.strip().lower()[:2]
    return code if code in ANALYSED_LANGUAGES else FALLBACK


def analysed_copy(document: dict, language: str) -> dict:
    """The document with title/summary/text analysed in the article's language only.

    Title and summary stay as written (shown, not analysed) beside `title_<lang>`; the body moves to
    `text_<lang>` (`content` already keeps it as received), so the bulk request carries it once.
    """
    suffix = analysis_suffix(language)
    out = dict(document)
    for name in ANALYSED_FIELDS:
        value = out.pop(name, None) if name == "text" else out.get(name)
        if value:
            out[f"{name}_{suffix}"] = value
    return out


def analysed_fields(name: str) -> list[str]:
    """Every per-language field of `name` (`title` -> title_en ... title_std), for queries."""
    return [f"{name}_{suffix}" for suffix in SUFFIXES]


def index_for(published: str, alias: str = "news-articles") -> str:
    """The monthly index an article published at `published` is written to."""
    if not published:
        raise RoutingError("article has neither a published nor a fetched time")
    return f"{alias}-{month_of(published)}"


def monthly_indices(names: list[str], alias: str) -> dict[str, date]:
    """The `<alias>-YYYY.MM` indices among `names`, with the first day of their month."""
    pattern = re.compile(re.escape(alias) + r"-(\d{4})\.(\d{2})")
    found = {}
    for name in names:
        match = pattern.fullmatch(name)
        if match:
            found[name] = date(int(match[1]), int(match[2]), 1)
    return found


def expired_indices(names: list[str], alias: str, keep_months: int, today: date) -> list[str]:
    """Monthly indices outside the newest `keep_months` months (the current month counts as one)."""
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1: the current month is always kept")
    first_kept = today.year * 12 + today.month - keep_months
    return sorted(
        name for name, month in monthly_indices(names, alias).items() if month.year * 12 + month.month - 1 < first_kept
    )


@dataclass(frozen=True)
class TemplateNames:
    """Server-side names, all derived from the alias and the stories index name."""

    alias: str
    stories: str

    @classmethod
    def of(cls, settings: Settings) -> "TemplateNames":
        return cls(settings.index_alias, settings.stories_index)

    @property
    def analysis(self) -> str:
        return f"{self.alias}-analysis"

    @property
    def articles_mappings(self) -> str:
        return f"{self.alias}-mappings"

    @property
    def stories_mappings(self) -> str:
        return f"{self.stories}-mappings"

    @property
    def policy(self) -> str:
        return f"{self.alias}-retention"

    @property
    def articles_pattern(self) -> str:
        return f"{self.alias}-*"


def priority(pattern: str) -> int:
    """Longer (more specific) patterns win, so `news-articles-staging-*` never ties with `news-articles-*`."""
    return 100 + len(pattern)


def articles_template(names: TemplateNames, ilm: bool) -> dict:
    body = load_template("news-articles.index-template.json")
    template: dict = {"aliases": {names.alias: {}}}
    if ilm:
        template["settings"] = {"index.lifecycle.name": names.policy}
    return {
        "index_patterns": [names.articles_pattern],
        "composed_of": [names.analysis, names.articles_mappings],
        "template": template,
        "priority": priority(names.articles_pattern),
        "meta": body["_meta"],
    }


def stories_template(names: TemplateNames) -> dict:
    body = load_template("news-stories.index-template.json")
    return {
        "index_patterns": [names.stories],
        "composed_of": [names.analysis, names.stories_mappings],
        "template": {},
        "priority": priority(names.stories),
        "meta": body["_meta"],
    }


def ilm_available(client: Elasticsearch) -> bool:
    """True when the server answers the ILM API (noida-db and some hosted offerings do not)."""
    try:
        client.ilm.get_status()
    except ApiError as exc:
        if exc.meta.status in ILM_MISSING_STATUSES:
            return False
        raise
    return True


def put_component(client: Elasticsearch, name: str, file: str) -> None:
    body = load_template(file)
    client.cluster.put_component_template(name=name, template=body["template"], meta=body["_meta"])


def create_index(client: Elasticsearch, name: str) -> bool:
    """Create `name` (its template applies) unless it exists; True when created here."""
    if client.indices.exists(index=name):
        return False
    try:
        client.indices.create(index=name)
    except ApiError as exc:
        if exc.error == "resource_already_exists_exception":  # another worker won the race
            return False
        raise
    return True


def missing_properties(wanted: dict, present: dict) -> dict:
    """The fields of `wanted` an index does not map yet: a mapped field is never changed in place
    (stock Elasticsearch refuses, e.g., a new analyzer for `title` in a month written before)."""
    return {name: spec for name, spec in wanted.items() if name not in present}


def sync_mappings(client: Elasticsearch, index: str, file: str) -> None:
    """Add the fields that indices created under an older template lack; older fields stay as they were."""
    wanted = load_template(file)["template"]["mappings"]["properties"]
    try:
        for name, mapping in client.indices.get_mapping(index=index).body.items():
            missing = missing_properties(wanted, mapping["mappings"].get("properties", {}))
            if missing:
                client.indices.put_mapping(index=name, properties=missing)
    except ApiError as exc:
        raise TemplateError(f"existing indices behind {index} reject the current mapping: {exc.message}") from exc


def ensure_templates(client: Elasticsearch, settings: Settings, today: date | None = None) -> bool:
    """Idempotently install components, index templates, ILM (if any) and both indices.

    Creates the current month's index so the read alias exists before the first article.
    Returns whether an ILM policy was applied.
    """
    names = TemplateNames.of(settings)
    put_component(client, names.analysis, "news-articles-analysis.component.json")
    put_component(client, names.articles_mappings, "news-articles-mappings.component.json")
    put_component(client, names.stories_mappings, "news-stories-mappings.component.json")
    ilm = ilm_available(client)
    if ilm:
        policy = load_template("news-articles.ilm-policy.json")["policy"]
        client.ilm.put_lifecycle(name=names.policy, policy=policy)
    else:
        log.info(
            "ILM not available on this server; dated monthly indices, delete old months with "
            f"`newsmon es prune --keep-months N` (indices {names.articles_pattern})"
        )
    client.indices.put_index_template(name=names.alias, **articles_template(names, ilm))
    client.indices.put_index_template(name=names.stories, **stories_template(names))
    month = (today or datetime.now(UTC).date()).strftime(MONTH_FORMAT)
    created = [
        name for name in (f"{names.alias}-{month}", names.stories) if create_index(client, name)
    ]
    sync_mappings(client, names.alias, "news-articles-mappings.component.json")
    sync_mappings(client, names.stories, "news-stories-mappings.component.json")
    log.info(kv(event="es-templates", alias=names.alias, stories=names.stories, ilm=ilm, created=",".join(created) or "-"))
    return ilm


def prune(client: Elasticsearch, settings: Settings, keep_months: int, today: date | None = None) -> list[str]:
    """Delete monthly article indices older than `keep_months` (retention without ILM)."""
    names = list(client.indices.get_alias(name=settings.index_alias).body)
    expired = expired_indices(names, settings.index_alias, keep_months, today or datetime.now(UTC).date())
    for name in expired:
        client.indices.delete(index=name)
        log.info(kv(event="es-index-deleted", index=name))
    return expired
