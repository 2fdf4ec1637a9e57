"""The topology of a plan's draft: the problems it would make, each with a shape to draw.

Topology is checked only where the plan acts (the parents whose children it changes, and the
grids it changes that have children), and a problem counts against the plan only when the plan
made it: an overlap involving a grid it touched, a gap it opened, a part it pushed outside a
parent. Pre-existing gaps elsewhere in the area are not the plan's to fix. (Split from
:mod:`boundaries.plans.preview`, which adds the impact on households and staff.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from boundaries.plans import geometry as pg
from boundaries.plans.drafts import Draft, DraftGrid
from boundaries.report import ERROR, Problem
from boundaries.topology import Metric, outside_parent_problems, overlap_problems

MIN_AREA_M2 = 1.0  # overlaps and gaps smaller than this are float noise of the overlay


@dataclass(frozen=True)
class Located:
    """A problem and the shape a map can draw for it."""

    problem: Problem
    shape: BaseGeometry | None = None

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON, with ``geometry`` (GeoJSON) when it has a shape."""
        out = self.problem.to_dict()
        out.pop("index", None)
        out["geometry"] = pg.to_geojson(self.shape) if self.shape is not None else None
        return out


def _metric(draft: Draft) -> Metric:
    c = draft.area.geom.centroid  # rounded: one cached projection per area (±0.5 km centre)
    return Metric(round(float(c.x), 2), round(float(c.y), 2))


def stored_geom(g: DraftGrid) -> BaseGeometry | None:
    """The grid's stored shape before the plan (None for a grid the plan adds)."""
    return shapely.from_wkb(g.stored[4]) if g.stored is not None else None


def topology(draft: Draft, tolerance_m: float) -> list[Located]:
    """The located topology problems the plan's draft would make.

    Kinds: ``invalid_geometry``, ``multipart``, ``empty_geometry`` (errors) for touched grids;
    ``overlap`` (error; ``sliver_overlap`` thinner than the tolerance: warning) between a
    touched grid and a sibling; ``gap`` (error) a parent left uncovered where it was covered;
    ``outside_parent`` (error) a child beyond its parent by more than the tolerance.
    """
    metric = _metric(draft)
    found: list[Located] = []
    touched = [g for g in draft.grids.values() if g.state in ("changed", "created")]
    for g in touched:
        found += _shape_problems(g)
    parents: set[str] = set()
    for g in draft.touched():
        if g.parent_code:
            parents.add(g.parent_code)
        if g.stored is not None and g.stored[2]:
            parents.add(g.stored[2])
    for g in touched:
        if draft.children(g.code):
            parents.add(g.code)
    touched_codes = {g.code for g in touched}
    for parent_code in sorted(parents):
        parent = draft.area if parent_code == draft.area.code else draft.grids.get(parent_code)
        if parent is None:
            continue  # a retired parent: its children were moved or are reported as retired
        kids = draft.children(parent_code)
        found += _overlaps(kids, touched_codes, metric, tolerance_m)
        found += _outside(parent, kids, touched_codes, metric, tolerance_m)
        found += _gaps(draft, parent, kids, metric, tolerance_m)
    return found


def _shape_problems(g: DraftGrid) -> list[Located]:
    geom = g.geom
    if geom is None or geom.is_empty or pg.area_m2(geom) < pg.MIN_AREA_M2:
        return [Located(Problem(None, g.code, "empty_geometry", "the grid has no area left"))]
    out = []
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        out.append(
            Located(
                Problem(
                    None,
                    g.code,
                    "invalid_geometry",
                    f"the boundary is invalid: {reason}",
                    location=_point(geom),
                ),
                geom,
            )
        )
    parts = [p for p in shapely.get_parts(geom) if pg.area_m2(p) >= MIN_AREA_M2]
    if len(parts) > 1:
        small = min(parts, key=lambda p: p.area)
        out.append(
            Located(
                Problem(
                    None,
                    g.code,
                    "multipart",
                    f"the grid is in {len(parts)} separate pieces (the smallest "
                    f"{pg.area_m2(small):.0f} m²); a grid must be one piece",
                    location=_point(small),
                    area_m2=round(pg.area_m2(small), 1),
                ),
                small,
            )
        )
    return out


def _point(geom: BaseGeometry) -> tuple[float, float] | None:
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point()
    return (round(p.x, 7), round(p.y, 7))


