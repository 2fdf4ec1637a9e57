"""The sums of settled periods, kept while the past they count does not change.

A period that ended more than 30 days ago is *settled*: its figures can change only if an
incident with a time in it (or open at its end) changes later — and every change sets the
incident's ``updated_at``, so such an incident, reported more than 30 days before, then lives
more than 30 days: it is in the partial index ``ix_incidents_long_lived`` (migration 0014). The
count and the summed "life" of that index's rows are the *history version*: no report and no
action on a recent incident moves it. Sums of settled periods are kept under it, and a year's
trend reads the database only for its last month or two.

The cache belongs to the app (``app.state.evaluation_cache``, made by ``create_app``), never to
the module: a test's app starts with an empty one. It trusts that the past changes only through
the service's own actions (an import written around them would need the cache emptied, or a
restart).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.evaluation.query import LIFE, WINDOW, Scope, period_sums

Sums = dict[tuple[str | None, int], dict[str, Any]]

VERSION_SQL = text(
    f"SELECT count(*), coalesce(sum(extract(epoch FROM {LIFE})), 0) FROM incidents i "  # noqa: S608
    f"WHERE {LIFE} - i.reported_at > interval '30 days'"
)
SETTLED = WINDOW  # a period is settled this long after its end


def history_version(conn: Connection) -> tuple[int, float]:
    """The version of the settled past: (rows, summed life) of the long-lived index."""
    n, life = conn.execute(VERSION_SQL).one()
    return int(n), float(life)


class SettledCache:
    """Sums of settled periods by key, valid for one history version; least recently used go."""

    def __init__(self, max_entries: int = 2048) -> None:
        """Keep at most ``max_entries`` periods' sums."""
        self.max_entries = max_entries
        self.hits = self.misses = 0
        self._data: OrderedDict[Hashable, tuple[tuple[int, float], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: tuple[int, float]) -> Any | None:
        """The sums kept under ``key`` for ``version``, or None."""
        with self._lock:
            found = self._data.get(key)
            if found is None or found[0] != version:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, version: tuple[int, float], value: Any) -> None:
        """Keep ``value`` under ``key`` for ``version``."""
        with self._lock:
            self._data[key] = (version, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


def sums_of(
    conn: Connection,
    scope: Scope,
    bounds: Sequence[datetime],
    now: datetime,
    *,
    medians: bool = False,
    cache: SettledCache | None = None,
) -> Sums:
    """:func:`gridgeo.evaluation.query.period_sums`, the settled periods from ``cache``.

    The periods not found (the recent ones, and the settled ones the first time) are summed
    in one statement from the first of them to the last period; the settled among them are
    kept for next time.
    """
    n = len(bounds) - 1
    if cache is None:
        return period_sums(conn, scope, bounds, now, medians=medians)
    version = history_version(conn)
    settled = now - SETTLED
    out: Sums = {}
    missing = []
    for k in range(1, n + 1):
        key = (scope, bounds[k - 1], bounds[k], medians)
        found = cache.get(key, version) if bounds[k] <= settled else None
        if found is None:
            missing.append(k)
        else:
            out.update({(g, k): v for g, v in found.items()})
    if not missing:
        return out
    first = missing[0]
    got = period_sums(conn, scope, bounds[first - 1 :], now, medians=medians)
    for (group, j), sums in got.items():
        out[(group, j + first - 1)] = sums
    for k in range(first, n + 1):
        if bounds[k] <= settled:
            kept = {g: v for (g, j), v in out.items() if j == k}
            cache.put((scope, bounds[k - 1], bounds[k], medians), version, kept)
    return out
