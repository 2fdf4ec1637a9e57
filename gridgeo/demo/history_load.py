"""Writing the simulated year (gridgeo/demo/history.py) in bulk, with COPY.

Each incident is at its building's point, queued at the ancestor of its grid for its level
(``gridgeo_ancestor_code``, asked once per grid and level); ids are taken from the sequence
first, so that the incidents and their timelines are each one COPY. The grid workers the
history names are stored as the grids' full-time workers (as many as each grid counts, so the
staffing figures do not change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.audit import record
from gridgeo.demo.history import DESCRIPTIONS, simulate
from gridgeo.demo.lives import Life
from gridgeo.incidents.facts import FACTS

COLUMNS = (
    "id", "location", "grid_id", "category", "description", "reported_at", "created_by",
    "updated_by", "state", "major", "accuracy_m", "coord_system", "orig_lon", "orig_lat",
    "candidate_grid_ids", "escalation_level", "queue_area", "accept_due", "resolve_due",
    "level_accept_due", "level_resolve_due", "extended_due", "extension_requested_at",
    "rating", "reporter", "idempotency_key", "assignee", "department_id", "updated_at",
) + tuple(FACTS)  # fmt: skip
TYPES = (
    "int8", "geometry", "int8", "text", "text", "timestamptz", "text", "text", "text", "bool",
    "float8", "text", "float8", "float8", "int8[]", "int2", "text", "timestamptz",
    "timestamptz", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "int2", "text",
    "text", "text", "int8", "timestamptz",
) + ("timestamptz",) * len(FACTS)  # fmt: skip


class Ewkb(bytes):
    """A geometry as PostGIS's binary form (EWKB), for a binary COPY."""


def _geometry_dumper(raw: Any) -> None:
    """Let ``raw`` (a psycopg connection) send :class:`Ewkb` as ``geometry`` in binary."""
    from psycopg import pq
    from psycopg.adapt import Dumper
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(raw, "geometry")
    assert info is not None
    info.register(raw)

    class EwkbDumper(Dumper):
        format = pq.Format.BINARY
        oid = info.oid

        def dump(self, obj: Any) -> bytes:
            return bytes(obj)

    raw.adapters.register_dumper(Ewkb, EwkbDumper)


def _copy(
    conn: Connection, sql: str, rows: Iterable[Sequence[Any]], types: Sequence[str] | None = None
) -> None:
    """COPY ``rows`` with psycopg's own (C) conversions; binary when the ``types`` are given."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if types and "geometry" in types:
        _geometry_dumper(raw)
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(sql + (" (FORMAT BINARY)" if types else "")) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def facts_of(life: Life) -> list[datetime | None]:
    """The facts of :data:`gridgeo.incidents.facts.FACTS` from a simulated timeline."""
    out = []
    for which, actions in FACTS.values():
        times = [e[0] for e in life.events if e[2] in actions]
        out.append((min(times) if which == "first" else max(times)) if times else None)
    return out


def _row(life: Life, new_id: int, place: tuple[bytes, float, float], queue: str,
         key: str) -> list[Any]:  # fmt: skip
    texts = DESCRIPTIONS.get(life.category, DESCRIPTIONS["other"])
    last = life.events[-1]
    ewkb, lon, lat = place
    return [
        new_id, ewkb, life.grid, life.category, texts[life.k % len(texts)], life.reported_at,
        life.reporter, last[1], life.state, life.major, 15.0, "wgs84", lon, lat,
        [life.grid], life.level, queue, life.accept_due, life.resolve_due,
        life.level_accept_due, life.level_resolve_due, life.extended_due,
        life.extension_requested_at, life.rating, life.reporter, key, life.assignee,
        life.department, last[0], *facts_of(life),
    ]  # fmt: skip


def load_history(
    conn: Connection, now: datetime, *, seed: int = 2027, workers: bool = True, **span: Any
) -> dict[str, int]:
    """Simulate the year before ``now`` and store it, in the caller's transaction.

    Args:
        conn: a connection in a transaction, on a database with a city (no history yet).
        now: the present.
        seed: random seed (and part of the incidents' idempotency keys).
        workers: store the grids' workers that the history names.
        span: ``per_day``, ``days``, ``offset_days`` of :func:`gridgeo.demo.history.simulate`.

    Returns:
        ``{"history_incidents": …, "history_events": …, "named_workers": …}``.
    """
    lives, staff = simulate(conn, now, seed=seed, **span)
    places = {
        int(i): (Ewkb(b), float(x), float(y))
        for i, b, x, y in conn.execute(text(
            "SELECT id, ST_AsEWKB(location), ST_X(location), ST_Y(location) FROM households"))
    }  # fmt: skip
    # each grid's queue at each level, as gridgeo_ancestor_code gives it
    queues = {
        int(g): list(codes)
        for g, codes in conn.execute(text(
            "SELECT g.id, ARRAY(SELECT gridgeo_ancestor_code(g.id, k) FROM generate_series(0, 8) k "
            "ORDER BY k) FROM current_grids g WHERE g.id = ANY(:g)"),
            {"g": sorted({life.grid for life in lives})})
    }  # fmt: skip
    ids = list(conn.execute(
        text("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) "
             "FROM generate_series(1, :n)"), {"n": len(lives)}).scalars())  # fmt: skip
    prefix = f"history-{seed}-"
    rows = (
        _row(life, int(ids[n]), places[life.building], queues[life.grid][life.level],
             f"{prefix}{life.k}")
        for n, life in enumerate(lives)
    )  # fmt: skip
    _copy(conn, f"COPY incidents ({', '.join(COLUMNS)}) FROM STDIN", rows, TYPES)
    events = (
        (ids[n], at, actor, action, src, dst, note)
        for n, life in enumerate(lives)
        for at, actor, action, src, dst, note in life.events
    )
    _copy(conn, "COPY incident_events (incident_id, at, actor, action, from_state, to_state, "
          "note) FROM STDIN", events,
          ("int8", "timestamptz", "text", "text", "text", "text", "text"))  # fmt: skip
    named = [(g, name) for g, names in staff.items() for name in names
             if not name.startswith("grid:") and workers]  # fmt: skip
    _copy(conn, "COPY workers (grid_id, name, role, full_time, created_by, updated_by) FROM STDIN",
          ((g, name, "grid_admin", True, "demo", "demo") for g, name in named))  # fmt: skip
    n_events = sum(len(life.events) for life in lives)
    record(conn, "demo", "demo.history", "incidents", None, incidents=len(lives), events=n_events)
    return {"history_incidents": len(lives), "history_events": n_events,
            "named_workers": len(named)}  # fmt: skip
