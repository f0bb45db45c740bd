"""newsmon: a streaming news monitor (RSS/Atom -> Kafka -> Faust -> Elasticsearch/Kibana)."""

__version__ = "0.1.0"
