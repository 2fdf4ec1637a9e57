"""A balancing proposal becomes a plan (a draft): previewed, then committed via /plans.

A building the proposal splits by unit (单元) stays geometrically whole: it lies in the grid that
holds most of its households (its footprint and its units' stairwell points, with a few metres
around them, are moved into that grid), and its other units go to their grids by ``move_units``
edits — the explicit, versioned unit assignments of the rule (gridgeo_place, migration 0018), as
a planner would record "3号楼3–4单元 belongs to grid 6".
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from boundaries.plans.drafts import Draft, load_draft
from boundaries.plans.edits import apply_edit
from boundaries.plans.preview import preview
from boundaries.plans.proposals import plan_from_proposal
from boundaries.plans.records import plan_summary
from gridgeo.levels import Hierarchy


def proposal_to_plan(
    conn: Connection,
    hierarchy: Hierarchy,
    proposal: dict[str, Any],
    *,
    actor: str,
    snap_m: float,
    title: str | None = None,
) -> dict[str, Any]:
    """Open a plan holding the proposed grids; returns the plan's record and its preview.

    ``snap_m`` is the plans' snapping distance (``boundaries.plan_snap_m``), also the
    tolerance of the preview's topology checks.

    Nothing changes in the stored grids until the plan is committed (``POST /plans/{id}/commit``).
    """
    s = proposal["summary"]
    # Each part keeps the code of the current grid the balancer matched it to (by the households
    # they share), so the plan's preview counts as moved exactly the households the proposal
    # counted: one definition of a moved household (old grid ≠ new grid), not a second matching.
    grids = [
        {
            "geometry": shape(f["geometry"]),
            "workers": int(f["properties"]["workers"]),
            "code": f["properties"].get("current_grid"),
        }
        for f in proposal["features"]
    ]
    index = [f["properties"].get("index", k) for k, f in enumerate(proposal["features"])]
    moves = _keep_buildings_whole(conn, grids, index, s.get("split_buildings") or [])
    detail = {
        k: s[k] for k in ("k", "max_abs_deviation", "moved_households", "line_share") if k in s
    }
    plan = plan_from_proposal(
        conn,
        hierarchy,
        s["area"],
        title or f"balance {s['area']} into {len(grids)} grids",
        actor,
        grids,
        source="balance",
        detail=detail,
    )
    if moves:
        draft = load_draft(conn, hierarchy, int(plan["id"]), snap_m=snap_m)
        for building, units, k in moves:
            edit = {"op": "move_units", "building": building, "units": units,
                    "grid": _code_of(draft, grids[k]["geometry"])}  # fmt: skip
            apply_edit(conn, hierarchy, int(plan["id"]), edit, actor, snap_m=snap_m)
    draft = load_draft(conn, hierarchy, int(plan["id"]), snap_m=snap_m)
    out = preview(conn, draft, standard=s["standard"], tolerance_m=snap_m)
    return {"plan": plan_summary(plan), "preview": out}


AROUND_M = 4.0  # metres kept around a split building's footprint and stairwells


def _keep_buildings_whole(
    conn: Connection,
    grids: list[dict[str, Any]],
    index: list[int],
    split: list[dict[str, Any]],
) -> list[tuple[str, list[str], int]]:
    """Put each split building in its main grid; the unit moves that keep the split.

    Args:
        conn: connection (reads the buildings and their units' points).
        grids: the proposed grids (their ``geometry`` is changed in place).
        index: the balancer's part index of each proposed grid.
        split: ``summary.split_buildings`` of the proposal.

    Returns:
        (building code, unit numbers, proposed grid position) for each part of a split building
        outside its main grid.
    """
    where = {part: k for k, part in enumerate(index)}
    moves: list[tuple[str, list[str], int]] = []
    for entry in split:
        parts = [p for p in entry["parts"] if p["grid"] in where]
        if len(parts) < 2:
            continue
        home = where[max(parts, key=lambda p: p["households"])["grid"]]
        wkb = conn.execute(
            text(
                "SELECT ST_AsBinary(ST_Buffer(CAST(ST_Union(b.geom, coalesce("
                "(SELECT ST_Collect(h.location) FROM households h WHERE h.building_id = b.id), "
                "b.geom)) AS geography), :m)::geometry) FROM buildings b WHERE b.code = :code"
            ),
            {"code": entry["code"], "m": AROUND_M},
        ).scalar()
        if wkb is None:
            continue
        around: BaseGeometry = shapely.from_wkb(bytes(wkb))
        for k, g in enumerate(grids):
            if k != home and g["geometry"].intersects(around):
                piece = g["geometry"].intersection(around)
                g["geometry"] = _polygonal(g["geometry"].difference(around))
                grids[home]["geometry"] = _polygonal(grids[home]["geometry"].union(piece))
        for p in parts:
            k = where[p["grid"]]
            if k != home:
                moves.append((entry["code"], list(p["units"]), k))
    if moves:
        _one_piece_each(grids)
    return moves


def _one_piece_each(grids: list[dict[str, Any]]) -> None:
    """Give each stray piece a cut left to the grid it shares most border with.

    Taking a building's surroundings out of a grid can leave a sliver of it cut off; a grid must
    be one piece, so every piece but a grid's largest joins its longest-bordering neighbour.
    """
    for k, g in enumerate(grids):
        geom = g["geometry"]
        if geom.geom_type != "MultiPolygon":
            continue
        pieces = sorted(geom.geoms, key=lambda q: q.area, reverse=True)
        g["geometry"] = pieces[0]
        for piece in pieces[1:]:
            border = [
                (piece.boundary.intersection(o["geometry"].boundary).length, j)
                for j, o in enumerate(grids)
                if j != k
            ]
            length, j = max(border, default=(0.0, k))
            target = j if length > 0 else k
            grids[target]["geometry"] = _polygonal(grids[target]["geometry"].union(piece))


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of a geometry (an intersection may add lines or points), made valid."""
    geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys)


def _code_of(draft: Draft, geom: BaseGeometry) -> str:
    """The code the plan gave a proposed grid: the draft grid it overlaps most."""
    leaves = [g for g in draft.grids.values() if not draft.children(g.code)]
    return max(leaves, key=lambda g: g.geom.intersection(geom).area).code
