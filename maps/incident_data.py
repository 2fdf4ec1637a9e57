"""Incidents for the maps: filtered, located, compact; the overdue ones flagged.

Read-only SQL of the map pages (the incident workflow itself lives in ``gridgeo.incidents.report`` and
``gridgeo.incidents.flow``). Dates of the filter are calendar days in China Standard Time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.incidents.policy import OPEN_STATES, OVERDUE, STATES

CST = timezone(timedelta(hours=8), "CST")
MAX_POINTS = 20_000
STATE_CHOICES = ("open", *STATES)


POINTS = """
SELECT i.id, round(ST_X(i.location)::numeric, 6)::float8 AS lon,
       round(ST_Y(i.location)::numeric, 6)::float8 AS lat, i.state, i.category, g.code AS grid,
       i.reported_at, i.major, {overdue} AS overdue
FROM incidents i JOIN grids g ON g.id = i.grid_id
WHERE {where}
ORDER BY i.reported_at DESC, i.id DESC
LIMIT :limit
"""


@dataclass(frozen=True)
class IncidentFilter:
    """What the incident map shows.

    Attributes:
        state: a state of ``gridgeo.incidents.flow.STATES``, ``open`` (not yet resolved) or
            None for all.
        category: a category key, or None for all.
        area: an area code: incidents in it or anywhere below it.
        start: first day reported (China Standard Time), inclusive.
        end: last day reported, inclusive.
        overdue: only incidents open past a time limit.
    """

    state: str | None = None
    category: str | None = None
    area: str | None = None
    start: date | None = None
    end: date | None = None
    overdue: bool = False

    def query(self) -> dict[str, str]:
        """The filter as query parameters of ``/maps/incidents`` (unset ones left out)."""
        out = {
            "state": self.state,
            "category": self.category,
            "grid": self.area,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "overdue": "true" if self.overdue else None,
        }
        return {k: v for k, v in out.items() if v}


def categories(conn: Connection) -> list[dict[str, str]]:
    """The incident categories: ``{key, zh, en}`` in key order."""
    rows = conn.execute(
        text("SELECT key, label_zh, label_en FROM incident_categories ORDER BY key")
    )
    return [{"key": r[0], "zh": r[1], "en": r[2]} for r in rows]


def check_filter(conn: Connection, f: IncidentFilter) -> None:
    """Refuse a filter naming an unknown state, category or area, or a backward date range.

    Raises:
        InvalidInput: unknown state or category; ``from`` after ``to``.
        NotFound: no current area has the code.
    """
    if f.state is not None and f.state not in STATE_CHOICES:
        raise InvalidInput(
            f"unknown state '{f.state}'; states: {', '.join(STATE_CHOICES)}", field="state"
        )
    if f.category is not None:
        keys = [c["key"] for c in categories(conn)]
        if f.category not in keys:
            raise InvalidInput(
                f"unknown category '{f.category}'; categories: {', '.join(keys)}",
                field="category",
            )
    if f.start and f.end and f.start > f.end:
        raise InvalidInput(f"from ({f.start}) is after to ({f.end})", field="from")
    if f.area is not None:
        found = conn.execute(
            text("SELECT 1 FROM current_grids WHERE code = :c"), {"c": f.area}
        ).scalar()
        if found is None:
            raise NotFound(f"no area has the code '{f.area}'", field="grid")


def _where(
    f: IncidentFilter, areas: tuple[str, ...] | None, now: datetime
) -> tuple[str, dict[str, Any]]:
    where = ["true"]
    params: dict[str, Any] = {"open": list(OPEN_STATES), "now": now}
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        where.append("g.code LIKE ANY(CAST(:areas AS text[]))")
    if f.state == "open":
        where.append("i.state = ANY(CAST(:open AS text[]))")
    elif f.state is not None:
        where.append("i.state = :state")
        params["state"] = f.state
    if f.category is not None:
        where.append("i.category = :category")
        params["category"] = f.category
    if f.area is not None:
        where.append("starts_with(g.code, :area)")
        params["area"] = f.area
    if f.start is not None:
        where.append("i.reported_at >= :start")
        params["start"] = datetime.combine(f.start, time(), CST)
    if f.end is not None:
        where.append("i.reported_at < :end")
        params["end"] = datetime.combine(f.end + timedelta(days=1), time(), CST)
    if f.overdue:
        where.append(OVERDUE)
    return " AND ".join(where), params


def incident_points(
    conn: Connection,
    f: IncidentFilter,
    *,
    areas: tuple[str, ...] | None,
    now: datetime,
    limit: int = MAX_POINTS,
) -> dict[str, Any]:
    """The incidents matching ``f`` within ``areas`` (None: all), newest first.

    Returns:
        ``{"incidents": [{id, lon, lat, state, category, grid, reported_at, major,
        overdue}], "count": n, "truncated": bool, "overdue": n overdue among them}``.
    """
    where, params = _where(f, areas, now)
    params["limit"] = limit + 1
    sql = POINTS.format(where=where, overdue=OVERDUE)
    rows = [dict(r) for r in conn.execute(text(sql), params).mappings()]
    truncated = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        r["reported_at"] = r["reported_at"].astimezone(CST).isoformat(timespec="minutes")
    return {
        "incidents": rows,
        "count": len(rows),
        "truncated": truncated,
        "overdue": sum(1 for r in rows if r["overdue"]),
    }


def area_bounds(conn: Connection, code: str) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the current area ``code`` (None if unknown)."""
    row = conn.execute(
        text(
            "SELECT ST_YMin(geom), ST_XMin(geom), ST_YMax(geom), ST_XMax(geom) FROM current_grids"
            " WHERE code = :c"
        ),
        {"c": code},
    ).first()
    if row is None:
        return None
    return [[float(row[0]), float(row[1])], [float(row[2]), float(row[3])]]


def area_outline(conn: Connection, code: str) -> dict[str, Any] | None:
    """The current area ``code`` as a GeoJSON Feature (simplified to ~1 m) with its name."""
    row = conn.execute(
        text(
            "SELECT json_build_object('type', 'Feature', 'geometry',"
            " ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001), 6)::json,"
            " 'properties', json_build_object('code', code, 'name', name))"
            " FROM current_grids WHERE code = :c"
        ),
        {"c": code},
    ).scalar()
    return dict(row) if row is not None else None
