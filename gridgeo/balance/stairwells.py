"""Buildings and their units (单元) as balancing atoms: whole where possible, by unit when forced.

The finest atoms are the cells around the household rows' points (a unit's carrier row sits at
its stairwell, so each unit has a cell of its own). :func:`regroup` merges them back:

- a building whose households stay at or below ``split_above`` is **one atom** (the union of
  its units' cells): it is never split;
- a larger building keeps **one atom per unit**, never less than a unit. Its unit atoms are
  joined in a chain by number (unit 2 touches units 1 and 3 only), and only the first and the
  last unit touch the buildings and cells around it. So a grid's share of a split building is
  always a run of consecutive units ("3号楼1–2单元"), and it reaches the rest of its grid through
  the end of the building, as a grid worker would walk it; a run from the middle of a tower can
  only be a grid of its own. Chain edges weigh :data:`CHAIN_WEIGHT` times the heaviest edge, so
  the boundary refinement moves cuts out of buildings wherever the band allows.

Rows without a building (households at a point) are atoms as before. :func:`split_buildings`
lists the buildings a partition splits, and how.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely

from gridgeo.balance.units import Units
from gridgeo.balance.words import Said, both

CHAIN_WEIGHT = 20.0


@dataclass(frozen=True)
class Housing:
    """Which building and unit each household row belongs to.

    Attributes:
        building: per row, the building index (-1: none).
        unit: per row, the unit index (-1: none).
        building_names: per building, its name (``XX小区3号楼``).
        building_codes: per building, its code.
        unit_numbers: per unit, its number (``2``).
        unit_building: per unit, its building index.
    """

    building: np.ndarray
    unit: np.ndarray
    building_names: list[str]
    building_codes: list[str]
    unit_numbers: list[str]
    unit_building: np.ndarray

    def units_of(self, b: int) -> int:
        """How many units building ``b`` has."""
        return int((self.unit_building == b).sum())


def _number_key(number: str) -> tuple[int, str]:
    m = re.match(r"\d+", number)
    return (int(m.group()) if m else 10**9, number)


def regroup(fine: Units, housing: Housing, split_above: float | None) -> Units:
    """Atoms from ``fine`` (cells around points): buildings whole, or by unit above a size.

    Args:
        fine: atoms whose members are household rows (one cell per point or per block).
        housing: the rows' buildings and units.
        split_above: buildings with more households than this keep one atom per unit
            (None: every building whole; 0: every building with units by unit).
    """
    b_of = housing.building
    u_of = housing.unit
    bh = np.zeros(len(housing.building_names), dtype=np.int64)
    keys: list[tuple[str, int]] = []
    for a, mem in enumerate(fine.members):
        bs = {int(b_of[r]) for r in mem}
        b = bs.pop() if len(bs) == 1 else -1
        if b >= 0:
            bh[b] += int(fine.households[a])
        keys.append(("b", b) if b >= 0 else ("a", a))
    split = {b for b in range(len(bh)) if split_above is not None and bh[b] > split_above} & {
        int(x) for x in housing.unit_building
    }
    for a, mem in enumerate(fine.members):
        kind, b = keys[a]
        if kind == "b" and b in split:
            us = sorted({int(u_of[r]) for r in mem if u_of[r] >= 0})
            keys[a] = ("u", us[0]) if us else ("w", b)  # rows of no unit: one atom apiece
    order: dict[tuple[str, int], int] = {}
    for key in keys:
        order.setdefault(key, len(order))
    groups: list[list[int]] = [[] for _ in order]
    for a, key in enumerate(keys):
        groups[order[key]].append(a)
    return _merged(fine, housing, keys, order, groups)


def _merged(
    fine: Units,
    housing: Housing,
    keys: list[tuple[str, int]],
    order: dict[tuple[str, int], int],
    groups: list[list[int]],
) -> Units:
    new_of = [order[key] for key in keys]
    cells = [
        fine.cells[g[0]] if len(g) == 1 else shapely.union_all([fine.cells[a] for a in g])
        for g in groups
    ]
    hh = np.array([int(fine.households[g].sum()) for g in groups], dtype=np.int64)
    members = [[r for a in g for r in fine.members[a]] for g in groups]
    current: list[dict[str, int]] = []
    for g in groups:
        c: dict[str, int] = {}
        for a in g:
            for label, n in fine.current[a].items():
                c[label] = c.get(label, 0) + n
        current.append(c)
    xy = np.array([fine.xy[g].mean(axis=0) for g in groups]).reshape(-1, 2)
    block = None if fine.block is None else np.array([fine.block[g[0]] for g in groups])
    building = np.full(len(groups), -1, dtype=np.int64)
    unit_sets: list[list[int]] = [[] for _ in groups]
    names: list[str] = []
    for (kind, idx), i in order.items():
        if kind == "a":
            names.append(f"#{i + 1}")
            continue
        b = idx if kind in ("b", "w") else int(housing.unit_building[idx])
        building[i] = b
        if kind == "u":
            us = sorted({int(housing.unit[r]) for r in members[i] if housing.unit[r] >= 0})
            unit_sets[i] = us
            names.append(f"{housing.building_names[b]} {housing.unit_numbers[us[0]]}单元")
        else:
            names.append(housing.building_names[b])
    graph = nx.Graph()
    graph.add_nodes_from(range(len(groups)))
    heaviest = 1.0
    for a, b, data in fine.graph.edges(data=True):
        x, y = new_of[a], new_of[b]
        if x == y:
            continue
        w = float(data.get("w", 1.0))
        heaviest = max(heaviest, w)
        prev = graph.get_edge_data(x, y)
        graph.add_edge(x, y, w=w + (prev["w"] if prev else 0.0))
    _chain_units(graph, building, unit_sets, housing, CHAIN_WEIGHT * heaviest)
    return Units(cells, hh, members, current, graph, xy, block, names, building, unit_sets)


def _chain_units(
    graph: nx.Graph,
    building: np.ndarray,
    unit_sets: list[list[int]],
    housing: Housing,
    weight: float,
) -> None:
    """Units of a split building: a chain by number; only the two ends touch the outside."""
    by_building: dict[int, list[int]] = {}
    for i, us in enumerate(unit_sets):
        if us:
            by_building.setdefault(int(building[i]), []).append(i)
    for b, atoms in by_building.items():
        atoms.sort(key=lambda i: _number_key(housing.unit_numbers[unit_sets[i][0]]))
        inside = set(atoms)
        ends = {atoms[0], atoms[-1]}
        outward = {i: [w for w in graph[i] if w not in inside and building[w] != b] for i in atoms}
        if not any(outward[i] for i in ends):  # odd numbering: keep what geometry says
            ends = set(atoms)
        for i in atoms:
            for w in list(graph[i]):
                if w in inside or (i not in ends and w in outward[i]):
                    graph.remove_edge(i, w)
        for x, y in zip(atoms, atoms[1:], strict=False):
            graph.add_edge(x, y, w=weight)


def _runs(numbers: list[str]) -> list[tuple[str, str]]:
    """Consecutive runs of unit numbers: ``["1", "2", "4"]`` → ``[("1", "2"), ("4", "4")]``."""
    out: list[tuple[str, str]] = []
    for n in sorted(numbers, key=_number_key):
        k = _number_key(n)[0]
        if out and _number_key(out[-1][1])[0] == k - 1 and k < 10**9:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def unit_words(numbers: list[str]) -> tuple[str, str]:
    """``units 1–2, 4`` and ``1–2、4单元`` for a list of unit numbers."""
    runs = [a if a == b else f"{a}–{b}" for a, b in _runs(numbers)]
    return "unit " + ", ".join(runs) if len(numbers) == 1 else "units " + ", ".join(runs), (
        "、".join(runs) + "单元"
    )


def split_buildings(
    units: Units,
    assignment: Sequence[int],
    housing: Housing,
    grid_names: Sequence[str],
) -> list[dict[str, Any]]:
    """The buildings the partition splits between grids, and how.

    Args:
        units: the atoms (from :func:`regroup`).
        assignment: grid index per atom.
        housing: the buildings and units.
        grid_names: how to name each grid in the sentence (its index, or its current code).

    Returns:
        One entry per split building: ``building``, ``code``, ``parts`` (each ``grid``,
        ``units`` numbers, ``households``) and ``said`` (one sentence per part, zh/en).
    """
    if units.building is None or units.unit_sets is None:
        return []
    per: dict[int, dict[int, tuple[list[str], int]]] = {}
    for i, us in enumerate(units.unit_sets):
        if not us:
            continue
        b = int(units.building[i])
        nums, hh = per.setdefault(b, {}).get(assignment[i], ([], 0))
        per[b][assignment[i]] = (nums + [housing.unit_numbers[u] for u in us],
                                 hh + int(units.households[i]))  # fmt: skip
    out: list[dict[str, Any]] = []
    for b in sorted(per, key=lambda b: housing.building_names[b]):
        if len(per[b]) < 2:
            continue
        parts = []
        said = []
        for grid, (nums, hh) in sorted(
            per[b].items(), key=lambda t: _number_key(min(t[1][0], key=_number_key))
        ):
            en, zh = unit_words(nums)
            parts.append(
                {"grid": int(grid), "units": sorted(nums, key=_number_key), "households": hh}
            )
            said.append(
                both(
                    Said(
                        "split_building",
                        building=housing.building_names[b],
                        units=en,
                        units_zh=zh,
                        grid=grid_names[grid],
                    )
                )
            )
        out.append(
            {
                "building": housing.building_names[b],
                "code": housing.building_codes[b],
                "parts": parts,
                "said": said,
            }
        )
    return out
