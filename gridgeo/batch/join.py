"""The leaf rule of the database, applied to a block of points in memory (pure; no database).

What PostGIS answers for one point (migration 0012, :mod:`gridgeo.rules`), this module answers
for an array of them, so that a Dask partition of households gets exactly the grids that
``gridgeo assign`` would give them:

- **covered**: among the grids whose boundary covers the point (GEOS ``covers``, so a point
  on a shared edge or vertex is covered by every grid that touches it), the first by
  :func:`gridgeo.rules.leaf_key` — the deepest level, then the smallest code;
- **outside every grid**: ``gridgeo_nearest``'s three steps, in the same order: the 32 grids
  nearest in planar degrees, of them the 8 nearest with longitude scaled by cos(latitude)
  (ties by leaf key), of them the one at the fewest geodesic metres (ties by leaf key), the
  metres measured as PostGIS measures them (:mod:`gridgeo.batch.geodesic`). Metres within
  :data:`TIE_M` (0.1 µm) of the fewest count as a tie: the last bits of the two computations
  differ (see there).

The grids are indexed once per process (:class:`GridIndex`, an STRtree) and reused by every
partition a worker joins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gridgeo.batch.geodesic import metres_to_polygons, planar_to_polygons, segments
from gridgeo.rules import leaf_key

#: gridgeo_nearest's candidate counts: planar KNN, then scaled planar (migration 0012)
KNN_CANDIDATES = 32
SCALED_CANDIDATES = 8
#: grids this close to equally near are a tie, for the leaf key to break (metres). Grids of
#: several levels that share the nearest edge are equally near; PostGIS's arithmetic and
#: numpy's differ in the last bit, which moves the metres by ~3e-9 m (measured), across
#: PostGIS's 1e-8 m rounding now and then.
TIE_M = 1e-7


@dataclass
class GridIndex:
    """Grids ready to be joined: codes, depths, geometries, their leaf order and an STRtree.

    Attributes:
        codes, depths, geoms: one entry per grid (EPSG:4326 polygons).
        rank: position of each grid in the leaf order (0 wins).
        tree: the STRtree over ``geoms``.
        seg, offsets: the grids' edges (degrees) for the distances to points outside.
        typical_size: the median width of a grid's bounding box (degrees), the first step of
            the search for a point's nearest grids.
        depth_order: the depths present, deepest first.
        by_depth: the grids of each depth.
    """

    codes: np.ndarray
    depths: np.ndarray
    geoms: np.ndarray
    rank: np.ndarray
    tree: shapely.STRtree
    seg: np.ndarray
    offsets: np.ndarray
    typical_size: float
    depth_order: tuple[int, ...] = ()
    by_depth: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, codes: np.ndarray, depths: np.ndarray, geoms: np.ndarray) -> GridIndex:
        """Index grids (any levels; the deepest covering one wins a point)."""
        codes = np.asarray(codes, dtype=object)
        depths = np.asarray(depths, dtype=np.int64)
        geoms = np.asarray(geoms, dtype=object)
        keys = np.array([leaf_key(int(d), str(c)) for d, c in zip(depths, codes, strict=True)])
        order = np.argsort(keys, kind="stable")
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys))
        shapely.prepare(geoms)
        seg, offsets = segments(geoms)
        b = shapely.bounds(geoms)
        size = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))) if len(b) else 0
        tree = shapely.STRtree(geoms)
        order_d = tuple(sorted({int(d) for d in depths}, reverse=True))
        by_depth = {d: np.flatnonzero(depths == d) for d in order_d}
        return cls(codes, depths, geoms, rank, tree, seg, offsets, size, order_d, by_depth)

    @classmethod
    def from_frame(cls, grids: pd.DataFrame) -> GridIndex:
        """From a (Geo)DataFrame with columns ``code``, ``depth`` and ``geometry``."""
        return cls.build(
            grids["code"].to_numpy(), grids["depth"].to_numpy(), grids["geometry"].to_numpy()
        )

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Answer:
    """Per point: the grid (index into the GridIndex, -1 outside), else the nearest and metres."""

    grid: np.ndarray
    nearest: np.ndarray
    metres: np.ndarray


def leaf_of(index: GridIndex, points: np.ndarray) -> Answer:
    """The grid of each point by the database's rule; the nearest grid for points outside.

    Args:
        index: the grids.
        points: shapely Points (EPSG:4326); missing or empty ones, or with a NaN coordinate,
            get no grid and no nearest.
    """
    points = np.asarray(points, dtype=object)
    n = len(points)
    usable = ~(shapely.is_missing(points) | shapely.is_empty(points))
    usable[usable] = np.isfinite(shapely.get_coordinates(points[usable])).all(axis=1)
    none = np.iinfo(np.int64).max
    best = np.full(n, none, dtype=np.int64)
    todo = np.flatnonzero(usable)
    # the deepest level first: a point covered there is decided (every grid of a shallower
    # level comes later in the leaf order); the rest go up a level. Each polygon, prepared,
    # is tested against the points its box holds (3x faster than a test per point, measured).
    for depth in index.depth_order:
        if not len(todo):
            break
        grids = index.by_depth[depth]
        g, p = shapely.STRtree(points[todo]).query(index.geoms[grids], predicate="covers")
        np.minimum.at(best, todo[p], index.rank[grids[g]])
        todo = todo[best[todo] == none]
    by_rank = np.argsort(index.rank)
    grid = np.where(best == none, -1, by_rank[np.minimum(best, len(by_rank) - 1)])
    nearest = np.full(n, -1, dtype=np.int64)
    metres = np.full(n, np.nan)
    out = np.flatnonzero((grid < 0) & usable)
    if len(out) and len(index):
        nearest[out], metres[out] = _nearest(index, points[out])
    return Answer(grid, nearest, metres)


def _nearest(index: GridIndex, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gridgeo_nearest for points outside every grid: (grid index, metres) per point."""
    n, total = len(points), len(index)
    want = min(KNN_CANDIDATES, total)
    (found, _), dist = index.tree.query_nearest(points, return_distance=True, all_matches=False)
    d0 = np.zeros(n)
    d0[found] = dist
    # a radius around each point that holds its 32 nearest grids: grow it until it does
    radius = d0 + 3.0 * index.typical_size
    pairs_p: list[np.ndarray] = []
    pairs_g: list[np.ndarray] = []
    todo = np.arange(n)
    while len(todo):
        p, g = index.tree.query(points[todo], predicate="dwithin", distance=radius[todo])
        count = np.bincount(p, minlength=len(todo))
        done = count >= want
        keep = done[p]
        pairs_p.append(todo[p[keep]])
        pairs_g.append(g[keep])
        todo = todo[~done]
        radius[todo] = radius[todo] * 2.0
    p = np.concatenate(pairs_p)
    g = np.concatenate(pairs_g)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    # 1. the 32 nearest in planar degrees (the KNN index's order)
    planar = planar_to_polygons(lon[p], lat[p], g, index.seg, index.offsets)
    sel = _first_per_point(p, (planar,), want)
    p, g = p[sel], g[sel]
    # 2. of them, the 8 nearest with longitude scaled by cos(latitude), ties by leaf key
    scale = np.cos(np.radians(lat))
    scaled = planar_to_polygons(lon[p], lat[p], g, index.seg, index.offsets, scale[p])
    sel = _first_per_point(p, (scaled, index.rank[g]), SCALED_CANDIDATES)
    p, g = p[sel], g[sel]
    # 3. the fewest geodesic metres, ties by leaf key
    metres = metres_to_polygons(lon[p], lat[p], g, index.seg, index.offsets)
    fewest = np.full(n, np.inf)
    np.minimum.at(fewest, p, metres)
    tied = metres <= fewest[p] + TIE_M
    sel = _first_per_point(p, (~tied, index.rank[g]), 1)
    out_g = np.full(n, -1, dtype=np.int64)
    out_m = np.full(n, np.nan)
    out_g[p[sel]] = g[sel]
    out_m[p[sel]] = metres[sel]
    return out_g, out_m


