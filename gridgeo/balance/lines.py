"""Balancing along streets and rivers (以街路巷河为界): units are blocks between lines.

The area is cut into blocks by the lines (the faces of the noded lines and the area's
outline, :func:`cut_blocks`). A block is one unit; the buildings inside it go with it. Only a
block that is too big to fit the balance is split into Voronoi cells of its buildings (clipped
to the block), so boundaries leave the lines only where the households force them to:

- first, only blocks above the band on their own (``households > share × (1 + band)``) are split;
- when no partition within the band is found, blocks above ``share / 2``, then ``share / 4``,
  then every block, in turn (:data:`SPLIT_LEVELS`); the first level that fits wins.

Edges between units carry a weight ``w``: the length of their shared boundary, times
:data:`OFF_LINE` when it runs inside a block (not on a line), so the refinement moves cuts onto
the lines. :func:`line_share` measures the result: the share of the proposed boundaries (not
the area's outline) that lies within a few metres of a line. All geometry is planar (metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.balance.propose import Proposal, balance
from gridgeo.balance.units import Units, build_units, shared_edges

SPLIT_LEVELS = (None, 0.5, 0.25, 0.0)  # None: the band's upper edge; else a share of the target
OFF_LINE = 4.0  # a metre of boundary off the lines costs as much as four metres along one
SLIVER_M2 = 1.0  # faces smaller than this (noding noise) join a neighbour
LINE_TOLERANCE_M = 5.0


@dataclass(frozen=True)
class AlongLines:
    """A proposal over blocks and how well it follows the lines.

    Attributes:
        proposal: the proposal (its parts index into ``units``).
        units: the units it was made of.
        blocks: blocks the lines cut the area into.
        blocks_split: blocks split into building cells to reach the balance.
        split_above: households above which a block was split (None: none needed splitting).
        line_share: share of the proposed boundary length within ``tolerance_m`` of a line.
    """

    proposal: Proposal
    units: Units
    blocks: int
    blocks_split: int
    split_above: float | None
    line_share: float | None


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def cut_blocks(area: BaseGeometry, lines: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """The blocks the lines cut ``area`` into; they cover the area without overlap.

    Lines are clipped to the area; faces smaller than :data:`SLIVER_M2` (from lines that run
    along the outline) are merged into the neighbour they share most boundary with.
    """
    if not lines:
        return [area]
    clipped = shapely.intersection(
        np.asarray(lines, dtype=object), area.buffer(1.0, join_style="mitre")
    )
    parts = shapely.get_parts(clipped)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]  # lines and rings only
    noded = shapely.union_all(np.concatenate([parts, [area.boundary]]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    cells = [_polygonal(g) for g in shapely.intersection(faces, area)]
    sizes = np.array([c.area for c in cells])
    big = [c for c, s in zip(cells, sizes, strict=True) if s > SLIVER_M2]
    small = [c for c, s in zip(cells, sizes, strict=True) if 0 < s <= SLIVER_M2]
    if not big:
        return [area]
    tree = shapely.STRtree(big)
    merged: dict[int, list[BaseGeometry]] = {}
    for s in small:
        near = tree.query(s, predicate="intersects")
        if len(near) == 0:
            near = tree.query_nearest(s)
        touch = [float(shapely.intersection(s.boundary, big[i]).length) for i in near]
        merged.setdefault(int(near[int(np.argmax(touch))]), []).append(s)
    for i, extra in merged.items():
        big[i] = _polygonal(shapely.union_all([big[i], *extra]))
    return big


def block_of_points(points: np.ndarray, blocks: list[BaseGeometry]) -> np.ndarray:
    """The block index of each point (nearest block for a point on a line or outside)."""
    arr = np.asarray(blocks, dtype=object)
    tree = shapely.STRtree(arr)
    out = np.full(len(points), -1)
    pi, bi = tree.query(points, predicate="intersects")
    out[pi[::-1]] = bi[::-1]
    lost = np.flatnonzero(out < 0)
    if len(lost):
        out[lost] = tree.query_nearest(points[lost], all_matches=False)[1]
    return out


def block_units(
    xy: np.ndarray,
    households: np.ndarray,
    current: Sequence[str | None],
    blocks: list[BaseGeometry],
    block_of: np.ndarray,
    split_above: float | None,
    area: BaseGeometry,
) -> Units:
    """Units: each block whole, or (households above ``split_above``) its buildings' cells."""
    cells: list[BaseGeometry] = []
    hh: list[int] = []
    members: list[list[int]] = []
    cur: list[dict[str, int]] = []
    rep: list[np.ndarray] = []
    block: list[int] = []
    by_block: list[list[int]] = [[] for _ in blocks]
    for b, k in enumerate(block_of.tolist()):
        by_block[k].append(b)
    for k, (poly, mem) in enumerate(zip(blocks, by_block, strict=True)):
        total = int(households[mem].sum()) if mem else 0
        if split_above is not None and total > split_above and len(mem) > 1:
            sub = build_units(xy[mem], households[mem], poly, [current[i] for i in mem])
            if len(sub) > 1:
                cells += sub.cells
                hh += sub.households.tolist()
                members += [[mem[i] for i in m] for m in sub.members]
                cur += sub.current
                rep += list(sub.xy)
                block += [k] * len(sub)
                continue
        counts: dict[str, int] = {}
        for i in mem:
            if current[i] is not None:
                counts[str(current[i])] = counts.get(str(current[i]), 0) + int(households[i])
        cells.append(poly)
        hh.append(total)
        members.append(mem)
        cur.append(counts)
        rep.append(np.asarray(poly.representative_point().coords[0]))
        block.append(k)
    blk = np.asarray(block)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(cells)))
    for i, j, length in shared_edges(cells, area):
        graph.add_edge(i, j, w=length * (OFF_LINE if blk[i] == blk[j] else 1.0))
    return Units(cells, np.asarray(hh, dtype=np.int64), members, cur, graph, np.array(rep), blk)


