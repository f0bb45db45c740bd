"""The live page the worker serves for people who do not run Kibana (see docs/live.md).

`views` shapes Elasticsearch answers into the page's JSON, `recent` keeps the latest
alerts, `snapshot` reads Elasticsearch; the Faust wiring lives in streams/web.py and the
hand-written page (no CDN, works offline) in `static/`.
"""
from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
