"""The sums of settled periods, kept while the past they count does not change.

A period that ended more than 30 days ago is *settled*: its figures can change only if an
incident with a time in it (or open at its end) changes later — and every change sets the
incident's ``updated_at``, so such an incident, reported before the period's end and so more
than 30 days before, then lives more than 30 days: it is in the partial index
``ix_incidents_long_lived`` (migration 0014), with a life reaching into the period. The count
and the summed life of the index's rows that overlap a period (reported before its end, living
to its start or later) are that period's *version*: no report and no action on a recent
incident moves it, and an action on an incident of September leaves October's sums valid
unless that incident lived into October. All the versions of a trend come from one statement
over that index.

Sums are kept at two levels: in the app's memory (:class:`SettledCache`, least recently used
go) and in the table ``evaluation_settled`` (migration 0021), so a restarted service or a second
worker process reads a settled month instead of summing it again; a row is valid for its
period's version and for the statement that summed it (a change of the figures' definitions
changes the key). Writing a row never fails a read: it runs in a savepoint.

The memory level belongs to the app (``app.state.evaluation_cache``, made by ``create_app``),
never to the module: a test's app starts with an empty one. Both trust that the past changes
only through the service's own actions (an import written around them would need the table
emptied: ``DELETE FROM evaluation_settled``).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gridgeo.evaluation.query import LIFE, WINDOW, Scope, period_sums, sql_of

Sums = dict[tuple[str | None, int], dict[str, Any]]

PERIOD_VERSIONS = text(
    f"SELECT p.k, count(i.id), coalesce(sum(extract(epoch FROM {LIFE})), 0) "  # noqa: S608
    "FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) "
    "WITH ORDINALITY AS p(s, e, k) "
    f"LEFT JOIN incidents i ON {LIFE} - i.reported_at > interval '30 days' "
    f"AND {LIFE} >= p.s AND i.reported_at < p.e GROUP BY p.k"
)
SETTLED = WINDOW  # a period is settled this long after its end


def period_versions(conn: Connection, periods: Sequence[tuple[datetime, datetime]]) -> list[str]:
    """The version of each period: (rows, summed life) of the long-lived incidents in it."""
    if not periods:
        return []
    rows = conn.execute(
        PERIOD_VERSIONS, {"starts": [a for a, _ in periods], "ends": [b for _, b in periods]}
    ).all()
    found = {int(k): f"{int(n)}:{float(life)!r}" for k, n, life in rows}
    return [found[k] for k in range(1, len(periods) + 1)]


def _encode(value: Any) -> Any:
    """A JSON value that :func:`_decode` turns back into ``value`` exactly."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, timedelta):
        return {"$t": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    raise TypeError(f"cannot keep a {type(value).__name__} in the evaluation's store")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$f": float,
    "$d": Decimal,
    "$dt": datetime.fromisoformat,
    "$t": lambda t: timedelta(days=t[0], seconds=t[1], microseconds=t[2]),
}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        ((tag, v),) = value.items()
        return _DECODERS[tag](v)
    return value


def _dump(sums: dict[str | None, dict[str, Any]]) -> str:
    return json.dumps([[g, {k: _encode(v) for k, v in row.items()}] for g, row in sums.items()])


def _load(blob: Any) -> dict[str | None, dict[str, Any]]:
    return {g: {k: _decode(v) for k, v in row.items()} for g, row in blob}


def store_key(scope: Scope, start: datetime, end: datetime, medians: bool) -> str:
    """The key of a period's sums: the scope, the period and the statement that sums it."""
    statement = hashlib.sha1(sql_of(scope, 1, medians).encode()).hexdigest()[:16]
    return json.dumps([statement, asdict(scope), start.isoformat(), end.isoformat(), medians])


def flight_key(scope: Scope, medians: bool) -> str:
    """What two requests summing the same settled periods have in common: scope and statement."""
    return json.dumps([asdict(scope), medians])


def _stored(conn: Connection, wanted: dict[str, str]) -> dict[str, Any]:
    """The sums kept in the table under each key of ``wanted`` for its version."""
    rows = conn.execute(
        text("SELECT key, version, sums FROM evaluation_settled WHERE key = ANY(:keys)"),
        {"keys": list(wanted)},
    ).all()
    return {key: _load(sums) for key, version, sums in rows if wanted[key] == version}


