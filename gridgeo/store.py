"""Bulk writes of areas and household points (used by import, demo and benchmarks)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy


@dataclass(frozen=True)
class AreaRecord:
    """One area to store.

    Attributes:
        code: hierarchical code.
        name: display name.
        level: level key.
        geometry: Polygon or MultiPolygon in EPSG:4326.
        parent_code: code of the parent area (None at the top level).
        workers: full-time workers staffed in the area.
    """

    code: str
    name: str
    level: str
    geometry: shapely.Geometry
    parent_code: str | None = None
    workers: int = 0


INSERT_AREA = text(
    """
    INSERT INTO grids (code, name, level_id, parent_id, geom, workers)
    VALUES (:code, :name, :level_id,
            (SELECT id FROM current_grids WHERE code = :parent_code),
            ST_Multi(ST_GeomFromWKB(:wkb, 4326)), :workers)
    """
)


def insert_areas(conn: Connection, hierarchy: Hierarchy, records: Sequence[AreaRecord]) -> int:
    """Insert areas, parents before children, in the caller's transaction.

    Raises:
        InvalidInput: when a record names an unknown level or a parent that does not exist.
    """
    ordered = sorted(records, key=lambda r: hierarchy.get(r.level).depth)
    rows = []
    for rec in ordered:
        spec = hierarchy.get(rec.level)
        rows.append(
            {
                "code": rec.code,
                "name": rec.name,
                "level_id": spec.id,
                "parent_code": rec.parent_code,
                "wkb": shapely.to_wkb(rec.geometry),
                "workers": int(rec.workers),
            }
        )
    for depth in sorted({hierarchy.get(r.level).depth for r in ordered}):
        batch = [
            row
            for row, rec in zip(rows, ordered, strict=True)
            if hierarchy.get(rec.level).depth == depth
        ]
        if batch:
            conn.execute(INSERT_AREA, batch)
    missing = (
        conn.execute(
            text(
                """
            SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id
            WHERE l.depth > 0 AND g.parent_id IS NULL
            ORDER BY g.code LIMIT 5
            """
            )
        )
        .scalars()
        .all()
    )
    if missing:
        raise InvalidInput(
            "areas without a parent in the store: " + ", ".join(missing), codes=list(missing)
        )
    return len(rows)


def copy_households(
    conn: Connection,
    points: np.ndarray,
    counts: Iterable[int],
    addresses: Iterable[str | None] | None = None,
    external_ids: Iterable[str | None] | None = None,
) -> int:
    """Stream household points into the store with COPY (fast for millions of rows).

    Args:
        conn: a connection in a transaction.
        points: array of shapely Points in EPSG:4326.
        counts: households at each point.
        addresses: optional address per point.
        external_ids: optional external id per point.

    Returns:
        Rows written.
    """
    pts = shapely.set_srid(np.asarray(points, dtype=object), 4326)
    hexes = shapely.to_wkb(pts, hex=True, include_srid=True)
    n = len(hexes)
    addr = list(addresses) if addresses is not None else [None] * n
    ext = list(external_ids) if external_ids is not None else [None] * n
    cnt = list(counts)
    buf = io.StringIO()
    for h, c, a, e in zip(hexes, cnt, addr, ext, strict=True):
        buf.write(f"{h}\t{int(c)}\t{_copy_text(a)}\t{_copy_text(e)}\n")
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(
            "COPY households (location, household_count, address, external_id) FROM STDIN"
        ) as copy:
            copy.write(buf.getvalue())
    return n


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
