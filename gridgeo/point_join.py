"""Points to polygons in memory: for each point the first polygon (by rank) that covers it.

The join of :mod:`gridgeo.bulk_join` without the database: points as numpy arrays (no
geometries made), bucketed into a lattice of cells, each polygon meeting the points of the cells
its box spans, the exact test vectorised on prepared polygons. Bounded memory: ``chunk``
candidate pairs at a time.
"""

from __future__ import annotations

import numpy as np
import shapely

# candidate (part, point) pairs examined at a time (~40 bytes each while they live)
CHUNK = 4_000_000


def rank_points(
    x: np.ndarray, y: np.ndarray, parts: np.ndarray, leaves: int | None = None, chunk: int = CHUNK
) -> np.ndarray:
    """For each point the smallest rank (index in ``parts``) of a part covering it (-1: none).

    ``parts[:leaves]`` are the leaf parts (ranked first): every level's parts cover a point, so
    the leaves are joined first and only the points none of them covers (outside, or in a gap
    between leaves) meet the other parts - a quarter of the work, as ``PICK_SQL`` then
    ``MISS_SQL`` do in SQL.

    No point geometries are made (a million shapely points plus their STRtree cost more than
    the whole join): points are bucketed into a lattice of cells a third of a part across,
    each part meets the points of the cells its box spans, its box filters them, and the exact
    test runs vectorised on the prepared parts with ``intersects_xy``. Work is done ``chunk``
    (part, point) pairs at a time, so memory stays bounded at any size. (Classifying cells a
    part covers whole, to skip their points' tests, was tried: making and testing the cell
    boxes cost more than it saved.)
    """
    n = len(x)
    if n == 0 or len(parts) == 0:
        return np.full(n, -1, dtype=np.int64)
    leaves = len(parts) if leaves is None else leaves
    best = _rank(x, y, parts[:leaves], chunk)
    rest = np.flatnonzero(best < 0)
    if rest.size and leaves < len(parts):
        other = _rank(x[rest], y[rest], parts[leaves:], chunk)
        best[rest] = np.where(other >= 0, other + leaves, -1)
    return best


def _rank(x: np.ndarray, y: np.ndarray, parts: np.ndarray, chunk: int) -> np.ndarray:
    n = len(x)
    none = np.iinfo(np.int64).max
    if n == 0 or len(parts) == 0:
        return np.full(n, -1, dtype=np.int64)
    best = np.full(n, none, dtype=np.int64)
    b = shapely.bounds(parts)
    bx0, by0, bx1, by1 = (np.ascontiguousarray(b[:, i]) for i in range(4))
    cells = _Cells(x, y, b)
    k = cells.cells_per_part
    step = max(1, int(chunk // max(1.0, float(np.mean(k)))))
    for lo in range(0, len(parts), step):
        pi, ci = cells.part_cells(np.arange(lo, min(lo + step, len(parts))))
        occupied = cells.count[ci] > 0
        pi, ci = pi[occupied], ci[occupied]
        counts = cells.count[ci]
        total = int(counts.sum())
        per = max(1, len(pi) * chunk // max(total, 1))  # (part, cell) pairs a batch
        for a in range(0, len(pi), per):
            sl = slice(a, a + per)
            c = counts[sl]
            m = int(c.sum())
            part_i = np.repeat(pi[sl], c)
            first = np.repeat(cells.start[ci[sl]] - (np.cumsum(c) - c), c)
            point_i = cells.order[first + np.arange(m)]
            px, py = x[point_i], y[point_i]
            keep = (px >= bx0[part_i]) & (px <= bx1[part_i])
            keep &= (py >= by0[part_i]) & (py <= by1[part_i])
            part_i, point_i = part_i[keep], point_i[keep]
            hit = shapely.intersects_xy(parts[part_i], px[keep], py[keep])
            np.minimum.at(best, point_i[hit], part_i[hit])
    best[best == none] = -1
    return best


class _Cells:
    """Points bucketed into a regular lattice of cells over the parts' extent."""

    # cells across a typical part's box: 1 makes 3.6 candidates a point, 3 makes 2.2 (with
    # 1.6 left after the box test); finer costs more in (part, cell) pairs than it saves
    PER_PART = 3
    MAX_CELLS = 1 << 22

    def __init__(self, x: np.ndarray, y: np.ndarray, b: np.ndarray) -> None:
        self.x0, self.y0 = float(b[:, 0].min()), float(b[:, 1].min())
        x1, y1 = float(b[:, 2].max()), float(b[:, 3].max())
        w = float(np.median(b[:, 2] - b[:, 0])) / self.PER_PART or 1.0
        h = float(np.median(b[:, 3] - b[:, 1])) / self.PER_PART or 1.0
        side = int(np.sqrt(self.MAX_CELLS))
        self.nx = max(1, min(side, int((x1 - self.x0) / w) + 1))
        self.ny = max(1, min(side, int((y1 - self.y0) / h) + 1))
        self.w = (x1 - self.x0) / self.nx or 1.0
        self.h = (y1 - self.y0) / self.ny or 1.0
        inside = (x >= self.x0) & (x <= x1) & (y >= self.y0) & (y <= y1)
        idx = np.flatnonzero(inside)
        cid = self._cx(x[idx]) + self.nx * self._cy(y[idx])
        o = np.argsort(cid)
        self.order = idx[o]
        self.count = np.bincount(cid, minlength=self.nx * self.ny).astype(np.int64)
        self.start = np.cumsum(self.count) - self.count
        self.c0x, self.c1x = self._cx(b[:, 0]), self._cx(b[:, 2])
        self.c0y, self.c1y = self._cy(b[:, 1]), self._cy(b[:, 3])
        self.cells_per_part = (self.c1x - self.c0x + 1) * (self.c1y - self.c0y + 1)

    def _cx(self, v: np.ndarray) -> np.ndarray:
        return np.clip(((v - self.x0) / self.w).astype(np.int64), 0, self.nx - 1)

    def _cy(self, v: np.ndarray) -> np.ndarray:
        return np.clip(((v - self.y0) / self.h).astype(np.int64), 0, self.ny - 1)

    def part_cells(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(part, cell) for every cell the boxes of parts ``p`` span."""
        wx = self.c1x[p] - self.c0x[p] + 1
        k = self.cells_per_part[p]
        pi = np.repeat(p, k)
        off = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        wxr = np.repeat(wx, k)
        cx = self.c0x[pi] + off % wxr
        cy = self.c0y[pi] + off // wxr
        return pi, cx + self.nx * cy
