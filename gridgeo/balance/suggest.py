"""Suggestions without redrawing: where workers should move, which grids to merge or split.

:func:`suggest` is pure; :func:`suggestions` reads the grids' workload and which grids share
a boundary. Rules, applied in this order on the figures as they stand after each step:

1. ``move_worker``: a worker moves from a grid with spare staff (one fewer still keeps it
   within the band, or it is under-loaded) to a neighbouring over-loaded grid, when that
   lowers the sum of squared deviations of the two; the most over-loaded grid first.
2. ``merge``: two neighbouring under-loaded grids whose households together need fewer
   workers than they have; the freed workers go to over-loaded grids of the same parent.
3. ``split``: an over-loaded grid that still lacks a whole grid's worth of staff: split off
   about ``households - workers × standard`` households as a new grid, and staff it.
4. ``add_workers``: whatever over-load is left needs workers from outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.levels import Hierarchy
from gridgeo.workload import workload_report

NEIGHBOURS = text(
    """
    SELECT a.code, b.code
    FROM current_grids a JOIN current_grids b
      ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
     AND ST_Relate(a.geom, b.geom, '****1****')
    JOIN levels l ON l.id = a.level_id AND l.id = b.level_id
    WHERE a.code LIKE :c || '%' AND b.code LIKE :c || '%'
      AND l.depth = (SELECT max(depth) FROM levels)
    """
)


@dataclass
class GridLoad:
    """A grid's households, workers and standard (mutated as suggestions are applied)."""

    code: str
    parent: str | None
    households: int
    workers: int
    standard: int
    band: float
    before: dict[str, Any] = field(default_factory=dict)

    def dev(self, workers: int | None = None) -> float:
        """Deviation of the load from the standard with ``workers`` (default: current)."""
        w = self.workers if workers is None else workers
        if w <= 0:
            return math.inf if self.households > 0 else 0.0
        return self.households / w / self.standard - 1

    @property
    def over(self) -> bool:
        """Load above the band."""
        return self.dev() > self.band + 1e-9

    @property
    def under(self) -> bool:
        """Load below the band (with workers)."""
        return self.workers > 0 and self.dev() < -self.band - 1e-9

    def figures(self) -> dict[str, Any]:
        """Load and deviation, rounded."""
        load = self.households / self.workers if self.workers else None
        return {
            "households": self.households,
            "workers": self.workers,
            "load": None if load is None else round(load, 1),
            "deviation": None if load is None else round(self.dev(), 4),
        }


def _sq(g: GridLoad, w: int) -> float:
    d = g.dev(w)
    return 1e6 if math.isinf(d) else d * d


def suggest(grids: list[GridLoad], neighbours: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The suggestions for these grids (see the module docstring); ``grids`` is updated."""
    by = {g.code: g for g in grids}
    adj: dict[str, set[str]] = {g.code: set() for g in grids}
    for a, b in neighbours:
        if a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    out: list[dict[str, Any]] = []
    moved = True
    while moved:  # 1. worker moves between neighbours
        moved = False
        for g in sorted((g for g in grids if g.over), key=lambda g: -g.dev()):
            donors = [
                by[n]
                for n in adj[g.code]
                if by[n].workers > 1 or (by[n].workers == 1 and by[n].households == 0)
            ]
            best = None
            for d in donors:
                if not (d.under or d.dev(d.workers - 1) <= d.band):
                    continue
                gain = _sq(g, g.workers) + _sq(d, d.workers) - _sq(g, g.workers + 1)
                gain -= _sq(d, d.workers - 1)
                if gain > 1e-9 and (best is None or gain > best[0]):
                    best = (gain, d)
            if best is not None:
                d = best[1]
                d.workers -= 1
                g.workers += 1
                out.append(
                    {"action": "move_worker", "from": d.code, "to": g.code, "workers": 1}
                    | {"from_after": d.figures(), "to_after": g.figures()}
                )
                moved = True
                break
    for g in sorted(grids, key=lambda g: g.dev()):  # 2. merges of under-loaded neighbours
        if g.workers == 0 or not g.under:
            continue
        for n in sorted(adj[g.code], key=lambda n: by[n].dev()):
            h = by[n]
            if h.workers == 0 or not h.under or h.parent != g.parent:
                continue
            need = max(1, math.ceil((g.households + h.households) / g.standard))
            if need >= g.workers + h.workers:
                continue
            freed = g.workers + h.workers - need
            out.append(
                {"action": "merge", "grids": [g.code, h.code], "workers": need}
                | {"households": g.households + h.households, "frees_workers": freed}
            )
            g.households += h.households
            g.workers, h.workers, h.households = need, 0, 0
            for _ in range(freed):
                over = [x for x in grids if x.over and x.parent == g.parent]
                if not over:
                    break
                x = max(over, key=lambda x: x.dev())
                x.workers += 1
                out.append(
                    {"action": "move_worker", "from": g.code, "to": x.code, "workers": 1}
                    | {"from_after": g.figures(), "to_after": x.figures()}
                )
            break
    for g in sorted(grids, key=lambda g: -g.dev()):  # 3. splits, 4. workers to add
        if not g.over:
            continue
        excess = g.households - g.workers * g.standard
        need = math.ceil(g.households / g.standard) - g.workers
        if g.workers > 0 and excess >= g.standard * (1 - g.band):
            out.append(
                {"action": "split", "grid": g.code, "split_off_households": int(excess)}
                | {"new_grid_workers": max(1, round(excess / g.standard))}
            )
        else:
            out.append({"action": "add_workers", "grid": g.code, "workers": need} | g.figures())
    return out


def suggestions(
    conn: Connection,
    hierarchy: Hierarchy,
    area: str,
    *,
    areas: tuple[str, ...] | None = None,
    default_standard: int,
) -> dict[str, Any]:
    """Suggestions for the leaf grids at or below ``area``, with the figures before.

    Raises:
        NotFound: unknown area.
    """
    rows = workload_report(
        conn,
        hierarchy,
        level=hierarchy.levels[-1].key,
        parent=area,
        areas=areas,
        default_standard=default_standard,
    )
    grids = [
        GridLoad(r.code, r.parent_code, r.households, r.workers, r.standard, r.band) for r in rows
    ]
    before = {g.code: g.figures() for g in grids}
    pairs = {(str(a), str(b)) for a, b in conn.execute(NEIGHBOURS, {"c": area})}
    found = suggest(grids, pairs)
    counts: dict[str, int] = {}
    for s in found:
        counts[s["action"]] = counts.get(s["action"], 0) + 1
    return {
        "area": area,
        "grids": len(grids),
        "over_before": sum(1 for r in rows if r.status == "over"),
        "under_before": sum(1 for r in rows if r.status == "under"),
        "over_after": sum(1 for g in grids if g.over),
        "counts": counts,
        "suggestions": found,
        "before": before,
    }
