"""A grid's buildings with their units, households and heads (API, CLI, grid and phone pages).

Which buildings: those with households placed in the grid (units assigned to it included) and
those whose point the grid holds. Each unit says which grid holds it, by the one rule
(``gridgeo_place``), so a building split between grids shows where each unit went. Viewers see
counts per building only: no units, no heads (names and phones are personal data).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridgeo.rules import current_grid_id

DETAIL_ROLES = ("admin", "planner", "patrol", "dispatcher")

GRID_BUILDINGS_SQL = text(
    """
WITH g AS (SELECT id, code, geom FROM current_grids WHERE id = :gid),
ids AS (
    SELECT DISTINCT h.building_id AS id FROM household_grid a
    JOIN households h ON h.id = a.household_id
    WHERE a.grid_id = :gid AND h.building_id IS NOT NULL
    UNION
    SELECT b.id FROM buildings b JOIN g ON b.geom && g.geom
    WHERE EXISTS (SELECT FROM gridgeo_leaf(ST_PointOnSurface(b.geom)) l WHERE l.grid_id = :gid)
),
units AS (
    SELECT u.building_id, u.id, u.number, u.floors, f.code AS grid,
           (SELECT coalesce(sum(h.household_count), 0) FROM households h WHERE h.unit_id = u.id)
               AS households,
           (SELECT coalesce(json_agg(json_build_object('name', x.name, 'phone', x.phone,
                    'full_time', x.full_time) ORDER BY x.id), '[]'::json)
            FROM building_heads x WHERE x.unit_id = u.id) AS heads
    FROM building_units u JOIN ids ON ids.id = u.building_id
    CROSS JOIN LATERAL (SELECT b.geom FROM buildings b WHERE b.id = u.building_id) bg
    LEFT JOIN LATERAL gridgeo_place(ST_PointOnSurface(bg.geom), u.id) f ON true
)
SELECT b.code, b.number, b.name, b.compound, b.kind, b.floors,
       ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat,
       grp.name AS group_name,
       (SELECT coalesce(sum(h.household_count), 0) FROM households h
        JOIN household_grid a ON a.household_id = h.id
        WHERE h.building_id = b.id AND a.grid_id = :gid) AS households,
       (SELECT coalesce(sum(h.household_count), 0) FROM households h WHERE h.building_id = b.id)
           AS households_total,
       (SELECT coalesce(json_agg(json_build_object('number', u.number, 'households', u.households,
                'floors', u.floors, 'grid', u.grid, 'heads', u.heads)
                ORDER BY length(u.number), u.number), '[]'::json)
        FROM units u WHERE u.building_id = b.id) AS units,
       (SELECT coalesce(json_agg(json_build_object('name', x.name, 'phone', x.phone,
                'full_time', x.full_time) ORDER BY x.id), '[]'::json)
        FROM building_heads x WHERE x.building_id = b.id) AS heads,
       (SELECT coalesce(json_agg(json_build_object('name', x.name, 'phone', x.phone,
                'full_time', x.full_time) ORDER BY x.id), '[]'::json)
        FROM building_heads x WHERE x.group_id = b.group_id) AS group_heads
FROM buildings b JOIN ids ON ids.id = b.id
LEFT JOIN building_groups grp ON grp.id = b.group_id
ORDER BY b.compound NULLS LAST, length(b.number), b.number, b.code
"""
)


def grid_buildings(conn: Connection, code: str, *, detail: bool) -> dict[str, Any]:
    """The buildings of a grid.

    Args:
        conn: database connection.
        code: the grid's code.
        detail: units, heads and their phones (planners, patrol staff, dispatchers, admins);
            otherwise counts per building only.

    Returns:
        ``grid``, ``households`` (placed in the grid, in buildings), ``buildings`` (each with
        code, number, name, compound, kind, floors, ``lon``/``lat``, ``households`` in this
        grid and ``households_total``, ``split`` when some units are in other grids; with
        detail: ``units`` (number, households, floors, grid), ``heads``, ``group`` and its heads).

    Raises:
        NotFound: no current grid has the code.
    """
    gid = current_grid_id(conn, code)
    out = []
    for r in conn.execute(GRID_BUILDINGS_SQL, {"gid": gid}).mappings():
        units = list(r["units"] or [])
        b: dict[str, Any] = {
            "code": r["code"], "number": r["number"], "name": r["name"],
            "compound": r["compound"], "kind": r["kind"], "floors": r["floors"],
            "lon": round(float(r["lon"]), 7), "lat": round(float(r["lat"]), 7),
            "households": int(r["households"]), "households_total": int(r["households_total"]),
            "units_count": len(units), "split": len({u["grid"] for u in units}) > 1,
        }  # fmt: skip
        if detail:
            b |= {
                "units": units,
                "heads": list(r["heads"] or []),
                "group": {"name": r["group_name"], "heads": list(r["group_heads"] or [])}
                if r["group_name"]
                else None,
            }
        out.append(b)
    return {"grid": code, "households": sum(b["households"] for b in out), "buildings": out}