def _store(conn: Connection, rows: list[dict[str, str]]) -> None:
    """Keep ``rows`` (key, version, sums) in the table; a failure only loses the keeping."""
    if not rows:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO evaluation_settled (key, version, sums) "
                    "VALUES (:key, :version, CAST(:sums AS jsonb)) ON CONFLICT (key) DO UPDATE "
                    "SET version = excluded.version, sums = excluded.sums, computed_at = now()"
                ),
                rows,
            )
    except DBAPIError:  # a read-only transaction, a concurrent schema change: sum next time
        pass


class SettledCache:
    """Sums of settled periods by key, valid for one history version; least recently used go."""

    def __init__(self, max_entries: int = 2048) -> None:
        """Keep at most ``max_entries`` periods' sums."""
        self.max_entries = max_entries
        self.hits = self.misses = 0
        self.stored_hits = 0  # read from the table after a miss in memory
        self._data: OrderedDict[Hashable, tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, threading.Lock] = {}

    def flight(self, key: Hashable) -> threading.Lock:
        """The lock of one scope's summing of settled periods.

        A second request (or the warm-up, :mod:`gridgeo.evaluation.warm`) that needs the same
        settled months waits for the first instead of summing them again beside it.
        """
        with self._lock:
            return self._flights.setdefault(key, threading.Lock())

    def peek(self, key: Hashable, version: str) -> Any | None:
        """As :meth:`get`, not counted (a second look after waiting for a flight)."""
        with self._lock:
            found = self._data.get(key)
            return None if found is None or found[0] != version else found[1]

    def get(self, key: Hashable, version: str) -> Any | None:
        """The sums kept under ``key`` for ``version``, or None."""
        with self._lock:
            found = self._data.get(key)
            if found is None or found[0] != version:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, version: str, value: Any) -> None:
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
    """:func:`gridgeo.evaluation.query.period_sums`, the settled periods kept (memory, table).

    The periods not found (the recent ones, and the settled ones the first time or after their
    past changed) are summed in one statement from the first of them to the last period; the
    settled among them are kept for next time.
    """
    n = len(bounds) - 1
    if cache is None:
        return period_sums(conn, scope, bounds, now, medians=medians)
    settled_until = now - SETTLED
    settled = [k for k in range(1, n + 1) if bounds[k] <= settled_until]
    versions = dict(
        zip(
            settled,
            period_versions(conn, [(bounds[k - 1], bounds[k]) for k in settled]),
            strict=True,
        )
    )
    keys = {k: store_key(scope, bounds[k - 1], bounds[k], medians) for k in settled}
    found: dict[int, Any] = {}
    for k in settled:
        kept = cache.get(keys[k], versions[k])
        if kept is not None:
            found[k] = kept
    if all(k in found for k in settled):
        return _sum_rest(conn, scope, bounds, now, medians, cache, settled, versions, keys, found)
    with cache.flight(flight_key(scope, medians)):
        for k in settled:  # summed by another request while this one waited
            if k not in found and (kept := cache.peek(keys[k], versions[k])) is not None:
                found[k] = kept
        return _sum_rest(conn, scope, bounds, now, medians, cache, settled, versions, keys, found)


def _sum_rest(
    conn: Connection,
    scope: Scope,
    bounds: Sequence[datetime],
    now: datetime,
    medians: bool,
    cache: SettledCache,
    settled: list[int],
    versions: dict[int, str],
    keys: dict[int, str],
    found: dict[int, Any],
) -> Sums:
    """The settled periods not ``found`` in memory from the table, the rest summed and kept."""
    n = len(bounds) - 1
    out: Sums = {}
    unread = {keys[k]: versions[k] for k in settled if k not in found}
    if unread:
        stored = _stored(conn, unread)
        for k in settled:
            if k not in found and keys[k] in stored:
                found[k] = stored[keys[k]]
                cache.put(keys[k], versions[k], found[k])
                cache.stored_hits += 1
    for k, kept in found.items():
        out.update({(g, k): v for g, v in kept.items()})
    missing = [k for k in range(1, n + 1) if k not in found]
    if not missing:
        return out
    first = missing[0]
    got = period_sums(conn, scope, bounds[first - 1 :], now, medians=medians)
    for (group, j), sums in got.items():
        out[(group, j + first - 1)] = sums
    rows = []
    for k in settled:
        if k >= first and k not in found:
            kept = {g: v for (g, j), v in out.items() if j == k}
            cache.put(keys[k], versions[k], kept)
            rows.append({"key": keys[k], "version": versions[k], "sums": _dump(kept)})
    _store(conn, rows)
    return out
