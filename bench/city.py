"""A deterministic synthetic city for benchmarks: a 4-level grid hierarchy and household points.

Leaf grids are the Voronoi cells of a jittered, centre-dense lattice of seeds (a ring of ghost
seeds outside bounds the outer cells, so the district outline is irregular too). Every Voronoi
edge is then bent into a polyline with 0..~40 extra vertices, generated once per edge and shared
by both neighbours, so the cells still tile the plane exactly: no gaps, no overlaps, vertex
counts like hand-drawn grids (median ~30, a tail above 64 that ``ST_Subdivide(geom, 64)``
splits). Leaves are grouped into communities, communities into streets, by balanced recursive
bisection; a parent's polygon is the exact coverage union of its children.

Households are points around the leaves' seeds (so denser where the grids are smaller), with a
household count each; a small share lies outside the city, and a few sit exactly on shared
vertices (the edge rule of :mod:`gridgeo.assign` decides them).

Usage::

    city = build_city(grids=10_000, households=1_000_000)
    with engine.begin() as conn:
        load_city(conn, city)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from sqlalchemy import Connection

from gridgeo.levels import load_hierarchy
from gridgeo.store import AreaRecord, copy_households, insert_areas

BOUNDS = (116.3, 39.8, 116.5, 40.0)
DISTRICT_CODE = "110108"
LEVEL_KEYS = ("district", "street", "community", "grid")


@dataclass(frozen=True)
class City:
    """A generated city.

    Attributes:
        areas: every area, all levels, parents before children.
        leaf_codes: code of each leaf grid (same order as ``leaf_geoms``).
        leaf_geoms: Polygon of each leaf grid.
        lon: household point longitudes.
        lat: household point latitudes.
        counts: households at each point.
        addresses: a synthetic address per point.
        params: the arguments that built it (a fingerprint for caching).
    """

    areas: list[AreaRecord]
    leaf_codes: np.ndarray
    leaf_geoms: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    counts: np.ndarray
    addresses: list[str]
    params: dict[str, object] = field(default_factory=dict)

    @property
    def points(self) -> np.ndarray:
        """Household locations as shapely Points."""
        return shapely.points(self.lon, self.lat)

    def leaves_frame(self):  # -> geopandas.GeoDataFrame (imported lazily)
        """Leaf grids as a GeoDataFrame (``code``, geometry) in EPSG:4326."""
        import geopandas

        return geopandas.GeoDataFrame(
            {"code": self.leaf_codes}, geometry=self.leaf_geoms, crs="EPSG:4326"
        )

    def households_frame(self):  # -> geopandas.GeoDataFrame
        """Household points as a GeoDataFrame (``household_count``, geometry)."""
        import geopandas

        return geopandas.GeoDataFrame(
            {"household_count": self.counts}, geometry=self.points, crs="EPSG:4326"
        )


def level_sizes(grids: int) -> tuple[int, int]:
    """Default (streets, communities) for a number of leaf grids: ~100 grids per community,
    ~10 communities per street (10,000 grids -> 10 streets, 100 communities)."""
    communities = max(1, round(grids / 100))
    streets = max(1, round(communities / 10))
    return streets, communities


def build_city(
    grids: int = 10_000,
    households: int = 1_000_000,
    *,
    seed: int = 20261122,
    bounds: tuple[float, float, float, float] = BOUNDS,
    streets: int | None = None,
    communities: int | None = None,
    outside_share: float = 0.003,
    on_vertex: int | None = None,
    order: str = "random",
) -> City:
    """Generate a city (deterministic for given arguments).

    Args:
        grids: leaf grids.
        households: household points.
        seed: random seed.
        bounds: (min lon, min lat, max lon, max lat) the city roughly fills.
        streets: streets (default from :func:`level_sizes`).
        communities: communities (default from :func:`level_sizes`).
        outside_share: share of points scattered around the city, mostly outside it.
        on_vertex: points placed exactly on grid vertices (default households // 1000).
        order: ``random`` (as geocoded imports arrive) or ``spatial`` (a Z-order sort).
    """
    params = dict(locals())
    rng = np.random.default_rng(seed)
    d_streets, d_comms = level_sizes(grids)
    streets = streets or d_streets
    communities = communities or d_comms
    if not streets <= communities <= grids:
        raise ValueError("need streets <= communities <= grids")
    if max(streets, math.ceil(communities / streets), math.ceil(grids / communities)) > 999:
        raise ValueError("more than 999 children per parent do not fit a 3-digit code")

    seeds, ghosts = _seeds(grids, bounds, rng)
    cells = _voronoi(seeds, ghosts)
    leaf_geoms = _bend_edges(cells, rng)

    # Hierarchy: district -> streets -> communities -> grids, balanced and contiguous.
    areas: list[AreaRecord] = []
    leaf_codes = np.empty(grids, dtype=object)
    district = shapely.coverage_union_all(leaf_geoms)
    areas.append(AreaRecord(DISTRICT_CODE, "基准区", "district", district))
    per_street = _split_sizes(communities, streets)
    comm_no = 0
    for s, members in enumerate(_bisect(np.arange(grids), seeds, per_street, rng), start=1):
        s_code = f"{DISTRICT_CODE}{s:03d}"
        areas.append(
            AreaRecord(s_code, f"街道{s}", "street", _union(leaf_geoms[members]), DISTRICT_CODE)
        )
        n_comm = len(per_street[s - 1])
        comm_groups = _bisect(members, seeds, [1] * n_comm, rng)
        for c, cm in enumerate(comm_groups, start=1):
            comm_no += 1
            c_code = f"{s_code}{c:03d}"
            areas.append(
                AreaRecord(c_code, f"社区{comm_no}", "community", _union(leaf_geoms[cm]), s_code)
            )
            # Number the grids north-west first, as planners do.
            ordered = cm[np.lexsort((seeds[cm, 0], -np.round(seeds[cm, 1], 3)))]
            for g, leaf in enumerate(ordered, start=1):
                code = f"{c_code}{g:03d}"
                leaf_codes[leaf] = code
                areas.append(
                    AreaRecord(code, f"网格{code[-6:]}", "grid", leaf_geoms[leaf], c_code, 1)
                )

    lon, lat = _households(households, seeds, leaf_geoms, bounds, outside_share, rng)
    n_vertex = households // 1000 if on_vertex is None else on_vertex
    if n_vertex:
        coords = shapely.get_coordinates(leaf_geoms)
        pick = rng.choice(len(coords), size=min(n_vertex, households), replace=False)
        slots = rng.choice(households, size=len(pick), replace=False)
        lon[slots], lat[slots] = coords[pick, 0], coords[pick, 1]
    if order == "spatial":
        perm = np.argsort(_zorder(lon, lat, bounds), kind="stable")
        lon, lat = lon[perm], lat[perm]
    elif order != "random":
        raise ValueError("order must be 'random' or 'spatial'")
    counts = np.where(
        rng.random(households) < 0.02,
        rng.integers(20, 200, households),
        rng.geometric(0.4, households),
    ).astype(np.int32)
    numbers = rng.integers(1, 300, households)
    addresses = [f"基准区第{i % 97 + 1}路{m}号" for i, m in enumerate(numbers.tolist())]
    return City(areas, leaf_codes, leaf_geoms, lon, lat, counts, addresses, params)


def load_city(conn: Connection, city: City) -> dict[str, int]:
    """Insert the city's areas and households in the caller's transaction.

    Returns:
        Rows written: ``{"areas": .., "households": ..}``.
    """
    hierarchy = load_hierarchy(conn)
    n_areas = insert_areas(conn, hierarchy, city.areas)
    n_hh = copy_households(conn, city.points, city.counts.tolist(), addresses=city.addresses)
    return {"areas": n_areas, "households": n_hh}


# --- geometry ------------------------------------------------------------------------------


def _seeds(n: int, bounds, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeds in ``bounds`` (denser at the centre) and a ring of ghost seeds around."""
    x0, y0, x1, y1 = bounds
    w, h = x1 - x0, y1 - y0
    nx = max(1, math.ceil(math.sqrt(n * w / h)))
    ny = max(1, math.ceil(n / nx))
    pad = 2
    gi, gj = np.meshgrid(np.arange(-pad, nx + pad), np.arange(-pad, ny + pad), indexing="ij")
    ii, jj = gi.ravel(), gj.ravel()
    u = (ii + 0.5 + rng.uniform(-0.42, 0.42, ii.size)) / nx * 2 - 1  # -1..1 inside
    v = (jj + 0.5 + rng.uniform(-0.42, 0.42, jj.size)) / ny * 2 - 1
    r = np.maximum(np.abs(u), np.abs(v))
    warp = 0.55 + 0.45 * r  # monotone radial warp: cells near the centre are ~4x smaller
    u, v = u * warp, v * warp
    xy = np.column_stack([x0 + (u + 1) / 2 * w, y0 + (v + 1) / 2 * h])
    inside = (ii >= 0) & (ii < nx) & (jj >= 0) & (jj < ny)
    inner = np.flatnonzero(inside)
    keep = np.sort(rng.choice(inner, size=n, replace=False))
    ghost = np.flatnonzero(~inside)
    return xy[keep], xy[ghost]


def _voronoi(seeds: np.ndarray, ghosts: np.ndarray) -> np.ndarray:
    """Voronoi cells of ``seeds`` (ghost seeds bound them), in seed order."""
    allpts = shapely.multipoints(np.vstack([seeds, ghosts]))
    coll = shapely.voronoi_polygons(allpts, ordered=True)
    return shapely.get_parts(coll)[: len(seeds)]


def _bend_edges(cells: np.ndarray, rng, max_rounds: int = 6) -> np.ndarray:
    """Replace each Voronoi edge by a shared bent polyline; keep every cell valid."""
    coords, ring = shapely.get_coordinates(cells, return_index=True)
    _, vid = np.unique(coords, axis=0, return_inverse=True)
    vid = vid.ravel()
    # Edges: consecutive coordinates of the same ring (the ring's closing point ends the last).
    pos = np.flatnonzero(ring[:-1] == ring[1:])
    a, b = vid[pos], vid[pos + 1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    forward = a < b
    keys, edge = np.unique(np.column_stack([lo, hi]), axis=0, return_inverse=True)
    edge = edge.ravel()
    n_edges = len(keys)
    vert_xy = np.zeros((vid.max() + 1, 2))
    vert_xy[vid] = coords
    # Per edge: extra vertices (heavy tail), positions along the edge and sideways offsets.
    k = np.minimum(np.floor(rng.lognormal(math.log(3.5), 0.9, n_edges)), 40).astype(np.int64)
    k[rng.random(n_edges) < 0.15] = 0  # some edges are straight streets
    total = int(k.sum())
    owner = np.repeat(np.arange(n_edges), k)
    t = rng.uniform(0.05, 0.95, total)
    t = t[np.lexsort((t, owner))]
    wobble = rng.normal(0, 1, total)
    amp = rng.uniform(0.01, 0.07, n_edges)
    p, q = vert_xy[keys[:, 0]], vert_xy[keys[:, 1]]
    d = q - p
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    offset = (amp[owner] * np.sin(np.pi * t) * np.clip(wobble, -2, 2))[:, None]
    mids = p[owner] + t[:, None] * d[owner] + offset * normal[owner]
    start = np.concatenate([[0], np.cumsum(k)[:-1]])

    for _ in range(max_rounds):
        geoms = _assemble(cells, ring, pos, a, edge, forward, k, start, vert_xy, mids)
        bad = np.flatnonzero(~shapely.is_valid(geoms))
        if bad.size == 0:
            return geoms
        k[np.unique(edge[np.isin(ring[pos], bad)])] = 0  # straighten the offending cells
    raise RuntimeError("could not bend the Voronoi edges into valid polygons")


def _assemble(cells, ring, pos, a, edge, forward, k, start, vert_xy, mids) -> np.ndarray:
    """Rings from cell edges: start vertex, then the edge's bend points in ring direction."""
    ke = k[edge]
    seg_len = 1 + ke
    seg_start = np.concatenate([[0], np.cumsum(seg_len)[:-1]])
    n = int(seg_len.sum())
    seg_of = np.repeat(np.arange(len(edge)), seg_len)
    j = np.arange(n) - seg_start[seg_of]
    xy = np.empty((n, 2))
    first = j == 0
    xy[first] = vert_xy[a]
    rest = ~first
    sj, jr = seg_of[rest], j[rest]
    mid_idx = start[edge[sj]] + np.where(forward[sj], jr - 1, ke[sj] - jr)
    xy[rest] = mids[mid_idx]
    rings = shapely.linearrings(xy, indices=ring[pos][seg_of])
    return shapely.polygons(rings)


def _union(geoms: np.ndarray) -> shapely.Geometry:
    return shapely.coverage_union_all(geoms)


def _split_sizes(communities: int, streets: int) -> list[list[int]]:
    """Communities per street as lists of ones (for :func:`_bisect` weights)."""
    base, extra = divmod(communities, streets)
    return [[1] * (base + (1 if i < extra else 0)) for i in range(streets)]


def _bisect(members: np.ndarray, xy: np.ndarray, weights: list, rng) -> list[np.ndarray]:
    """Split ``members`` into ``len(weights)`` spatially compact groups sized by weight."""
    sizes = [sum(w) if isinstance(w, list) else w for w in weights]
    if len(sizes) == 1:
        return [members]
    half = len(sizes) // 2
    n_left = round(len(members) * sum(sizes[:half]) / sum(sizes))
    pts = xy[members]
    spread = pts.max(axis=0) - pts.min(axis=0)
    angle = (0.0 if spread[0] >= spread[1] else math.pi / 2) + rng.uniform(-0.5, 0.5)
    proj = pts @ np.array([math.cos(angle), math.sin(angle)])
    order = np.argsort(proj, kind="stable")
    left, right = members[order[:n_left]], members[order[n_left:]]
    return _bisect(left, xy, weights[:half], rng) + _bisect(right, xy, weights[half:], rng)


# --- households ----------------------------------------------------------------------------


def _households(n: int, seeds, leaf_geoms, bounds, outside_share, rng):
    """Points scattered around leaf seeds (popular grids weigh more) plus a few strays."""
    radius = np.sqrt(shapely.area(leaf_geoms) / np.pi)
    weight = rng.lognormal(0.0, 0.6, len(seeds))
    cell = rng.choice(len(seeds), size=n, p=weight / weight.sum())
    lon = seeds[cell, 0] + rng.normal(0, 0.55, n) * radius[cell]
    lat = seeds[cell, 1] + rng.normal(0, 0.55, n) * radius[cell]
    stray = rng.random(n) < outside_share
    x0, y0, x1, y1 = bounds
    m = 0.03
    lon[stray] = rng.uniform(x0 - m, x1 + m, stray.sum())
    lat[stray] = rng.uniform(y0 - m, y1 + m, stray.sum())
    return lon, lat


def _zorder(lon, lat, bounds, bits: int = 16) -> np.ndarray:
    """Morton code of each point on a 2^bits grid over (slightly padded) bounds."""
    x0, y0, x1, y1 = bounds
    pad = 0.05
    scale = (1 << bits) - 1
    xi = np.clip((lon - x0 + pad) / (x1 - x0 + 2 * pad), 0, 1) * scale
    yi = np.clip((lat - y0 + pad) / (y1 - y0 + 2 * pad), 0, 1) * scale
    return _spread(xi.astype(np.uint64)) | (_spread(yi.astype(np.uint64)) << np.uint64(1))


def _spread(v: np.ndarray) -> np.ndarray:
    v = v & np.uint64(0xFFFF)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v
