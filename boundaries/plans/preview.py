"""The preview of a plan: topology problems of its draft and its impact on households and staff.

The topology checks live in :mod:`boundaries.plans.draft_topology` (only where the plan acts,
only problems the plan made).

The impact is computed in PostGIS: the households and open incidents inside the changed area
are located against the draft (the touched grids' new shapes, then the untouched stored grids
by the usual rule: deepest level first, then smallest code) and compared with where they are
assigned now.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, bindparam, text

from boundaries.plans import geometry as pg
from boundaries.plans.draft_topology import stored_geom, topology
from boundaries.plans.drafts import Draft, DraftGrid
from boundaries.plans.units import draft_place, draft_unit_params, involved_grid_ids, unit_moves
from boundaries.report import ERROR, WARNING
from gridgeo.workload import DEFAULT_BAND, classify

# --------------------------------------------------------------------------- impact

# the changed area, and the new shapes of the draft's touched leaf grids (no temporary table:
# creating and dropping one costs more than the query it serves)
AREA_CTE = """
WITH area AS (SELECT ST_GeomFromWKB(decode(:area, 'hex'), 4326) AS g),
_draft AS MATERIALIZED (
    SELECT d.code, d.depth, ST_GeomFromWKB(decode(d.wkb, 'hex'), 4326) AS geom
    FROM unnest(CAST(:d_codes AS text[]), CAST(:d_depths AS int[]), CAST(:d_wkbs AS text[]))
         AS d(code, depth, wkb)
)"""


def _draft_grid(point: str) -> str:
    """SQL of the grid a point would be in under the draft (``_draft``, then untouched parts).

    The rule of :mod:`gridgeo.rules` over the draft's shapes and the parts it leaves alone.
    """
    return f"""(SELECT c.code FROM (
                SELECT d.code, gridgeo_leaf_key(d.depth, d.code) AS k FROM _draft d
                WHERE ST_Covers(d.geom, {point})
                UNION ALL
                SELECT p.code, p.leaf_key FROM grid_parts p
                WHERE ST_Covers(p.geom, {point}) AND p.grid_id <> ALL(:touched)
            ) c ORDER BY c.k COLLATE "C" LIMIT 1)"""  # noqa: S608 - a column name


# households in the changed area, and those of units the plan moves or whose assigned grid it
# touches; each placed by the one rule over the draft (boundaries/plans/units.py)
IMPACT_SQL = f"""
{AREA_CTE},
concerned AS (
    SELECT h.id FROM households h CROSS JOIN area WHERE ST_Intersects(h.location, area.g)
    UNION
    SELECT h.id FROM households h
    WHERE h.unit_id IN (SELECT unit_id FROM plan_units WHERE plan_id = :plan_id
                        UNION ALL
                        SELECT unit_id FROM current_unit_grids WHERE grid_id = ANY(:touched))
    UNION
    SELECT household_id FROM household_grid WHERE grid_id = ANY(:involved)
),
located AS (
    SELECT h.id, h.household_count AS n, og.code AS old_code,
           {draft_place("h.unit_id", _draft_grid("h.location"))} AS new_code
    FROM concerned c JOIN households h ON h.id = c.id
    LEFT JOIN household_grid a ON a.household_id = h.id
    LEFT JOIN grids og ON og.id = a.grid_id
)
SELECT old_code, new_code, sum(n)::bigint AS households, count(*) AS points
FROM located GROUP BY old_code, new_code
"""  # noqa: S608 - fixed fragments; values are bound

INCIDENTS_SQL = f"""
{AREA_CTE}
SELECT i.id, og.code AS old_code,
       {draft_place("i.unit_id", _draft_grid("coalesce(ST_PointOnSurface(b.geom), i.location)"))}
       AS new_code
FROM incidents i CROSS JOIN area
LEFT JOIN grids og ON og.id = i.grid_id
LEFT JOIN buildings b ON b.id = i.building_id
WHERE (ST_Intersects(i.location, area.g)
       OR i.unit_id IN (SELECT unit_id FROM plan_units WHERE plan_id = :plan_id))
  AND i.state IN :open