def line_share(
    parts: Sequence[BaseGeometry],
    area: BaseGeometry,
    lines: Sequence[BaseGeometry],
    tolerance_m: float = LINE_TOLERANCE_M,
) -> float | None:
    """Share of the proposed boundaries (the outline excluded) within ``tolerance_m`` of a line.

    None when there is no inner boundary (one grid) or no line.
    """
    if len(parts) < 2 or not lines:
        return None
    rings = shapely.union_all([shapely.boundary(p) for p in parts])
    inner = shapely.difference(rings, area.boundary.buffer(0.5))
    total = inner.length
    if total <= 1e-6:
        return None
    # no buffer of the union of all lines (0.3 s on a demo community): buffer only the lines
    # near the boundary, each alone, and merge what of the boundary falls in them
    arr = np.asarray(lines, dtype=object)
    near = arr[shapely.STRtree(arr).query(inner, predicate="dwithin", distance=tolerance_m)]
    if len(near) == 0:
        return 0.0
    hit = shapely.intersection(inner, shapely.buffer(near, tolerance_m))
    return float(shapely.union_all(hit).length / total)


def balance_along_lines(
    xy: np.ndarray,
    households: Sequence[int] | np.ndarray,
    area: BaseGeometry,
    lines: Sequence[BaseGeometry],
    k: int,
    band: float = 0.10,
    *,
    current: Sequence[str | None] | None = None,
    candidates: int = 3,
) -> AlongLines:
    """Balance the buildings of ``area`` into ``k`` grids made of whole blocks where possible.

    Args:
        xy: building coordinates (n, 2), metres.
        households: households per building.
        area: the area's outline (metres).
        lines: roads, rivers, railways (metres); they need not be clipped.
        k: grids wanted.
        band: tolerance as a fraction of the equal share.
        current: the current grid of each building.
        candidates: tree-bisection seeds per piece (see :func:`gridgeo.balance.propose.balance`).

    Raises:
        InvalidInput: as :func:`gridgeo.balance.propose.balance`.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    hh = np.asarray(households, dtype=np.int64)
    labels = list(current) if current is not None else [None] * len(xy)
    blocks = cut_blocks(area, lines)
    block_of = block_of_points(shapely.points(xy), blocks) if len(xy) else np.zeros(0, dtype=int)
    share = float(hh.sum()) / k if k > 0 else 0.0
    best: tuple[float, int, Proposal, Units, float | None] | None = None
    for n, level in enumerate(SPLIT_LEVELS):
        above = share * (1 + band) if level is None else share * level
        units = block_units(xy, hh, labels, blocks, block_of, above, area)
        last = n == len(SPLIT_LEVELS) - 1
        p = balance(units, k, band, candidates=candidates, thorough=last)
        dev = max((abs(q.deviation) for q in p.parts if not q.own_building), default=0.0)
        if best is None or dev < best[0] - 1e-9:
            best = (dev, n, p, units, above)
        if p.within_band and p.k_effective == p.k:
            best = (dev, n, p, units, above)
            break
    assert best is not None
    _, _, p, units, split_at = best
    assert units.block is not None
    n_split = int((np.bincount(units.block, minlength=len(blocks)) > 1).sum())
    return AlongLines(
        proposal=p,
        units=units,
        blocks=len(blocks),
        blocks_split=n_split,
        split_above=split_at if n_split else None,
        line_share=line_share([q.geometry for q in p.parts], area, lines),
    )
