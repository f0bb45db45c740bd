"""Per-feed fetch state that survives collector restarts.

What must survive: the validators for conditional GET (ETag, Last-Modified), the ids
already published (so a restart does not re-publish the whole feed), and the backoff
of failing feeds. The validators and seen ids are advanced only after the broker has
acknowledged a fetch's articles, so a crash in between re-sends rather than loses items.
An article waiting for its linked page (collectors/pages.py) is published later: it is kept
out of `seen` until then, and the feed's validators are held back (`hold_validators`)
until the last waiting article is published, so a crash meanwhile fetches the feed whole
again and hands the article over anew.
The file is rewritten atomically (temp file + fsync + rename): a crash never leaves half a file.
It is private: 0600 in a 0700 data folder (it names every feed, with any credentials in their URLs).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from newsmon.collectors.archive import private_folder
from newsmon.log import kv

log = logging.getLogger(__name__)

STATE_FILE = "collector-state.json"
MAX_SEEN_PER_FEED = 5000
BACKOFF_BASE_SECONDS = 60.0
BACKOFF_MAX_SECONDS = 6 * 3600.0
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0


@dataclass
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)  # article ids, oldest first
    errors: int = 0  # consecutive failures
    next_fetch: float = 0.0  # epoch seconds; the feed is skipped before this
    last_error: str = ""
    last_success: float = 0.0
    # Validators of a fetch whose articles still wait for their page: they replace etag and
    # last_modified once the last of those articles is published (`release_validators`).
    held_etag: str | None = None
    held_last_modified: str | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_fetch

    def unseen(self, ids: list[str]) -> set[str]:
        known = set(self.seen)
        return {item for item in ids if item not in known}

    def record_success(self, now: float, etag: str | None, last_modified: str | None, ids: list[str]) -> None:
        """Commit a fetch whose articles are all acknowledged; ids still in the feed stay remembered."""
        self.etag = etag or self.etag
        self.last_modified = last_modified or self.last_modified
        self.remember(ids)
        self.errors = 0
        self.next_fetch = 0.0
        self.last_error = ""
        self.last_success = now

    def remember(self, ids: list[str]) -> None:
        """Mark `ids` published, most recent last (also for articles published after their page)."""
        current = list(dict.fromkeys(ids))
        keep = set(current)
        self.seen = ([item for item in self.seen if item not in keep] + current)[-MAX_SEEN_PER_FEED:]

    def hold_validators(self, etag: str | None, last_modified: str | None) -> None:
        self.held_etag, self.held_last_modified = etag, last_modified

    def release_validators(self, advance: bool) -> None:
        """The waiting articles are published (`advance`) or one failed: apply or forget the held validators."""
        if advance:
            self.etag = self.held_etag or self.etag
            self.last_modified = self.held_last_modified or self.last_modified
        self.held_etag = self.held_last_modified = None

    def record_not_modified(self, now: float) -> None:
        self.errors = 0
        self.next_fetch = 0.0
        self.last_error = ""
        self.last_success = now

    def record_failure(self, now: float, reason: str, retry_after: float | None = None) -> float:
        """Count a failure and schedule the next attempt; returns the delay in seconds."""
        self.errors += 1
        self.last_error = reason
        if retry_after is not None:
            delay = min(retry_after, RETRY_AFTER_MAX_SECONDS)
        else:
            delay = min(BACKOFF_BASE_SECONDS * 2 ** (self.errors - 1), BACKOFF_MAX_SECONDS)
        self.next_fetch = now + delay
        return delay


class StateStore:
    """All feeds' states in one JSON file; `path=None` keeps them in memory only."""

    def __init__(self, path: Path | None, feeds: dict[str, FeedState] | None = None) -> None:
        self.path = path
        self.feeds = feeds or {}

    @classmethod
    def load(cls, data_dir: Path) -> "StateStore":
        path = Path(data_dir) / STATE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            # A damaged state file costs re-publishing (deduped downstream), never a crash loop.
            log.warning(kv(event="state-unreadable", path=path, reason=exc))
            return cls(path)
        names = {f.name for f in fields(FeedState)}
        feeds = {url: FeedState(**{k: v for k, v in entry.items() if k in names}) for url, entry in raw.items()}
        return cls(path, feeds)

    def feed(self, url: str) -> FeedState:
        return self.feeds.setdefault(url, FeedState())

    def save(self) -> None:
        """Write every feed's state; raises OSError (a full or read-only disk) with the file unchanged."""
        if self.path is None:
            return
        payload = json.dumps({url: asdict(state) for url, state in self.feeds.items()}, ensure_ascii=False)
        write_durably(self.path, payload.encode("utf-8"))


def write_durably(path: Path, data: bytes) -> None:
    """Replace `path` by `data`: a 0600 temporary file (mkstemp), fsync, rename, in a 0700 folder."""
    private_folder(path.parent)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