"""  # noqa: S608 - fixed fragments; values are bound


def changed_area(draft: Draft) -> BaseGeometry | None:
    """Where the plan changes anything: old and new shapes of the touched grids, united.

    Only the parts that differ matter for reassignment, but the whole shapes are used so that
    every household of a touched grid is counted before and after.
    """
    shapes = []
    for g in draft.touched():
        if g.state != "retired":
            shapes.append(g.geom)
        old = stored_geom(g)
        if old is not None:
            shapes.append(old)
    if not shapes:
        return None
    return shapely.union_all(shapes)


def _draft_params(draft: Draft) -> dict[str, Any]:
    """Bound values of the draft's touched leaf grids and of the stored grids they replace."""
    leaves = [
        g
        for g in draft.grids.values()
        if g.state in ("changed", "created") and not draft.children(g.code)
    ]
    touched = [int(g.grid_id) for g in draft.touched() if g.grid_id is not None]
    return {
        "d_codes": [g.code for g in leaves],
        "d_depths": [g.level.depth for g in leaves],
        "d_wkbs": [shapely.to_wkb(pg.as_multi(g.geom), hex=True) for g in leaves],
        "touched": touched or [0],
    }


def _standard(conn: Connection, area_code: str, default: int) -> tuple[int, float]:
    row = conn.execute(
        text(
            "SELECT households_per_worker, band FROM workload_config "
            "WHERE :c LIKE area_code || '%' ORDER BY length(area_code) DESC LIMIT 1"
        ),
        {"c": area_code},
    ).first()
    return (int(row[0]), float(row[1])) if row else (default, DEFAULT_BAND)


def impact(conn: Connection, draft: Draft, *, standard: int) -> dict[str, Any]:
    """Households and open incidents that would change grid, and each affected grid's load.

    Returns:
        ``moves`` (per old → new grid: households and points, and ``from_point`` and
        ``to_point``, a point inside each grid where an arrow starts and ends), ``grids`` (per affected grid:
        households, workers, load and status before and after, against ``standard`` where no
        area sets its own), ``incidents`` (open ones that would change grid),
        ``households_moved``, ``points_moved``, ``unassigned_after``, ``standard`` and ``band``.
    """
    std, band = _standard(conn, draft.area.code, standard)
    out, counts = _moves(conn, draft)
    grids = _grid_rows(conn, draft, *counts, std, band) if counts is not None else []
    return out | {"grids": grids, "standard": std, "band": band}


def moves(conn: Connection, draft: Draft) -> dict[str, Any]:
    """The moves of :func:`impact` without the grids' loads (so no standard): what a commit records.

    Returns:
        ``moves``, ``incidents``, ``households_moved``, ``points_moved``, ``unassigned_after``.
    """
    return _moves(conn, draft)[0]


def _moves(
    conn: Connection, draft: Draft
) -> tuple[dict[str, Any], tuple[dict[str, int], dict[str, int]] | None]:
    """The moves, and the households of each grid before and after (None: no area changes)."""
    from gridgeo.incidents.policy import OPEN_STATES

    area = changed_area(draft)
    units = unit_moves(conn, draft.plan_id)
    out: dict[str, Any] = {
        "moves": [],
        "incidents": [],
        "households_moved": 0,
        "points_moved": 0,
        "unassigned_after": 0,
    }
    if area is None and not units:
        return out, None
    where = area if area is not None else shapely.Point()
    params = (
        {"area": shapely.to_wkb(where, hex=True)}
        | _draft_params(draft)
        | draft_unit_params(draft)
        | {"involved": involved_grid_ids(conn, draft) if units else [0]}
    )
    flows = conn.execute(text(IMPACT_SQL), params).all()
    incidents = conn.execute(
        text(INCIDENTS_SQL).bindparams(bindparam("open", expanding=True)),
        params | {"open": list(OPEN_STATES)},
    ).all()
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    moved = []
    for old, new, n, points in flows:
        if old:
            before[old] = before.get(old, 0) + int(n)
        if new:
            after[new] = after.get(new, 0) + int(n)
        if old != new:
            moved.append({"from": old, "to": new, "households": int(n), "points": int(points)})
    moved.sort(key=lambda m: (-m["households"], str(m["from"]), str(m["to"])))
    old_at, new_at = _interior_points(draft, moved)
    for m in moved:
        m["from_point"] = old_at.get(m["from"] or "")
        m["to_point"] = new_at.get(m["to"] or "")
    out["moves"] = moved
    out["incidents"] = [
        {"id": int(i), "from": old, "to": new} for i, old, new in incidents if old != new
    ]
    out["households_moved"] = sum(m["households"] for m in moved)
    out["points_moved"] = sum(m["points"] for m in moved)
    out["unassigned_after"] = sum(m["households"] for m in moved if m["to"] is None)
    return out, (before, after)


