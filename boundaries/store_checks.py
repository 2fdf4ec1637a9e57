"""Queries that compare a file's features with the stored areas, run in PostGIS.

The file's geometries travel as one array of WKB (``unnest``), so each check is one
set-based statement on the GiST indexes of ``grids`` and ``grid_parts``, whatever the number
of features. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from sqlalchemy import Connection, text

FEATURES = """
f AS (
    SELECT u.i, u.code, ST_GeomFromWKB(u.w, 4326) AS g
    FROM unnest(CAST(:idx AS int[]), CAST(:codes AS text[]), CAST(:wkb AS bytea[]))
         AS u(i, code, w)
)
"""

CONTAINMENT_SQL = text(
    f"""
    WITH {FEATURES},
    hits AS (
        -- the parent's subdivided parts do not overlap, so the areas per part add up
        SELECT f.i, p.code,
               sum(CASE WHEN ST_CoveredBy(f.g, p.geom) THEN ST_Area(f.g)
                        ELSE ST_Area(ST_Intersection(f.g, p.geom)) END) AS a
        FROM f JOIN grid_parts p ON p.depth = :depth AND ST_Intersects(p.geom, f.g)
        GROUP BY f.i, p.code
    )
    SELECT DISTINCT ON (i) i, code FROM hits WHERE a > 0 ORDER BY i, a DESC, code
    """  # noqa: S608 - a fixed fragment; values are bound
)

SIBLING_OVERLAP_SQL = text(
    f"""
    WITH {FEATURES}
    SELECT f.i, g.code, ST_AsBinary(ST_Intersection(f.g, g.geom))
    FROM f JOIN current_grids g
      ON g.level_id = :level_id AND ST_Intersects(g.geom, f.g)
    WHERE g.code <> f.code AND ST_Relate(f.g, g.geom, 'T********')
    ORDER BY f.i, g.code
    """  # noqa: S608 - a fixed fragment; values are bound
)

STORED_CODES_SQL = text(
    """
    SELECT g.code, l.key FROM current_grids g JOIN levels l ON l.id = g.level_id
    WHERE g.code = ANY(CAST(:codes AS text[]))
    """
)

AREAS_SQL = text(
    """
    SELECT code, ST_AsBinary(geom) FROM current_grids
    WHERE level_id = :level_id AND code = ANY(CAST(:codes AS text[]))
    """
)

CHILDREN_SQL = text(
    """
    SELECT p.code, ST_AsBinary(c.geom)
    FROM current_grids c JOIN current_grids p ON p.id = c.parent_id
    WHERE p.code = ANY(CAST(:parents AS text[])) AND c.code <> ALL(CAST(:codes AS text[]))
    """
)

EXTERNAL_IDS_SQL = text(
    "SELECT external_id FROM households WHERE external_id = ANY(CAST(:ids AS text[]))"
)


def _features(index: np.ndarray, codes: np.ndarray, geoms: np.ndarray) -> dict[str, object]:
    return {
        "idx": [int(i) for i in index],
        "codes": [str(c) for c in codes],
        "wkb": list(shapely.to_wkb(np.asarray(geoms, dtype=object))),
    }


def stored_codes(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """Current stored areas among ``codes``: code → level key."""
    rows = conn.execute(STORED_CODES_SQL, {"codes": list(codes)}).all()
    return {str(code): str(level) for code, level in rows}


def stored_areas(
    conn: Connection, level_id: int, codes: Sequence[str]
) -> dict[str, shapely.Geometry]:
    """Current stored areas of one level among ``codes``: code → geometry."""
    rows = conn.execute(AREAS_SQL, {"level_id": level_id, "codes": list(codes)}).all()
    return {str(code): shapely.from_wkb(bytes(wkb)) for code, wkb in rows}


def parents_by_containment(
    conn: Connection, depth: int, index: np.ndarray, geoms: np.ndarray
) -> dict[int, str]:
    """For each feature, the stored area at ``depth`` that it overlaps most: index → code."""
    if not len(index):
        return {}
    params = _features(index, np.full(len(index), ""), geoms) | {"depth": depth}
    return {int(i): str(code) for i, code in conn.execute(CONTAINMENT_SQL, params).all()}


def sibling_overlaps(
    conn: Connection, level_id: int, index: np.ndarray, codes: np.ndarray, geoms: np.ndarray
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Overlaps of features with stored areas of their level (other codes than their own).

    Returns:
        The feature index of each overlap, the stored code it overlaps and the intersection.
    """
    if not len(index):
        return np.zeros(0, dtype=int), [], np.zeros(0, dtype=object)
    params = _features(index, codes, geoms) | {"level_id": level_id}
    rows = conn.execute(SIBLING_OVERLAP_SQL, params).all()
    idx = np.array([int(r[0]) for r in rows], dtype=int)
    inter = shapely.from_wkb(np.array([bytes(r[2]) for r in rows], dtype=object))
    return idx, [str(r[1]) for r in rows], np.asarray(inter, dtype=object)


def stored_children(
    conn: Connection, parents: Sequence[str], exclude: Sequence[str]
) -> dict[str, list[shapely.Geometry]]:
    """Current stored children of ``parents`` whose codes are not in ``exclude``."""
    out: dict[str, list[shapely.Geometry]] = {}
    rows = conn.execute(CHILDREN_SQL, {"parents": list(parents), "codes": list(exclude)}).all()
    for code, wkb in rows:
        out.setdefault(str(code), []).append(shapely.from_wkb(bytes(wkb)))
    return out


def stored_external_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """The stored household external ids among ``ids``."""
    return {str(r[0]) for r in conn.execute(EXTERNAL_IDS_SQL, {"ids": list(ids)}).all()}
