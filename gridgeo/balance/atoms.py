"""The atoms of one area, coarse to fine, for :func:`gridgeo.balance.ladder.settle`.

With stored lines, the coarse atoms are blocks between them (以街路巷河为界), split into the
cells of their points only where a block holds more households than a grid may (``hi``), then
where it holds more than half a share; then every block into its points' cells. Without
lines, the cells around the points. On every level the household rows of one building are
merged back into the building (:func:`gridgeo.balance.stairwells.regroup`) — the building is
whole — except on the two unit levels: first buildings larger than the band's width
(``2 × band × share`` households, the lumps that keep grids out of the band) are atoms by unit,
then every building with units. Pieces that touch the rest only at a corner are joined there
(:func:`bridge_corners`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.balance.exact import band_limits
from gridgeo.balance.lines import block_of_points, block_units, cut_blocks
from gridgeo.balance.stairwells import Housing, regroup
from gridgeo.balance.units import Units

BRIDGE_M = 1.0  # pieces closer than this to the rest (a shared corner) are joined there


@dataclass(frozen=True)
class Levels:
    """Builders of the atoms, coarse to fine, the proof level, and the blocks."""

    levels: list[Callable[[], Units]]
    proof: Callable[[], Units] | None
    blocks: int
    by_unit_above: float


def housing_from_rows(rows: Sequence[Any]) -> Housing | None:
    """Buildings and units of household rows (``bid``, ``bname``, ``bcode``, ``uid``, ``unum``).

    None when no row belongs to a building.
    """
    b_index: dict[int, int] = {}
    u_index: dict[int, int] = {}
    names: list[str] = []
    codes: list[str] = []
    numbers: list[str] = []
    unit_building: list[int] = []
    building = np.full(len(rows), -1, dtype=np.int64)
    unit = np.full(len(rows), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        bid = getattr(r, "bid", None)
        if bid is None:
            continue
        if bid not in b_index:
            b_index[bid] = len(names)
            names.append(str(r.bname or r.bcode))
            codes.append(str(r.bcode))
        b = b_index[bid]
        building[i] = b
        uid = getattr(r, "uid", None)
        if uid is not None:
            if uid not in u_index:
                u_index[uid] = len(numbers)
                numbers.append(str(r.unum))
                unit_building.append(b)
            unit[i] = u_index[uid]
    if not names:
        return None
    return Housing(building, unit, names, codes, numbers, np.asarray(unit_building, dtype=np.int64))


def area_levels(
    xy: np.ndarray,
    households: np.ndarray,
    labels: Sequence[str | None],
    outline: BaseGeometry,
    lines: Sequence[BaseGeometry],
    k: int,
    band: float,
    housing: Housing | None,
) -> Levels:
    """The levels of atoms for an area (metres), lazily built."""
    blocks = cut_blocks(outline, lines) if lines else [outline]
    pts = shapely.points(xy) if len(xy) else np.zeros(0, dtype=object)
    block_of = block_of_points(pts, blocks) if len(xy) else np.zeros(0, dtype=int)
    total = int(households.sum())
    share = total / k
    _, hi = band_limits(total, k, band)
    cache: dict[float, Units] = {}

    def fine(split_above: float) -> Units:
        if split_above not in cache:
            cache[split_above] = block_units(
                xy, households, list(labels), blocks, block_of, split_above, outline
            )
        return cache[split_above]

    def level(split_above: float, by_unit: float | None) -> Callable[[], Units]:
        def build() -> Units:
            atoms = fine(split_above)
            atoms = atoms if housing is None else regroup(atoms, housing, by_unit)
            bridge_corners(atoms)
            return atoms

        return build

    width = 2 * band * share
    splits = [float(hi), share / 2, 0.0] if lines else [0.0]
    levels = [level(s, None) for s in splits]
    if housing is not None:
        levels += [level(0.0, width), level(0.0, 0.0)]
    return Levels(levels, None, len(blocks), width)


def bridge_corners(units: Units, within_m: float = BRIDGE_M) -> int:
    """Join pieces of the graph that touch the rest only at a corner (a street crossing).

    Cells are adjacent when they share a length of boundary; a block that meets the rest of
    its community only at a point would be an island no grid could reach, though a worker
    walks across that crossing. Each such piece gets an edge to the nearest cell of another
    piece within ``within_m`` metres (weight 1). Returns the edges added.
    """
    added = 0
    while True:
        pieces = sorted(nx.connected_components(units.graph), key=len)
        if len(pieces) < 2:
            return added
        piece = pieces[0]
        inside = np.array(sorted(piece))
        outside = np.array(sorted(set(range(len(units))) - piece))
        tree = shapely.STRtree(np.asarray([units.cells[i] for i in outside], dtype=object))
        cells = np.asarray([units.cells[i] for i in inside], dtype=object)
        got = tree.query_nearest(cells, max_distance=within_m, return_distance=True)
        (a, b), dist = got
        if len(dist) == 0:
            return added  # a real island: reported as such
        j = int(np.argmin(dist))
        units.graph.add_edge(int(inside[a[j]]), int(outside[b[j]]), w=1.0)
        added += 1
