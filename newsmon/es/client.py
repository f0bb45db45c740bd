"""Build the one Elasticsearch client configuration newsmon uses.

Connection details come only from Settings (URL, basic auth or API key, CA bundle), so
the sink, `newsmon search` and `newsmon es setup` all talk to the cluster the same way.
An unset URL means the embedded server on loopback, which `newsmon up` starts.
"""
from __future__ import annotations

from elasticsearch import Elasticsearch

from newsmon.settings import Settings

REQUEST_TIMEOUT_SECONDS = 30.0


def elasticsearch_url(settings: Settings) -> str:
    return settings.elasticsearch_url or f"http://127.0.0.1:{settings.embedded_elasticsearch_port}"


def make_client(settings: Settings) -> Elasticsearch:
    options: dict = {"request_timeout": REQUEST_TIMEOUT_SECONDS}
    if settings.elasticsearch_api_key is not None:
        options["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    elif settings.elasticsearch_username:
        password = settings.elasticsearch_password.get_secret_value() if settings.elasticsearch_password else ""
        options["basic_auth"] = (settings.elasticsearch_username, password)
    if settings.elasticsearch_ca_certs is not None:
        options["ca_certs"] = str(settings.elasticsearch_ca_certs)
    return Elasticsearch(elasticsearch_url(settings), **options)