def _overlaps(
    kids: list[DraftGrid], touched: set[str], metric: Metric, tolerance_m: float
) -> list[Located]:
    geoms = np.array([k.geom for k in kids], dtype=object)
    if len(geoms) < 2:
        return []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = (left < right) & np.array(
        [
            kids[i].code in touched or kids[j].code in touched
            for i, j in zip(left, right, strict=True)
        ],
        dtype=bool,
    )
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    inter = shapely.intersection(geoms[left], geoms[right])
    codes = np.array([k.code for k in kids], dtype=object)
    labels = [f"grid {codes[i]}" for i in left]
    problems = overlap_problems(
        right, codes[right], labels, inter, metric, tolerance_m=tolerance_m, min_area_m2=MIN_AREA_M2
    )
    shapes = {int(right[k]): inter[k] for k in range(len(right))}
    return [Located(p, shapes.get(p.index or 0)) for p in problems]


def _outside(
    parent: DraftGrid, kids: list[DraftGrid], touched: set[str], metric: Metric, tolerance_m: float
) -> list[Located]:
    check = (
        kids
        if parent.code in touched or parent.state != "unchanged"
        else [k for k in kids if k.code in touched]
    )
    if not check:
        return []
    geoms = np.array([k.geom for k in check], dtype=object)
    codes = np.array([k.code for k in check], dtype=object)
    parents = np.array([parent.geom] * len(check), dtype=object)
    problems = outside_parent_problems(
        np.arange(len(check)),
        geoms,
        codes,
        parents,
        np.array([parent.code] * len(check), dtype=object),
        metric,
        tolerance_m=tolerance_m,
        min_area_m2=MIN_AREA_M2,
    )
    return [
        Located(p, pg.polygonal(check[p.index or 0].geom.difference(parent.geom))) for p in problems
    ]


def _uncovered(
    parent: BaseGeometry,
    kids: list[BaseGeometry],
    region: tuple[BaseGeometry, BaseGeometry],
    metric: Metric,
    tol: float,
) -> Any:
    """The part of ``parent`` inside ``region`` that no kid covers (metres, inset by ``tol``).

    ``region`` is given twice: in lon/lat (to pick the kids near it) and in metres.
    """
    inner = metric.forward(np.array([parent], dtype=object))[0].buffer(-tol)
    inner = inner.intersection(region[1])
    near = [k for k in kids if k is not None and k.intersects(region[0])]
    if not near or inner.is_empty:
        return inner
    covered = shapely.union_all(metric.forward(np.array(near, dtype=object)))
    return inner.difference(covered)


def _gaps(
    draft: Draft, parent: DraftGrid, kids: list[DraftGrid], metric: Metric, tolerance_m: float
) -> list[Located]:
    """Parts of the parent the draft leaves uncovered that the stored grids covered.

    Only the region the plan changes (old and new shapes of the grids it touches) is looked
    at: a gap the plan opens can be nowhere else.
    """
    touched = [g for g in draft.touched() if g.state != "unchanged"]
    shapes = [g.geom for g in touched if g.state != "retired"]
    shapes += [s for g in touched if (s := stored_geom(g)) is not None]
    if not shapes:
        return []
    region_ll = shapely.union_all(shapes)
    region_m = metric.forward(np.array([region_ll], dtype=object))[0].buffer(tolerance_m)
    region = (region_ll.buffer(pg.degrees(tolerance_m)), region_m)
    now = _uncovered(parent.geom, [k.geom for k in kids], region, metric, tolerance_m)
    stored_parent = stored_geom(parent) if parent.state != "unchanged" else parent.geom
    before_kids = [
        stored_geom(g)
        for g in [*draft.grids.values(), *draft.retired]
        if g.stored is not None and g.stored[2] == parent.code
    ]
    before = _uncovered(
        stored_parent if stored_parent is not None else parent.geom,
        [b for b in before_kids if b is not None],
        region,
        metric,
        tolerance_m,
    )
    new_gap = now.difference(before.buffer(tolerance_m)) if not before.is_empty else now
    pieces = [p for p in shapely.get_parts(pg.polygonal(new_gap)) if p.area >= MIN_AREA_M2]
    pieces = [p for p in pieces if not p.buffer(-tolerance_m / 2).is_empty]  # slivers are noise
    out = []
    for piece in sorted(pieces, key=lambda p: -p.area):
        shape = metric.inverse(np.array([piece], dtype=object))[0]
        out.append(
            Located(
                Problem(
                    None,
                    parent.code,
                    "gap",
                    f"the plan leaves {piece.area:.1f} m² of {parent.code} covered by no grid",
                    ERROR,
                    _point(shape),
                    round(float(piece.area), 1),
                ),
                shape,
            )
        )
    return out