def _first_per_point(p: np.ndarray, keys: tuple[np.ndarray, ...], k: int) -> np.ndarray:
    """Positions of the first ``k`` pairs of each point by ``keys`` (the first most significant)."""
    order = np.lexsort(tuple(reversed(keys)) + (p,))
    ps = p[order]
    start = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = np.arange(len(ps)) - np.repeat(start, np.diff(np.r_[start, len(ps)]))
    return order[pos < k]


def assign_frame(index: GridIndex, frame: pd.DataFrame) -> pd.DataFrame:
    """A partition of households with its answer, the other columns kept.

    ``grid_code`` and ``grid_depth`` (-1 outside every grid); for points outside,
    ``nearest_code`` and ``nearest_m``.
    """
    ans = leaf_of(index, frame.geometry.to_numpy())
    inside = ans.grid >= 0
    near = ans.nearest >= 0
    out = frame.copy()
    grid_code = np.where(inside, index.codes[np.maximum(ans.grid, 0)], None)
    out["grid_code"] = pd.Series(grid_code, index=frame.index, dtype="string")
    out["grid_depth"] = np.where(inside, index.depths[np.maximum(ans.grid, 0)], -1).astype("int16")
    nearest_code = np.where(near, index.codes[np.maximum(ans.nearest, 0)], None)
    out["nearest_code"] = pd.Series(nearest_code, index=frame.index, dtype="string")
    out["nearest_m"] = ans.metres
    return out