def _interior_points(
    draft: Draft, moves: list[dict[str, Any]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """A point inside each moving grid as stored and as the draft leaves it, ``[lon, lat]``.

    Where a move's arrow starts and ends: GEOS's point on surface (PostGIS's
    ``ST_PointOnSurface``) lies inside the grid whatever its shape, where the centre of its
    bounding box may lie in another grid (an L-shaped one).
    """

    def at(geom: BaseGeometry) -> list[float]:
        p = geom.representative_point()
        return [round(p.x, 7), round(p.y, 7)]

    froms = {m["from"] for m in moves if m["from"]}
    tos = {m["to"] for m in moves if m["to"]}
    stored = {g.stored[0]: g for g in draft.touched() if g.stored is not None}
    old: dict[str, list[float]] = {}
    for code in froms:
        if code in stored:
            geom = stored_geom(stored[code])
            if geom is not None:
                old[code] = at(geom)
        elif code in draft.grids:  # untouched: as stored
            old[code] = at(draft.grids[code].geom)
    new = {c: at(draft.grids[c].geom) for c in tos if c in draft.grids}
    return old, new


def _grid_rows(
    conn: Connection,
    draft: Draft,
    before: dict[str, int],
    after: dict[str, int],
    std: int,
    band: float,
) -> list[dict[str, Any]]:
    codes = set(before) | set(after) | {g.code for g in draft.touched()}
    by_code: dict[str, DraftGrid] = {g.code: g for g in draft.retired} | dict(draft.grids)
    stored_code = {g.stored[0]: g for g in by_code.values() if g.stored is not None}
    outside = [c for c in codes if c not in by_code and c not in stored_code]
    names: dict[str, tuple[str, int]] = {}
    if outside:
        rows = conn.execute(
            text(
                "SELECT g.code, g.name, coalesce(s.workers, g.workers) FROM current_grids g "
                "LEFT JOIN grid_staff s ON s.grid_id = g.id "
                "WHERE g.code = ANY(:c)"
            ),
            {"c": outside},
        ).all()
        names = {r[0]: (r[1], int(r[2])) for r in rows}
    out = []
    for code in sorted(codes):
        g = by_code.get(code)
        old_g = stored_code.get(code)
        state = g.state if g is not None else "unchanged"
        name = g.name if g is not None else names.get(code, (code, 0))[0]
        w_before = (
            old_g.stored[3] if old_g is not None and old_g.stored else names.get(code, ("", 0))[1]
        )
        w_after = 0 if state == "retired" else (g.workers if g is not None else w_before)
        hb, ha = before.get(code, 0), after.get(code, 0)
        if state == "created":
            w_before, hb = 0, 0
        if g is not None and draft.children(code):
            continue  # a parent: its households are its children's
        fb, fa = classify(hb, w_before, std, band), classify(ha, w_after, std, band)
        out.append(
            {
                "code": code,
                "name": name,
                "state": state,
                "households_before": hb if state != "created" else None,
                "households_after": ha if state != "retired" else None,
                "workers_before": w_before if state != "created" else None,
                "workers_after": w_after if state != "retired" else None,
                "load_before": None if fb.load is None or state == "created" else round(fb.load, 1),
                "load_after": None if fa.load is None or state == "retired" else round(fa.load, 1),
                "status_before": fb.status if state != "created" else None,
                "status_after": fa.status if state != "retired" else None,
                "workers_needed_after": fa.workers_needed if state != "retired" else None,
            }
        )
    return out


def preview(conn: Connection, draft: Draft, *, standard: int, tolerance_m: float) -> dict[str, Any]:
    """The plan's topology problems and impact.

    Returns:
        ``ok`` (no errors: the plan may be committed), ``errors``, ``warnings``, ``problems``
        (located, with a ``geometry`` to draw), ``impact`` (see :func:`impact`) and
        ``changed_area`` (GeoJSON).
    """
    problems = topology(draft, tolerance_m)
    errors = sum(1 for p in problems if p.problem.severity == ERROR)
    area = changed_area(draft)
    return {
        "plan_id": draft.plan_id,
        "ok": errors == 0 and (bool(draft.touched()) or bool(unit_moves(conn, draft.plan_id))),
        "errors": errors,
        "warnings": sum(1 for p in problems if p.problem.severity == WARNING),
        "problems": [p.to_dict() for p in problems],
        "impact": impact(conn, draft, standard=standard),
        "changed_area": pg.to_geojson(area),
    }
