"""Indivisible units for balancing: one Voronoi cell per building, clipped to the area.

Without a line layer (streets, alleys, rivers) the units are built around the buildings: the
Voronoi cells of the building points, clipped to the area's outline, so that every building
lies in exactly one unit and the units cover the area without gaps. Buildings at the same
point share a unit. Two units are adjacent when their cells share an edge (a common length,
not a single corner). All geometry is planar: pass projected coordinates (metres).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Units:
    """The units of an area.

    Attributes:
        cells: one (Multi)Polygon per unit, covering the area.
        households: households per unit.
        members: the building indices (into the caller's arrays) of each unit.
        current: per unit, households per current grid label (a building's grid).
        graph: adjacency of the units (nodes 0..n-1, edges where cells share an edge).
        xy: a representative point per unit (the building location), shape (n, 2).
        block: per unit, the block (between lines) it lies in; None without a line layer.
            Edges then carry a weight ``w``: the shared length, times a penalty off the lines.
        names: a name per atom for the answer (a building, a unit of one), or None.
        building: per atom, the building it is (or is units of), -1 for none or several;
            None without building data (:mod:`gridgeo.balance.stairwells`).
        unit_sets: per atom, the building units (单元) it holds when its building is split
            into units ([] otherwise); None without building data.
    """

    cells: list[BaseGeometry]
    households: np.ndarray
    members: list[list[int]]
    current: list[dict[str, int]]
    graph: nx.Graph
    xy: np.ndarray
    block: np.ndarray | None = None
    names: list[str] | None = None
    building: np.ndarray | None = None
    unit_sets: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self.cells)


def build_units(
    xy: np.ndarray,
    households: Sequence[int] | np.ndarray,
    area: BaseGeometry,
    current: Sequence[str | None] | None = None,
) -> Units:
    """Voronoi units around building points, clipped to ``area``.

    Args:
        xy: building coordinates, shape (n, 2), projected (metres).
        households: households per building.
        area: the outline to clip to (same coordinates).
        current: the current grid label of each building (None: unknown).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    hh = np.asarray(households, dtype=np.int64)
    labels = list(current) if current is not None else [None] * len(xy)
    keys, inverse = np.unique(np.round(xy, 6), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    n = len(keys)
    members: list[list[int]] = [[] for _ in range(n)]
    for b, u in enumerate(inverse.tolist()):
        members[u].append(b)
    unit_hh = np.bincount(inverse, weights=hh, minlength=n).astype(np.int64)
    cur: list[dict[str, int]] = [{} for _ in range(n)]
    for b, u in enumerate(inverse.tolist()):
        if labels[b] is not None:
            cur[u][str(labels[b])] = cur[u].get(str(labels[b]), 0) + int(hh[b])
    points = shapely.points(keys)
    cells = _cells(points, area)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(_adjacent_pairs(cells, area))
    return Units(cells, unit_hh, members, cur, graph, keys)


def _cells(points: np.ndarray, area: BaseGeometry) -> list[BaseGeometry]:
    """The Voronoi cell of each point (in the points' order), clipped to the area."""
    if len(points) == 1:
        return [area]
    raw = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=area))
    tree = shapely.STRtree(raw)
    pi, ci = tree.query(points, predicate="intersects")
    order = np.full(len(points), -1)
    order[pi[::-1]] = ci[::-1]  # the first cell found for each point
    out = []
    for i, c in enumerate(order.tolist()):
        cell = raw[c] if c >= 0 else shapely.buffer(points[i], 1.0)
        out.append(shapely.intersection(cell, area))
    return out


def _adjacent_pairs(cells: list[BaseGeometry], area: BaseGeometry) -> list[tuple[int, int]]:
    """Pairs of cells that share an edge (a length above a tiny tolerance)."""
    return [(a, b) for a, b, _ in shared_edges(cells, area)]


def shared_edges(cells: list[BaseGeometry], area: BaseGeometry) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, length)`` of cells (i < j) sharing a boundary longer than a tolerance."""
    arr = np.array(cells, dtype=object)
    if len(arr) < 2:
        return []
    tree = shapely.STRtree(arr)
    a, b = tree.query(arr, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return []
    length = shapely.length(shapely.intersection(arr[a], arr[b]))
    tol = 1e-7 * max(1.0, math.sqrt(max(area.area, 0.0)))
    ok = length > tol
    return list(zip(a[ok].tolist(), b[ok].tolist(), length[ok].tolist(), strict=True))


def polsby_popper(geom: BaseGeometry) -> float:
    """Compactness 4πA/P² of a shape: 1 for a disc, about 0.785 for a square, → 0 for a line."""
    perimeter = geom.length
    if perimeter <= 0:
        return 0.0
    return float(4 * math.pi * geom.area / perimeter**2)


def union_parts(cells: list[BaseGeometry], assignment: Sequence[int], k: int) -> list[BaseGeometry]:
    """The union of the cells of each part 0..k-1."""
    groups: list[list[BaseGeometry]] = [[] for _ in range(k)]
    for cell, part in zip(cells, assignment, strict=True):
        groups[part].append(cell)
    return [shapely.union_all(g) if g else shapely.Polygon() for g in groups]


def units_from_polygons(
    polygons: Sequence[BaseGeometry],
    households: Sequence[int] | np.ndarray,
    current: Sequence[str | None] | None = None,
) -> Units:
    """Units that are given polygons (blocks bounded by streets, rivers …), one per polygon."""
    cells = list(polygons)
    n = len(cells)
    hh = np.asarray(households, dtype=np.int64)
    labels = list(current) if current is not None else [None] * n
    cur = [{str(c): int(h)} if c is not None else {} for c, h in zip(labels, hh, strict=True)]
    area = shapely.union_all(cells) if cells else shapely.Polygon()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(_adjacent_pairs(cells, area))
    xy = shapely.get_coordinates(shapely.point_on_surface(np.array(cells, dtype=object)))
    return Units(cells, hh, [[i] for i in range(n)], cur, graph, xy.reshape(-1, 2))
