"""Pure logic shared by the stream agents and `newsmon process`: no Kafka, no Elasticsearch, no network."""
