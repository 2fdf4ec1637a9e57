"""Bulk writes of areas and household points (used by import, demo and benchmarks).

Households go through :mod:`gridgeo.bulk_load` (vectorised COPY text in chunks, and for big
loads the GiST index and foreign keys rebuilt after the rows, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gridgeo.bulk_load import CHUNK_ROWS, HouseholdChunk, copy_household_chunk, households_bulk
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
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Write household points with COPY in chunks, bulk mode when it pays (see module doc).

    Args:
        conn: a connection in a transaction (the caller commits: all rows or none).
        points: array of shapely Points in EPSG:4326.
        counts: households at each point.
        addresses: optional address per point.
        external_ids: optional external id per point.
        chunk_rows: rows encoded and sent per COPY statement.

    Returns:
        Rows written.
    """
    pts = np.asarray(points, dtype=object)
    n = len(pts)
    cnt = np.asarray(list(counts) if not isinstance(counts, np.ndarray) else counts)
    addr = None if addresses is None else np.asarray(list(addresses), dtype=object)
    ext = None if external_ids is None else np.asarray(list(external_ids), dtype=object)

    def chunks() -> Iterator[HouseholdChunk]:
        for i in range(0, n, chunk_rows):
            sl = slice(i, i + chunk_rows)
            xy = shapely.get_coordinates(pts[sl])
            yield HouseholdChunk(
                xy[:, 0], xy[:, 1], cnt[sl],
                None if addr is None else addr[sl], None if ext is None else ext[sl],
            )  # fmt: skip

    with households_bulk(conn, n):
        return sum(copy_household_chunk(conn, c) for c in chunks())
