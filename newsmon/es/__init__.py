"""Elasticsearch side of newsmon: client, index templates, the bulk sink, search.

The pipeline's only writer is `ElasticsearchSink` (newsmon.es.sink); everything that
reads (CLI search, the Kibana checks) goes through the read alias. Errors raised by this
package derive from `ElasticsearchError` so callers catch them narrowly.
"""
from __future__ import annotations

from newsmon.retry import Transient


class ElasticsearchError(RuntimeError):
    """Base of the errors this package raises."""


class IndexingUnavailable(ElasticsearchError, Transient):
    """Elasticsearch kept refusing or timing out past the retry budget.

    The caller must NOT commit its Kafka offsets: the batch is redelivered and, since
    `_id` and index are derived from the article, rewritten idempotently.
    """


class RoutingError(ElasticsearchError):
    """An article carries no usable timestamp to pick its monthly index from."""


class TemplateError(ElasticsearchError):
    """A template or mapping could not be installed (e.g. an incompatible mapping change)."""
