"""Faust stream processing: one app (app.py), topics declared once (topics.py), one module per stage.

news.raw --tagging--> news.dedupe (1 partition) --dedupe--> news.articles / news.stories
news.articles --indexing--> Elasticsearch;  news.articles --alerts--> alerts.<topic>
"""
