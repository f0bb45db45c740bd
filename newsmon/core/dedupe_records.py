"""Dedupe state persisted as one record per story cluster, written once per batch.

`Deduper` keeps three mappings (seen, signatures, stories) and sets about four keys per
article. When each mapping is a changelog-backed table, every key set is one Kafka message,
and those messages were most of what the worker and its broker did. Everything in the three
mappings belongs to one cluster (the cluster id is the story's key and the first element of
every seen and signature value), so the worker persists it per cluster instead: a record
holds the cluster's story, its seen keys and its indexed signatures. The three mappings the
Deduper sees are in-memory views over those records, and `flush()` writes every record
touched since the last flush once: one changelog message per story per batch.

After a restart the records come back from the changelog and `ClusterRecords(records)`
derives the views again, as `Deduper.rebuild()` derives its candidate index.

Bounded records: a story's seen keys (one `a:` key per copy, `u:`/`h:` keys of exact copies)
grow with its copies, and a story copied 10,000 times would outgrow Kafka's 1 MB message. The
cluster's record therefore holds at most SEEN_PER_RECORD seen keys; when it is full they move,
once, into a sealed segment record `<cluster>#<n>` that is rewritten only when one of its keys
expires. The story and its (capped) signatures stay in the cluster's record, so every record
is bounded whatever the number of copies, and a batch still writes about one record per story.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

Record = dict  # {"story": dict | None, "seen": {key: value}, "signatures": {article id: value}}
SEEN_PER_RECORD = 256  # seen keys in one record (~25 KB of JSON); more move into a sealed segment
SEGMENT = "#"  # "<cluster>#<n>": the n-th sealed segment of a cluster's seen keys


class RecordView(MutableMapping):
    """One of the Deduper's mappings, kept in memory, every write routed to its cluster's record."""

    def __init__(self, owner: ClusterRecords, section: str, cluster_of: Callable[[str, object], str]) -> None:
        self.owner = owner
        self.section = section
        self.cluster_of = cluster_of
        self.data: dict[str, object] = {}

    def __getitem__(self, key: str) -> object:
        return self.data[key]

    def get(self, key: str, default: object = None) -> object:
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __setitem__(self, key: str, value: object) -> None:
        if key in self.data:
            self.owner.drop(self.section, key, self.cluster_of(key, self.data[key]))
        self.data[key] = value
        self.owner.put(self.section, key, value, self.cluster_of(key, value))

    def __delitem__(self, key: str) -> None:
        value = self.data.pop(key)
        self.owner.drop(self.section, key, self.cluster_of(key, value))

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class ClusterRecords:
    """`seen`, `signatures` and `stories` for a `Deduper`, persisted per cluster in `records`."""

    def __init__(self, records: MutableMapping[str, Record]) -> None:
        self.records = records
        self.seen = RecordView(self, "seen", lambda key, value: value[0])
        self.signatures = RecordView(self, "signatures", lambda key, value: value[0])
        self.stories = RecordView(self, "story", lambda key, value: key)
        self.live: dict[str, Record] = {}  # what `records` holds after the next flush
        self.touched: set[str] = set()
        self.holder: dict[str, str] = {}  # seen key -> the record holding it
        for name, record in records.items():
            self.live[name] = record
            cluster = name.partition(SEGMENT)[0]
            self.stories.data.update({cluster: record["story"]} if record["story"] is not None else {})
            self.seen.data.update(record["seen"])
            self.holder.update(dict.fromkeys(record["seen"], name))
            self.signatures.data.update(record["signatures"])

    def put(self, section: str, key: str, value: object, cluster: str) -> None:
        record = self._record(cluster)
        if section == "story":
            record["story"] = value
        elif section == "signatures":
            record["signatures"][key] = value
        else:
            if len(record["seen"]) >= SEEN_PER_RECORD:
                self._seal(cluster, record)
            record["seen"][key] = value
            self.holder[key] = cluster
        self.touched.add(cluster)

    def drop(self, section: str, key: str, cluster: str) -> None:
        name = self.holder.pop(key) if section == "seen" else cluster
        record = self.live[name]
        if section == "story":
            record["story"] = None
        else:
            del record[section][key]
        if record["story"] is None and not record["seen"] and not record["signatures"]:
            del self.live[name]
        self.touched.add(name)

    def _record(self, cluster: str) -> Record:
        return self.live.setdefault(cluster, {"story": None, "seen": {}, "signatures": {}})

    def _seal(self, cluster: str, record: Record) -> None:
        """Move the cluster's full set of seen keys into its next sealed segment record."""
        number = 0
        while f"{cluster}{SEGMENT}{number}" in self.live:  # a free number: expired segments leave gaps
            number += 1
        name = f"{cluster}{SEGMENT}{number}"
        self.live[name] = {"story": None, "seen": record["seen"], "signatures": {}}
        self.holder.update(dict.fromkeys(record["seen"], name))
        record["seen"] = {}
        self.touched.add(name)

    def flush(self) -> int:
        """Write each record changed since the last flush (delete the emptied ones); returns how many."""
        return flush_touched(self.live, self.records, self.touched)


def flush_touched(live: dict[str, Record], records: MutableMapping[str, Record], touched: set[str]) -> int:
    """Write the `touched` records of `live` to `records` once each (delete those no longer live),
    empty `touched`, return how many were written: one changelog message per record per batch."""
    for name in touched:
        if name in live:
            records[name] = live[name]
        elif name in records:
            del records[name]
    written = len(touched)
    touched.clear()
    return written
