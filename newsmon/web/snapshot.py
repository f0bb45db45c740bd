"""Read what the live page shows from Elasticsearch, in two searches.

Blocking calls (the worker runs them in a thread); the shapes come from `views`. A server
that is down or refuses is a `LiveDataError`, which the page shows as a status line while
it keeps the last good numbers.
"""
from __future__ import annotations

from elastic_transport import ConnectionError, ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from newsmon.es import ElasticsearchError
from newsmon.settings import Settings
from newsmon.web.views import (
    articles_request,
    shape_articles,
    shape_stories,
    stories_request,
)

STORIES_SHOWN = 12


class LiveDataError(ElasticsearchError):
    """Elasticsearch could not answer the live page's searches."""


def read_indices(client: Elasticsearch, settings: Settings, topic_ids: list[str]) -> dict:
    """{"articles": ..., "stories": ...} as the page's JSON."""
    hours = settings.live_window_hours
    try:
        articles = client.search(index=settings.index_alias, ignore_unavailable=True, allow_no_indices=True, **articles_request(hours))
        try:
            stories = client.search(index=settings.stories_index, **stories_request(STORIES_SHOWN))
        except NotFoundError:
            stories = None
    except ApiError as exc:
        raise LiveDataError(f"search refused: HTTP {exc.meta.status} {exc.message}") from exc
    except (ConnectionError, ConnectionTimeout) as exc:
        raise LiveDataError(f"Elasticsearch unreachable: {exc}") from exc
    return {"articles": shape_articles(dict(articles), topic_ids, hours), "stories": shape_stories(dict(stories) if stories else None)}
