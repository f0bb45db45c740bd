"""Feed collectors: fetch -> parse -> normalise -> publish, one module per step.

- `fetcher`   conditional GET over HTTP(S)/file:// with hostile-server guards
- `parser`    feedparser behind an entity-expansion guard and a "not a feed" check
- `normalize` feed entries -> `schemas.article.Article` (shared by live collection and replay)
- `archive`   raw fetched bytes kept for offline replay
- `state`     per-feed validators, seen ids and backoff, persisted atomically
- `publisher` aiokafka producer that returns only after the broker acknowledged
- `run`       the concurrent collection cycle and the polling loop (`run_collectors`)
"""
