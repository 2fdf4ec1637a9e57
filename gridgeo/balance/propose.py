"""Propose a partition of an area's units into k contiguous, compact, balanced grids.

The steps (:func:`balance`):

1. ``k`` larger than the number of units is infeasible: every unit becomes a grid.
2. A unit with more households than the band allows above the equal share (``households /
   k``) becomes a grid of its own; its deviation is reported as unavoidable.
3. The remaining units fall into connected pieces (islands, or pieces cut off by the big
   units). Each piece gets at least one grid (a piece that cannot have one joins a
   neighbouring big unit, or, with no neighbour, raises ``k``); the other grids go one at a
   time to the piece whose households per grid are highest.
4. Each piece is split (:mod:`gridgeo.balance.partition`): candidates from recursive tree
   bisection with several seeds, and one from the current grids; each refined by boundary
   moves. Among the candidates that are good (worst deviation within the band, or as good as
   the best candidate found), the one moving the fewest households wins.
5. Parts are matched to current grids (maximum-weight matching on shared households), and
   households whose building lands in a part matched to another grid count as moved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry.base import BaseGeometry

from gridgeo.balance.partition import (
    from_current,
    gerrychain_split,
    max_deviation,
    refine,
    tree_split,
)
from gridgeo.balance.units import Units, polsby_popper, union_parts
from gridgeo.balance.words import Said, both, say
from gridgeo.errors import InvalidInput


@dataclass(frozen=True)
class Part:
    """One proposed grid."""

    index: int
    units: list[int]
    households: int
    deviation: float
    polsby_popper: float
    current: str | None
    own_building: bool
    geometry: BaseGeometry


@dataclass
class Proposal:
    """A proposed partition and its figures.

    Deviations are relative to ``share``: the households not in a big building's own grid,
    divided equally among the other grids (with no big building: households / k).
    """

    k: int
    k_effective: int
    share: float
    band: float
    parts: list[Part]
    assignment: list[int]
    moved_households: int
    feasible: bool
    reasons: list[Said] = field(default_factory=list)
    warnings: list[Said] = field(default_factory=list)

    @property
    def max_abs_deviation(self) -> float:
        """Worst |households / share - 1|."""
        return max((abs(p.deviation) for p in self.parts), default=0.0)

    @property
    def mean_abs_deviation(self) -> float:
        """Mean |households / share - 1|."""
        return float(np.mean([abs(p.deviation) for p in self.parts])) if self.parts else 0.0

    @property
    def mean_polsby_popper(self) -> float:
        """Mean compactness of the parts."""
        return float(np.mean([p.polsby_popper for p in self.parts])) if self.parts else 0.0

    @property
    def within_band(self) -> bool:
        """Every part within the band, or out of it only by an unavoidable big building."""
        return all(abs(p.deviation) <= self.band + 1e-9 or p.own_building for p in self.parts)

    def every_grid_within(self, lo: float, hi: float) -> bool:
        """Every grid (a big building's own grid too) holds lo..hi households, and k grids."""
        return self.k_effective == self.k and all(lo <= p.households <= hi for p in self.parts)

    def summary(self, lang: str = "en") -> dict[str, Any]:
        """The figures as a JSON-able mapping; sentences in ``lang``, both in ``messages``."""
        return {
            "k": self.k,
            "k_effective": self.k_effective,
            "share": round(self.share, 2),
            "band": self.band,
            "max_abs_deviation": round(self.max_abs_deviation, 4),
            "max_abs_deviation_balanced": round(
                max((abs(p.deviation) for p in self.parts if not p.own_building), default=0.0), 4
            ),
            "own_building_grids": sum(p.own_building for p in self.parts),
            "mean_abs_deviation": round(self.mean_abs_deviation, 4),
            "mean_polsby_popper": round(self.mean_polsby_popper, 4),
            "moved_households": self.moved_households,
            "within_band": self.within_band,
            "feasible": self.feasible,
            "reasons": [say(r, lang) for r in self.reasons],
            "warnings": [say(w, lang) for w in self.warnings],
            "messages": [both(r) | {"kind": "reason"} for r in self.reasons]
            + [both(w) | {"kind": "warning"} for w in self.warnings],
        }


EXTRA_SEEDS = 16  # more tree-bisection seeds tried while no candidate is within the band


def _moved(units: Units, groups: list[list[int]]) -> tuple[int, list[str | None]]:
    """Households that change grid, and the current grid matched to each group."""
    overlap = nx.Graph()
    for i, g in enumerate(groups):
        counts: dict[str, int] = {}
        for u in g:
            for label, n in units.current[u].items():
                counts[label] = counts.get(label, 0) + n
        for label, n in counts.items():
            overlap.add_edge(("p", i), ("c", label), weight=n)
    matched: list[str | None] = [None] * len(groups)
    kept = 0
    for a, b in nx.max_weight_matching(overlap):
        p, c = (a, b) if a[0] == "p" else (b, a)
        matched[p[1]] = c[1]
        kept += overlap[a][b]["weight"]
    total = sum(sum(c.values()) for c in units.current)
    return total - kept, matched


def _split_piece(
    units: Units,
    nodes: list[int],
    parts: int,
    goal: float,
    band: float,
    candidates: int,
    thorough: bool = True,
) -> list[list[int]]:
    pop = units.households
    labels = [next(iter(sorted(c, key=lambda x: -c[x])), None) for c in units.current]
    starts = [
        tree_split(units.graph, nodes, pop, units.xy, parts, seed=s) for s in range(candidates)
    ]
    if any(labels[u] for u in nodes):
        starts.append(from_current(units.graph, nodes, labels, pop, units.xy, parts))
    refined = [refine(units.graph, st, pop, goal, band) if parts > 1 else st for st in starts]
    if len(starts) > candidates:  # the current grids as they are, when already good enough
        refined.append(starts[-1])
    scored = []
    for i, groups in enumerate(refined):
        if len(groups) != parts:
            continue
        dev = max_deviation(groups, pop, goal)
        moved = _moved(units, groups)[0]
        scored.append((dev, moved, i, groups))
    if not scored:  # no candidate reached `parts` connected groups: the best split there is
        return max(refined, key=len)
    best_dev = min(s[0] for s in scored)
    seed = candidates
    extra = EXTRA_SEEDS if thorough else 0
    while best_dev > band and seed < candidates + extra and parts > 1:  # lumpy units
        groups = refine(
            units.graph,
            tree_split(units.graph, nodes, pop, units.xy, parts, seed=seed),
            pop,
            goal,
            band,
        )
        if len(groups) == parts:
            dev = max_deviation(groups, pop, goal)
            scored.append((dev, _moved(units, groups)[0], seed + 1, groups))
            best_dev = min(best_dev, dev)
        seed += 1
    if best_dev > band and parts > 1 and thorough:  # GerryChain's random trees: 2nd opinion
        found = gerrychain_split(units.graph, nodes, pop, parts, band)
        if found is not None and len(found) == parts:
            groups = refine(units.graph, found, pop, goal, band)
            dev = max_deviation(groups, pop, goal)
            scored.append((dev, _moved(units, groups)[0], len(scored) + 100, groups))
            best_dev = min(best_dev, dev)
    good = [s for s in scored if s[0] <= max(band, best_dev + 0.01)]
    return min(good, key=lambda s: (s[1], s[0], s[2]))[3]


def balance(
    units: Units, k: int, band: float = 0.10, *, candidates: int = 3, thorough: bool = True
) -> Proposal:
    """Partition ``units`` into ``k`` contiguous grids balanced on households.

    Args:
        units: the units (:func:`gridgeo.balance.units.build_units`).
        k: the number of grids wanted (> 0).
        band: tolerance as a fraction of the equal share (0.1 = ±10 %).
        candidates: tree-bisection seeds tried per piece (besides the current grids).
        thorough: while no candidate is within the band, try more seeds and GerryChain
            (False: a quick pass, for a caller that has a finer fallback).

    Raises:
        InvalidInput: k ≤ 0, a band outside (0, 1), or no households.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInput("k (the number of grids) must be a whole number > 0", field="k")
    if not 0 < band < 1:
        raise InvalidInput("the band must be a fraction between 0 and 1", field="band")
    pop = units.households
    total = int(pop.sum())
    if len(units) == 0 or total <= 0:
        raise InvalidInput("the area has no households to balance", field="area")
    reasons: list[Said] = []
    warnings: list[Said] = []
    n = len(units)
    k_eff = k
    if k > n:
        reasons.append(Said("k_more_than_atoms", k=k, n=n))
        k_eff = n
    share = total / k_eff
    big = [u for u in range(n) if pop[u] > share * (1 + band)] if k_eff < n else list(range(n))
    groups: list[list[int]] = [[u] for u in big]
    rest = sorted(set(range(n)) - set(big))
    pieces = sorted(
        (sorted(c) for c in nx.connected_components(units.graph.subgraph(rest))),
        key=lambda c: (-int(pop[c].sum()), c[0]),
    )
    alloc = [0] * len(pieces)
    left = k_eff - len(big)
    big_set = set(big)
    for i, piece in enumerate(pieces):
        near = sorted({w for u in piece for w in units.graph[u] if w in big_set})
        too_small = float(pop[piece].sum()) < share * (1 - band)  # never a grid in the band
        if left > 0 and not (too_small and near and i > 0):
            alloc[i], left = 1, left - 1
            continue
        if near:
            target = min(near, key=lambda b: (int(pop[b]), b))
            next(g for g in groups if target in g).extend(piece)
            warnings.append(Said("cut_off_join_big", n=len(piece)))
        else:
            alloc[i] = 1
            k_eff += 1
            reasons.append(Said("islands_raise_k"))
    while left > 0:
        open_ = [i for i, p in enumerate(pieces) if 0 < alloc[i] < len(p)]
        if not open_:
            reasons.append(Said("k_lowered", left=left))
            k_eff -= left
            break
        i = max(open_, key=lambda i: (float(pop[pieces[i]].sum()) / alloc[i], -i))
        alloc[i] += 1
        left -= 1
    rest_parts = k_eff - len(big)
    goal = (total - int(pop[big].sum())) / rest_parts if rest_parts > 0 and rest else total / k_eff
    for piece, parts in zip(pieces, alloc, strict=True):
        if parts:
            groups.extend(_split_piece(units, piece, parts, goal, band, candidates, thorough))
    if big and k_eff < n:
        warnings.append(Said("big_atoms_own_grid", n=len(big), hi=share * (1 + band)))
    return make_proposal(units, groups, set(big), k, k_eff, goal, band, reasons, warnings)


def make_proposal(
    units: Units,
    groups: list[list[int]],
    big: set[int],
    k: int,
    k_eff: int,
    share: float,
    band: float,
    reasons: list[Said],
    warnings: list[Said],
) -> Proposal:
    """The proposal of a partition: parts, deviations from ``share``, moved households."""
    groups = sorted((sorted(g) for g in groups if g), key=lambda g: g[0])
    if len(groups) != k_eff:
        reasons.append(Said("only_connected", got=len(groups), k=k_eff))
        k_eff = len(groups)
    assignment = [0] * len(units)
    for i, g in enumerate(groups):
        for u in g:
            assignment[u] = i
    moved, matched = _moved(units, groups)
    shapes = union_parts(units.cells, assignment, len(groups))
    parts = []
    for i, g in enumerate(groups):
        hh = int(units.households[g].sum())
        parts.append(
            Part(
                index=i,
                units=g,
                households=hh,
                deviation=hh / share - 1 if share else 0.0,
                polsby_popper=polsby_popper(shapes[i]),
                current=matched[i],
                own_building=g[0] in big,
                geometry=shapes[i],
            )
        )
    dev = max((abs(p.deviation) for p in parts if not p.own_building), default=0.0)
    if dev > band + 1e-9:  # a heuristic's best, not a proof: the exact method says more
        reasons.append(Said("tree_out_of_band", dev=dev, band=band))
    feasible = k_eff == k and dev <= band + 1e-9 and not math.isnan(share)
    return Proposal(k, k_eff, share, band, parts, assignment, moved, feasible, reasons, warnings)
