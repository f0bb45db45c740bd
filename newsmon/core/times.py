"""The one place timestamps are read and written.

Every timestamp on the wire is ISO 8601 UTC ('YYYY-MM-DDTHH:MM:SSZ'; the index's `indexed`
adds milliseconds), so Elasticsearch, Kibana and `jq` read them without conversion. A time
without a zone is taken as UTC: feeds and archives that omit it mean UTC far more often than
the collector's local zone.
"""
from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

WIRE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class TimeFormatError(ValueError):
    """A string that is not an ISO 8601 time."""


def iso_from_epoch(epoch: float) -> str:
    """Epoch seconds as the wire format, to the second; formatted once per second, not per call."""
    return _iso_second(int(epoch))


@functools.lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime(WIRE_FORMAT)


def iso_from_datetime(moment: datetime) -> str:
    """A datetime as the wire format (naive means UTC)."""
    return as_utc(moment).strftime(WIRE_FORMAT)


def now_iso() -> str:
    """The current time as the wire format."""
    return iso_from_epoch(time.time())


def now_iso_ms() -> str:
    """The current time to the millisecond: when a document was indexed, for latency figures."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """An ISO 8601 string ('Z' accepted, naive means UTC) as an aware UTC datetime.
    Raises TimeFormatError."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        raise TimeFormatError(f"not an ISO 8601 time: {value!r}") from None
    return as_utc(moment)


def epoch_from_iso(value: str) -> float:
    """Epoch seconds of an ISO 8601 string. Raises TimeFormatError."""
    return parse_iso(value).timestamp()


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
