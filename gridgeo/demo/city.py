"""A deterministic demo city modelled on Kuiwen district (奎文区), Weifang (seed 003).

One district, 8 streets, 65 communities, 386 grids, 784 workers and about 235,000 households in
buildings and their units (compounds of walk-ups and towers, old lanes, a few large buildings:
``gridgeo/demo/housing.py``), drawn along a synthetic network of main roads, minor streets and two rivers.

Why this shape: every level is a union of the same atomic blocks, the faces of the polygonized
road and river network clipped to the district outline. Shared edges are therefore
bit-identical: children cover their parent with no gap and siblings never overlap. The blocks
are moved from the local metric projection to EPSG:4326 once, before any union, and a
coordinate maps to the same output everywhere, so the property survives the transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection, text

from gridgeo.bulk_assign import assign_households
from gridgeo.demo import housing as housing
from gridgeo.demo import names as names
from gridgeo.demo import roads as network
from gridgeo.demo.housing_load import load_housing
from gridgeo.errors import Conflict
from gridgeo.levels import load_hierarchy
from gridgeo.lines import store_lines
from gridgeo.store import AreaRecord, insert_areas

STREETS, COMMUNITIES, GRIDS = 8, 65, 386  # seed 003: 65 community grids, 386 second-level grids
WORKERS = 784  # seed 003: 784 full-time community workers
HOUSEHOLDS = 235_000
STANDARD = 300  # households per worker (按照300户一职)
OVER_SHARE = UNDER_SHARE = 0.2  # grids staffed below / above the standard by more than 10 %
INSET = 8.0  # metres between a building's centre and the edge of its block

# Neighbours of each block: all of them, and those across a minor street only.
Adjacency = tuple[list[list[int]], list[set[int]]]


@dataclass(frozen=True)
class DemoCity:
    """The generated city.

    Attributes:
        areas: areas of every level in EPSG:4326, parents before children, parent_code set.
        building_points: shapely Points (EPSG:4326), the centre of each building.
        household_counts: households in each building.
        addresses: Chinese address of each building.
        external_ids: stable id (code) of each building (``DEMO-000001``...).
        roads: road and river lines (columns ``name``, ``kind`` in {'road', 'river'}).
        housing: kinds, floors, footprints (metric) and units of the buildings.
        footprints: building footprints (EPSG:4326).
        unit_points: each unit's point (EPSG:4326).
        compounds: the compound (小区) of each building.
        numbers: the building's number (楼号) within its compound.
        community_codes: the community of each building.
    """

    areas: list[AreaRecord]
    building_points: np.ndarray
    household_counts: np.ndarray
    addresses: list[str]
    external_ids: list[str]
    roads: geopandas.GeoDataFrame
    housing: housing.Housing
    footprints: np.ndarray
    unit_points: np.ndarray
    compounds: list[str]
    numbers: list[int]
    community_codes: list[str]


@dataclass(frozen=True)
class _Plan:
    """Block indices of each area; parents by index into the level above."""

    streets: list[np.ndarray]
    communities: list[np.ndarray]
    community_street: list[int]
    grids: list[np.ndarray]
    grid_community: list[int]


def build_demo_city(seed: int = 2026) -> DemoCity:
    """Generate the demo city; pure and deterministic (the same seed gives the same city).

    Args:
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        The city, in EPSG:4326.
    """
    rng = np.random.default_rng(seed)
    outline = network.outline(rng)
    main = network.main_lines(rng)
    supers = network.faces([line for _, _, line in main], outline)
    minor = network.minor_lines(supers, rng)
    blocks = network.faces([line for _, _, line in main] + minor, outline)
    super_of = _locate(blocks, supers)
    xy = shapely.get_coordinates(shapely.centroid(blocks))
    mix = rng.uniform(0.6, 1.4, len(supers))  # mixed land use: parks, industry, housing
    weight = shapely.area(blocks) * _density(xy) * mix[super_of]
    barrier = shapely.union_all([line for _, _, line in main])
    plan = _plan(super_of, _adjacency(supers), weight, xy, _adjacency(blocks, barrier), rng)
    workers, households = _staffing(np.array([weight[g].sum() for g in plan.grids]), rng)
    styles = housing.community_styles(COMMUNITIES, rng)
    grid_styles = [styles[c] for c in plan.grid_community]
    homes = _buildings(blocks, plan.grids, households, grid_styles, rng)
    grid_of = homes.grid
    labels = names.label_areas(plan.community_street, plan.grid_community)
    community_of = np.asarray(plan.grid_community)[grid_of]
    street_of = np.asarray(plan.community_street)[community_of]
    compound_of_grid = [names.compound_name(g, st) for g, st in enumerate(grid_styles)]
    compounds = [compound_of_grid[g] for g in grid_of]
    numbers = _ranks_in(grid_of)
    return DemoCity(
        areas=_area_records(shapely.transform(blocks, network.to_wgs84), plan, workers, labels),
        building_points=shapely.points(network.to_wgs84(homes.xy)),
        household_counts=homes.households,
        addresses=names.addresses(
            street_of.tolist(), community_of.tolist(), labels, compounds, numbers
        ),
        external_ids=[f"DEMO-{i + 1:06d}" for i in range(len(homes.households))],
        roads=network.roads(main, minor, outline),
        housing=homes,
        footprints=shapely.transform(homes.footprints, network.to_wgs84),
        unit_points=shapely.points(network.to_wgs84(homes.unit_xy)),
        compounds=compounds,
        numbers=numbers,
        community_codes=[labels[1][c][0] for c in community_of],
    )


def _ranks_in(owner: np.ndarray) -> list[int]:
    """1-based position of each item among the items with the same owner."""
    seen: dict[int, int] = {}
    out = []
    for o in owner.tolist():
        seen[o] = seen.get(o, 0) + 1
        out.append(seen[o])
    return out


def load_demo(conn: Connection, city: DemoCity | None = None) -> dict[str, int]:
    """Load the demo city into an empty store, in the caller's transaction.

    Inserts the areas, the buildings with their units, groups and heads, one household row per
    unit carrying its count (``gridgeo/buildings/store.py``), assigns every household to its
    grid, and stores the roads and rivers in the line layer (source ``demo``).

    Args:
        conn: a connection inside a transaction (the caller commits).
        city: the city to load; built with the default seed when None.

    Returns:
        Areas per level key, then ``households``, ``buildings``, ``units``, ``heads``,
        ``workers`` and ``unassigned`` (household rows in no grid; 0 for the demo), ``lines``.

    Raises:
        Conflict: when the grids table already has rows.
    """
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids)")).scalar_one():
        raise Conflict("the store already holds areas; load the demo into an empty database")
    city = city if city is not None else build_demo_city()
    hierarchy = load_hierarchy(conn)
    insert_areas(conn, hierarchy, city.areas)
    heads = load_housing(conn, city)
    report = assign_households(conn)
    roads = city.roads
    store_lines(conn, roads.geometry.values, list(roads.kind), list(roads.name), source="demo")
    counts = {spec.key: sum(a.level == spec.key for a in city.areas) for spec in hierarchy.levels}
    return counts | {
        "households": int(city.household_counts.sum()),
        "buildings": len(city.building_points),
        "units": len(city.housing.unit_number),
        "heads": heads,
        "workers": sum(a.workers for a in city.areas),
        "unassigned": report.unassigned,
        "lines": len(roads),
    }


# --- partition of the blocks into streets, communities and grids --------------------------


def _density(xy: np.ndarray) -> np.ndarray:
    """Relative density of homes: highest in the old centre, lower towards the edges."""
    d2 = (xy[:, 0] - 300.0) ** 2 + (xy[:, 1] - 200.0) ** 2
    return 0.35 + 1.65 * np.exp(-d2 / (2 * 2800.0**2))


def _locate(blocks: np.ndarray, supers: np.ndarray) -> np.ndarray:
    """Index of the super-block holding each block."""
    hits = shapely.STRtree(supers).query(shapely.point_on_surface(blocks), predicate="within")
    out = np.full(len(blocks), -1)
    out[hits[0]] = hits[1]
    if (out < 0).any():
        raise RuntimeError("a block lies in no super-block")
    return out


def _adjacency(polys: np.ndarray, barrier: shapely.Geometry | None = None) -> Adjacency:
    """Neighbours of each polygon (sharing an edge segment; coordinates are exact).

    Returns:
        All neighbours, and the "soft" ones: those sharing a segment off ``barrier`` (the main
        roads and rivers), so that regions grow across minor streets first.
    """
    owner: dict[tuple[tuple[float, float], tuple[float, float]], int] = {}
    shared: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for i, poly in enumerate(polys):
        for ring in [poly.exterior, *poly.interiors]:
            pts = [(float(x), float(y)) for x, y in ring.coords]
            for a, b in zip(pts[:-1], pts[1:], strict=True):
                j = owner.setdefault((a, b) if a < b else (b, a), i)
                if j != i:
                    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                    shared.setdefault((j, i), []).append(mid)
    pairs = sorted(shared)
    adj: list[list[int]] = [[] for _ in range(len(polys))]
    soft: list[set[int]] = [set() for _ in range(len(polys))]
    if barrier is not None:
        sizes = [len(shared[p]) for p in pairs]
        mids = np.array([m for p in pairs for m in shared[p]])
        off = ~shapely.dwithin(barrier, shapely.points(mids), 1e-3)
        any_off = np.logical_or.reduceat(off, np.cumsum([0, *sizes[:-1]]))
    for n, (j, i) in enumerate(pairs):
        adj[i].append(j)
        adj[j].append(i)
        if barrier is None or any_off[n]:
            soft[i].add(j)
            soft[j].add(i)
    return adj, soft


def _kmeans(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted k-means centres (k-means++ start, a few Lloyd rounds)."""
    chosen = [int(rng.choice(len(xy), p=w / w.sum()))]
    for _ in range(k - 1):
        d2 = ((xy[:, None, :] - xy[chosen][None]) ** 2).sum(-1).min(axis=1) * w
        chosen.append(int(rng.choice(len(xy), p=d2 / d2.sum())))
    centres = xy[chosen].astype(float)
    for _ in range(10):
        label = ((xy[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
        for j in range(k):
            if (label == j).any():
                centres[j] = np.average(xy[label == j], axis=0, weights=w[label == j])
    return centres


def _grow(
    members: np.ndarray,
    k: int,
    weight: np.ndarray,
    xy: np.ndarray,
    adjacency: Adjacency,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Split the connected ``members`` into ``k`` contiguous regions of similar weight.

    Seeds sit near weighted k-means centres. At each step the lightest region that can grow
    across a minor street (a soft edge) takes its frontier block nearest its centre; only when
    no region can do so does one cross a main road or river. Regions stay edge-connected.
    """
    adj, soft = adjacency
    centres = _kmeans(xy[members], weight[members], k, rng)
    label = {int(m): -1 for m in members}
    seeds: list[int] = []
    for r, c in enumerate(centres):  # the nearest free member to each centre
        near = members[np.argsort(np.hypot(*(xy[members] - c).T))]
        seeds.append(next(int(m) for m in near if label[int(m)] == -1))
        label[seeds[-1]] = r
    load = weight[seeds].astype(float)
    fronts: tuple[list[set[int]], list[set[int]]] = ([set() for _ in seeds], [set() for _ in seeds])

    def extend(r: int, m: int) -> None:
        for n in adj[m]:
            if label.get(n) == -1:
                fronts[0 if n in soft[m] else 1][r].add(n)

    for r, s in enumerate(seeds):
        extend(r, s)
    for _ in range(len(members) - k):
        front = fronts[0] if any(fronts[0]) else fronts[1]
        r = min((r for r in range(k) if front[r]), key=lambda r: (load[r], r))
        cand = sorted(front[r])
        m = cand[int(np.argmin(np.hypot(*(xy[cand] - centres[r]).T)))]
        label[m], load[r] = r, load[r] + weight[m]
        for f in (*fronts[0], *fronts[1]):
            f.discard(m)
        extend(r, m)
    return [np.array(sorted(m for m, lab in label.items() if lab == r)) for r in range(k)]


def _ordered(regions: list[np.ndarray], xy: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    """Regions sorted north to south in bands, then west to east (the order of their codes)."""
    cxy = [np.average(xy[r], axis=0, weights=w[r]) for r in regions]
    ys = xy[np.concatenate(regions), 1]
    band = (ys.max() - ys.min()) / np.sqrt(len(regions)) + 1.0
    keys = [(-round(c[1] / band), c[0]) for c in cxy]
    return [regions[i] for i in sorted(range(len(regions)), key=keys.__getitem__)]


def _apportion(total: int, weights: npt.ArrayLike, caps: npt.ArrayLike) -> np.ndarray:
    """Integers >= 1 and <= cap, proportional to weights, summing to ``total``."""
    w, cap = np.asarray(weights, dtype=float), np.asarray(caps)
    if len(w) > total or cap.sum() < total:
        raise ValueError(f"cannot split {total} over {len(w)} parts with capacity {cap.sum()}")
    share = w / w.sum() * total
    out = np.clip(np.floor(share).astype(int), 1, cap)
    while out.sum() < total:
        out[np.argmax(np.where(out < cap, share - out, -np.inf))] += 1
    while out.sum() > total:
        out[np.argmin(np.where(out > 1, share - out, np.inf))] -= 1
    return out


def _plan(
    super_of: np.ndarray,
    super_adj: Adjacency,
    weight: np.ndarray,
    xy: np.ndarray,
    adj: Adjacency,
    rng: np.random.Generator,
) -> _Plan:
    """Partition the blocks into streets, communities and grids.

    Streets are made of whole super-blocks, so that they follow main roads and rivers.
    """
    n_super = len(super_adj[0])
    sw = np.bincount(super_of, weights=weight, minlength=n_super)
    wxy = weight[:, None] * xy
    sxy = np.column_stack([np.bincount(super_of, wxy[:, i], n_super) for i in (0, 1)]) / sw[:, None]
    groups = _ordered(_grow(np.arange(n_super), STREETS, sw, sxy, super_adj, rng), sxy, sw)
    streets = [np.flatnonzero(np.isin(super_of, g)) for g in groups]
    communities, community_street = _subdivide(streets, COMMUNITIES, 3, weight, xy, adj, rng)
    grids, grid_community = _subdivide(communities, GRIDS, 1, weight, xy, adj, rng)
    return _Plan(streets, communities, community_street, grids, grid_community)


def _subdivide(
    parents: list[np.ndarray],
    total: int,
    min_blocks: int,
    weight: np.ndarray,
    xy: np.ndarray,
    adj: Adjacency,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[int]]:
    """Split each parent into contiguous children, ``total`` in all, apportioned by weight.

    Returns:
        The children (block indices) in code order, and the parent index of each.
    """
    caps = [len(p) // min_blocks for p in parents]
    counts = _apportion(total, [weight[p].sum() for p in parents], caps)
    children: list[np.ndarray] = []
    parent_of: list[int] = []
    for i, (members, k) in enumerate(zip(parents, counts, strict=True)):
        regions = _ordered(_grow(members, int(k), weight, xy, adj, rng), xy, weight)
        children += regions
        parent_of += [i] * len(regions)
    return children, parent_of


# --- staffing, buildings and areas -----------------------------------------------------------


def _staffing(capacity: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Workers and households per grid.

    Workers follow the grid's capacity; households are then set at the standard times the
    workers times a factor: near 1 for most grids, clearly above or below for a fifth each,
    so that planners have something to balance.
    """
    n = len(capacity)
    workers = _apportion(WORKERS, capacity, [WORKERS] * n)
    factor = rng.uniform(0.94, 1.06, n)
    pick = rng.permutation(n)
    n_over, n_under = round(OVER_SHARE * n), round(UNDER_SHARE * n)
    factor[pick[:n_over]] = rng.uniform(1.16, 1.45, n_over)
    factor[pick[n_over : n_over + n_under]] = rng.uniform(0.62, 0.85, n_under)
    households = _apportion(HOUSEHOLDS, STANDARD * workers * factor, [HOUSEHOLDS] * n)
    return workers, households


def _buildings(
    blocks: np.ndarray,
    grids: list[np.ndarray],
    households: np.ndarray,
    styles: list[str],
    rng: np.random.Generator,
) -> housing.Housing:
    """The buildings of every grid, their centres inside the blocks (inset from the roads)."""
    usable = shapely.buffer(blocks, -INSET, join_style="mitre")
    xy, block_of, owner = [], [], []
    kinds: list[str] = []
    floors: list[int] = []
    units: list[list[int]] = []
    for g, members in enumerate(grids):
        spots, area = usable[members], shapely.area(usable[members])
        if area.sum() <= 0:  # only slivers: hug the edges more closely
            spots = shapely.buffer(blocks[members], -1.0, join_style="mitre")
            area = shapely.area(spots)
        made = housing.grid_buildings(int(households[g]), styles[g], rng)
        per_block = rng.multinomial(len(made), area / area.sum())
        for spot, block, k in zip(spots, members, per_block, strict=True):
            if k:
                xy.append(_sample(spot, int(k), rng))
                block_of += [block] * int(k)
        for kind, fl, per_unit in made:
            kinds.append(kind)
            floors.append(fl)
            units.append(per_unit)
        owner += [g] * len(made)
    centres = np.vstack(xy)
    n_units = np.array([len(u) for u in units])
    boxes, half_w = housing.footprints(centres, kinds, n_units, blocks[np.asarray(block_of)])
    unit_building = np.repeat(np.arange(len(units)), n_units)
    unit_number = np.concatenate([np.arange(1, k + 1) for k in n_units])
    return housing.Housing(
        xy=centres,
        households=np.array([sum(u) for u in units], dtype=np.int64),
        kind=np.asarray(kinds),
        floors=np.asarray(floors),
        grid=np.asarray(owner),
        footprints=boxes,
        unit_building=unit_building,
        unit_number=unit_number,
        unit_households=np.concatenate([np.asarray(u) for u in units]).astype(np.int64),
        unit_xy=housing.unit_points(centres, half_w, unit_building, unit_number, n_units),
    )


def _sample(poly: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uniform random points inside ``poly`` (rejection sampling)."""
    x0, y0, x1, y1 = poly.bounds
    shapely.prepare(poly)
    found = np.empty((0, 2))
    while len(found) < count:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * count + 16, 2))
        found = np.vstack([found, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
    return found[:count]


def _area_records(
    blocks: np.ndarray, plan: _Plan, workers: np.ndarray, labels: names.Labels
) -> list[AreaRecord]:
    """Every area as the union of its (EPSG:4326) blocks, parents first."""
    streets, communities, grids = labels
    district = names.DISTRICT_CODE
    out = [AreaRecord(district, names.DISTRICT_NAME, "district", shapely.union_all(blocks))]
    out += [
        AreaRecord(code, name, "street", shapely.union_all(blocks[members]), district)
        for (code, name), members in zip(streets, plan.streets, strict=True)
    ]
    out += [
        AreaRecord(code, name, "community", shapely.union_all(blocks[members]), streets[s][0])
        for (code, name), members, s in zip(
            communities, plan.communities, plan.community_street, strict=True
        )
    ]
    for g, ((code, name), members, c) in enumerate(
        zip(grids, plan.grids, plan.grid_community, strict=True)
    ):
        geom = shapely.union_all(blocks[members])
        if geom.geom_type != "Polygon":
            raise RuntimeError(f"grid {code} is not one polygon ({geom.geom_type})")
        out.append(AreaRecord(code, name, "grid", geom, communities[c][0], int(workers[g])))
    return out
