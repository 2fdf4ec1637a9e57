"""Boundary versions: changes (who, when, why), a grid's history, any level as it stood.

Every version of every grid is a row of ``grid_versions`` (the current one with ``valid_to``
NULL), kept by triggers on ``grids`` (migration 0006). A writer that changes boundaries first
calls :func:`record_change`; the triggers stamp the versions they open or close with that
change and its time, so a whole commit is one instant of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import Hierarchy

BBox = tuple[float, float, float, float]
CHINA = timezone(timedelta(hours=8), "CST")  # naive dates and times are China Standard Time


@dataclass(frozen=True)
class Period:
    """A time window: an instant when ``start == end``; None is an open end.

    A version is in the window when its validity ``[valid_from, valid_to)`` meets it.
    """

    start: datetime | None
    end: datetime | None

    @classmethod
    def instant(cls, at: datetime) -> Period:
        """The window of one instant."""
        return cls(at, at)

    @property
    def is_instant(self) -> bool:
        """Whether the window is a single instant."""
        return self.start is not None and self.start == self.end


def record_change(
    conn: Connection, actor: str, message: str, kind: str = "edit", **detail: Any
) -> int:
    """Open a change in the caller's transaction; later grid writes in it are stamped with it.

    Args:
        conn: connection in the transaction that makes the change.
        actor: who (account name, or ``cli:<os user>``).
        message: why; required, not blank.
        kind: a word: ``import``, ``plan``, ``revert``, ``edit``…
        **detail: JSON-able facts (file name, counts, the plan's id).

    Returns:
        The change id (also the transaction-local setting ``gridgeo.change_id``).

    Raises:
        InvalidInput: a blank message or a kind that is not a lowercase word.
    """
    if not message or not message.strip():
        raise InvalidInput("a change needs a message saying why it is made", field="message")
    if not kind or not all(c.islower() or c == "_" for c in kind):
        raise InvalidInput(f"change kind '{kind}' must be a lowercase word", field="kind")
    change_id = conn.execute(
        text(
            "INSERT INTO changes (actor, message, kind, detail) "
            "VALUES (:actor, :message, :kind, CAST(:detail AS jsonb)) RETURNING id"
        ),
        {
            "actor": actor,
            "message": message.strip(),
            "kind": kind,
            "detail": json.dumps(detail, ensure_ascii=False, default=str),
        },
    ).scalar_one()
    conn.execute(text("SELECT set_config('gridgeo.change_id', :id, true)"), {"id": str(change_id)})
    return int(change_id)


def end_change(conn: Connection) -> None:
    """Stop stamping later writes of this transaction with the open change."""
    conn.execute(text("SELECT set_config('gridgeo.change_id', '', true)"))


def get_change(conn: Connection, change_id: int) -> dict[str, Any]:
    """One change: id, at, actor, message, kind, detail.

    Raises:
        NotFound: no change has that id.
    """
    row = (
        conn.execute(
            text("SELECT id, at, actor, message, kind, detail FROM changes WHERE id = :id"),
            {"id": change_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no change has the id {change_id}", field="change_id")
    return dict(row)


HISTORY = """
SELECT json_build_object(
    'type', 'Feature',
    'id', v.code || '@' || v.version,
    'geometry', ST_AsGeoJSON(v.geom, 9)::json,
    'properties', json_build_object(
        'code', v.code, 'name', v.name, 'level', l.key, 'parent_code', v.parent_code,
        'workers', v.workers, 'version', v.version,
        'valid_from', v.valid_from, 'valid_to', v.valid_to,
        'changed_by', v.changed_by, 'change_id', v.change_id,
        'message', c.message, 'kind', c.kind,
        'closed_by', v.closed_by, 'closed_change_id', v.closed_change_id,
        'closed_message', cc.message))
FROM grid_versions v JOIN levels l ON l.id = v.level_id
LEFT JOIN changes c ON c.id = v.change_id
LEFT JOIN changes cc ON cc.id = v.closed_change_id
WHERE v.grid_id IN (SELECT grid_id FROM grid_versions WHERE code = :code)
ORDER BY v.valid_from, v.version, v.id
"""


def grid_history(conn: Connection, code: str) -> dict[str, Any]:
    """Every version of the grid that has (or had) ``code``, oldest first, as GeoJSON.

    Versions follow the grid across a change of code. Each carries its validity, who made
    it and why (the change's message), and who closed it.

    Raises:
        NotFound: no grid ever had the code.
    """
    features = conn.execute(text(HISTORY), {"code": code}).scalars().all()
    if not features:
        raise NotFound(f"no grid has or had the code '{code}'", field="code")
    return {"type": "FeatureCollection", "features": list(features)}


def _where(
    hierarchy: Hierarchy,
    level: str,
    when: Period | None,
    bbox: BBox | None,
    areas: tuple[str, ...] | None,
    code: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over ``grid_versions v``) and its bound values."""
    params: dict[str, Any] = {"level_id": hierarchy.get(level).id}
    where = ["v.level_id = :level_id"]
    if when is None:
        where.append("v.valid_to IS NULL")
    else:
        if when.end is not None:
            params["t_end"] = when.end
            where.append("v.valid_from <= :t_end")
        if when.start is not None:
            params["t_start"] = when.start
            where.append("(v.valid_to IS NULL OR v.valid_to > :t_start)")
    if bbox is not None:
        params.update(dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
        where.append(
            "v.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
            " AND ST_Intersects(v.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"
        )
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        where.append("v.code LIKE ANY(CAST(:areas AS text[]))")
    if code is not None:
        params["code"] = code
        where.append("v.code = :code")
    return " AND ".join(where), params


def _feature_sql(clause: str, instant: bool) -> str:
    ident = "v.code" if instant else "v.code || '@' || v.version"
    return f"""
    SELECT json_build_object(
        'type', 'Feature',
        'id', {ident},
        'geometry', ST_AsGeoJSON(v.geom, 9)::json,
        'properties', json_build_object(
            'code', v.code, 'name', v.name, 'level', l.key, 'parent_code', v.parent_code,
            'workers', v.workers, 'version', v.version,
            'valid_from', v.valid_from, 'valid_to', v.valid_to))
    FROM grid_versions v JOIN levels l ON l.id = v.level_id
    WHERE {clause}
    ORDER BY v.code, v.version
    LIMIT :limit OFFSET :offset
    """  # noqa: S608 - fixed fragments; values are bound


def grids_at(
    conn: Connection,
    hierarchy: Hierarchy,
    level: str,
    at: datetime | Period | None = None,
    *,
    bbox: BBox | None = None,
    limit: int | None = None,
    offset: int = 0,
    areas: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The grids of one level as they stood, as a GeoJSON FeatureCollection.

    Args:
        conn: database connection.
        hierarchy: the level chain (validates ``level``).
        level: level key.
        at: an instant (the versions valid then), a :class:`Period` (every version valid at
            some time in it; feature ids are then ``code@version``), or None for the current
            grids.
        bbox: only grids meeting ``(minlon, minlat, maxlon, maxlat)``.
        limit: at most this many features (None: all), ordered by code and version.
        offset: skip this many first.
        areas: only grids at or below these codes (None: no restriction).

    Returns:
        ``{"type": "FeatureCollection", "features": [...], "numberMatched": n}``; properties
        are code, name, level, parent_code, workers, version, valid_from, valid_to.

    Raises:
        InvalidInput: unknown level, or a negative limit or offset.
    """
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidInput("limit and offset must not be negative", field="limit")
    when = Period.instant(at) if isinstance(at, datetime) else at
    clause, params = _where(hierarchy, level, when, bbox, areas)
    instant = when is None or when.is_instant
    matched = conn.execute(
        text(f"SELECT count(*) FROM grid_versions v WHERE {clause}"),  # noqa: S608
        params,
    ).scalar_one()
    params |= {"limit": limit, "offset": offset}
    features = conn.execute(text(_feature_sql(clause, instant)), params).scalars().all()
    return {"type": "FeatureCollection", "features": list(features), "numberMatched": matched}


def grid_at(
    conn: Connection,
    hierarchy: Hierarchy,
    level: str,
    code: str,
    at: datetime | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """One grid of ``level`` as a GeoJSON Feature: current, as it stood at ``at``, or a version.

    Raises:
        NotFound: no such grid (at that time, or with that version).
    """
    if version is not None:
        clause, params = _where(hierarchy, level, Period(None, None), None, None, code)
        clause += " AND v.version = :version"
        params["version"] = version
    else:
        when = None if at is None else Period.instant(at)
        clause, params = _where(hierarchy, level, when, None, None, code)
    params |= {"limit": 1, "offset": 0}
    found = conn.execute(text(_feature_sql(clause, version is None)), params).scalar()
    if found is None:
        raise NotFound(f"no {level} has the code '{code}'", field="code")
    return dict(found)


def level_extent(
    conn: Connection, hierarchy: Hierarchy, level: str, areas: tuple[str, ...] | None = None
) -> tuple[BBox | None, datetime | None]:
    """The bounding box of the current grids of a level and the start of its history."""
    clause, params = _where(hierarchy, level, Period(None, None), None, areas)
    sql = f"""
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), first FROM (
        SELECT ST_Extent(v.geom) FILTER (WHERE v.valid_to IS NULL) AS e,
               min(v.valid_from) AS first
        FROM grid_versions v WHERE {clause}) s
    """  # noqa: S608 - fixed fragments; values are bound
    row = conn.execute(text(sql), params).one()
    box = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    return box, row[4]


def version_rows(
    conn: Connection,
    hierarchy: Hierarchy,
    level: str,
    at: datetime | None = None,
    *,
    areas: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """The grids of a level (current, or as they stood at ``at``) with exact WKB boundaries.

    Returns:
        Dicts of code, name, level, parent_code, workers, version, valid_from, valid_to and
        ``wkb`` (EPSG:4326), ordered by code.
    """
    when = None if at is None else Period.instant(at)
    clause, params = _where(hierarchy, level, when, None, areas)
    sql = f"""
    SELECT v.code, v.name, l.key AS level, v.parent_code, v.workers, v.version,
           v.valid_from, v.valid_to, ST_AsBinary(v.geom) AS wkb
    FROM grid_versions v JOIN levels l ON l.id = v.level_id
    WHERE {clause} ORDER BY v.code, v.version
    """  # noqa: S608 - fixed fragments; values are bound
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def parse_instant(value: str, field: str = "at") -> datetime:
    """Parse an RFC 3339 date-time or a date; without an offset it is China time (UTC+8).

    Raises:
        InvalidInput: not a date or date-time.
    """
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field}: '{value}' is not a date (2026-01-01) or date-time (2026-01-01T08:00:00Z)",
            field=field,
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CHINA)


def parse_until(value: str, field: str = "to") -> datetime:
    """An upper bound, inclusive: a bare date means the end of that day (China time)."""
    at = parse_instant(value, field)
    if len(value.strip()) == 10:  # 2026-11-30: the whole day
        at += timedelta(days=1, microseconds=-1)
    return at


def parse_period(value: str, field: str = "datetime") -> Period:
    """Parse an OGC API ``datetime``: an instant, or ``start/end`` with ``..`` or empty open.

    Raises:
        InvalidInput: malformed, or an interval that ends before it starts.
    """
    if "/" not in value:
        return Period.instant(parse_instant(value, field))
    first, _, second = value.partition("/")
    start = None if first.strip() in ("", "..") else parse_instant(first, field)
    end = None if second.strip() in ("", "..") else parse_instant(second, field)
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"{field}: the interval '{value}' ends before it starts", field=field)
    return Period(start, end)
