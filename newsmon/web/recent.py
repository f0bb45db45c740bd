"""The latest alerts, newest first, kept in the worker's memory for the live page.

The alert topics are the record; this is only a window onto their tail. Reading the tail
again after a reconnect must not show an alert twice, so entries are keyed by delivery id.
"""
from __future__ import annotations

from collections import OrderedDict

from newsmon.core.webhooks import delivery_id
from newsmon.schemas.article import Alert
from newsmon.web.views import shape_alert


class RecentAlerts:
    def __init__(self, size: int = 50) -> None:
        self.size = size
        self._items: OrderedDict[str, dict] = OrderedDict()

    def add(self, alert: Alert) -> bool:
        """Keep `alert` as the newest one; False when it is already kept."""
        key = delivery_id(alert)
        if key in self._items:
            return False
        self._items[key] = shape_alert(alert)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return True

    def latest(self) -> list[dict]:
        return list(reversed(self._items.values()))
