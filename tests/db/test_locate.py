"""``locate()`` and ``gridgeo_locate`` (migration 0026) give the rule's answer, point for point.

Two synthetic districts side by side (gridgeo.batch.synthetic: streets, communities, square
and triangular grids on an exact binary lattice) hold random points: uniform ones, points
exactly on shared edges, vertices and diagonals, and about a quarter outside every grid. Each
answer is compared with

- the reference: the leaf and chain composed from ``gridgeo_leaf``/``gridgeo_chain``, and the
  nearest grid by the rule with *every* one of the 8 candidates measured geodesically (the
  function only measures those its lower bound does not rule out);
- the nearest grid of migration 0012, which differs only on a nanometre tie (it broke ties by
  the last bits of the metres), where the new rule takes the first by leaf key;
- the Dask batch's in-memory rule (gridgeo.batch.join), which now agrees on every point.
"""

from __future__ import annotations

import importlib

import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gridgeo.assign import locate
from gridgeo.batch.grids import stored_grids
from gridgeo.batch.join import GridIndex, leaf_of
from gridgeo.batch.synthetic import City, households
from gridgeo.levels import load_hierarchy
from gridgeo.store import AreaRecord, insert_areas
from tests.helpers import add_box

M0026 = importlib.import_module("gridgeo.migrations.versions.0026_locate")
PT = "ST_SetSRID(ST_MakePoint(:x, :y), 4326)"

# the rule with no shortcut: the 8 candidates all measured, ties within TIE_M by leaf key
REFERENCE = f"""
CREATE FUNCTION pg_temp.reference_nearest(pt geometry) RETURNS TABLE (code text, metres float8)
    LANGUAGE sql STABLE AS $$
    WITH cand AS (
        SELECT p.code, p.leaf_key, p.geom FROM grid_parts p ORDER BY p.geom <-> pt LIMIT 32
    ),
    eight AS (
        SELECT c.* FROM cand c
        ORDER BY ST_Distance(ST_Scale(c.geom, cos(radians(ST_Y(pt))), 1),
                             ST_Scale(pt, cos(radians(ST_Y(pt))), 1)), c.leaf_key
        LIMIT 8
    ),
    near AS (SELECT e.*, ST_Distance(e.geom::geography, pt::geography) AS m FROM eight e)
    SELECT n.code, n.m FROM near n WHERE n.m <= (SELECT min(m) FROM near) + {M0026.TIE_M}
    ORDER BY n.leaf_key LIMIT 1
$$
"""
REFERENCE_CHAIN = text(
    f"SELECT c.code FROM gridgeo_leaf({PT}) l CROSS JOIN LATERAL gridgeo_chain(l.grid_id) c "
    "ORDER BY c.depth"
)
REFERENCE_NEAREST = text(f"SELECT code, metres FROM pg_temp.reference_nearest({PT})")
NEAREST_0012 = text(f"SELECT code, metres FROM pg_temp.nearest_0012({PT})")
LEAF_KEY = text("SELECT gridgeo_leaf_key(depth, code) FROM current_grids WHERE code = :c")


def _load(conn: Connection) -> list[City]:
    west = City("370705", 119.0, 36.5, streets=2, communities=2, grids=3, cell=2)
    cities = [west, City("370706", 119.0 + west.side, 36.5, streets=2, communities=2, grids=3)]
    areas = pd.concat([c.areas() for c in cities], ignore_index=True)
    insert_areas(
        conn,
        load_hierarchy(conn),
        [
            AreaRecord(r.code, r.code, r.level, r.geometry, r.parent_code or None)
            for r in areas.itertuples()
        ],
    )
    conn.execute(text(REFERENCE))
    conn.execute(
        text(
            M0026.NEAREST_0012.replace(
                "FUNCTION gridgeo_nearest(", "FUNCTION pg_temp.nearest_0012("
            )
        )
    )
    return cities


def test_locate_is_the_rule_on_random_inside_outside_and_edge_points(conn: Connection) -> None:
    cities = _load(conn)
    pts = pd.concat(
        [households(c, 1000, seed=i, margin=0.25) for i, c in enumerate(cities)],
        ignore_index=True,
    )
    index = GridIndex.from_frame(stored_grids(conn))
    batch = leaf_of(index, shapely.points(pts["lon"].to_numpy(), pts["lat"].to_numpy()))
    outside = ties_0012 = 0
    for i, (x, y) in enumerate(zip(pts["lon"].tolist(), pts["lat"].tolist(), strict=True)):
        got = locate(conn, x, y)
        want = conn.execute(REFERENCE_CHAIN, {"x": x, "y": y}).scalars().all()
        assert [c.code for c in got.chain] == want, (x, y)
        if want:
            assert got.nearest is None
            assert index.codes[batch.grid[i]] == want[-1]
            continue
        outside += 1
        code, metres = conn.execute(REFERENCE_NEAREST, {"x": x, "y": y}).one()
        assert got.nearest is not None
        assert (got.nearest.code, got.nearest.distance_m) == (code, metres), (x, y)
        # the batch's rule, to the 1e-8 m PostGIS rounds to
        assert index.codes[batch.nearest[i]] == code, (x, y)
        assert abs(batch.metres[i] - metres) < 1e-6
        old_code, old_metres = conn.execute(NEAREST_0012, {"x": x, "y": y}).one()
        if old_code != code:  # a tie that 0012 left to the last bits
            ties_0012 += 1
            assert abs(old_metres - metres) <= M0026.TIE_M
            key = conn.execute(LEAF_KEY, {"c": code}).scalar()
            assert key < conn.execute(LEAF_KEY, {"c": old_code}).scalar()
    assert 0.15 * len(pts) < outside < 0.5 * len(pts), outside
    print(f"{len(pts)} points, {outside} outside, {ties_0012} ties 0012 broke by its last bits")


def _nearest(conn: Connection, x: float, y: float) -> tuple[str, float]:
    row = conn.execute(text(f"SELECT code, metres FROM gridgeo_nearest({PT})"), {"x": x, "y": y})
    code, metres = row.one()
    return code, metres


def test_equally_near_grids_the_smallest_code_wins(conn: Connection) -> None:
    """Issue 20's ties settled: at equal distance (to 1e-7 m), the leaf key decides.

    Two grids of one level, mirror images about a line: a point on it is as near to one as to
    the other. The smaller code wins, on the right in one pair and on the left in the other.
    """
    add_box(conn, "110101001001002", "grid", 0, 0, 1, 1)
    add_box(conn, "110101001001001", "grid", 2, 0, 3, 1)
    add_box(conn, "110101001002001", "grid", 10, 0, 11, 1)
    add_box(conn, "110101001002002", "grid", 12, 0, 13, 1)
    code, metres = _nearest(conn, 1.5, 0.5)
    assert code == "110101001001001" and 55_000 < metres < 56_000
    assert _nearest(conn, 11.5, 0.5)[0] == "110101001002001"
    assert _nearest(conn, 1.5, 0.2)[0] == "110101001001001"
    assert _nearest(conn, 1.49, 0.5)[0] == "110101001001002"  # nearer to the left one


def test_at_a_shared_outer_edge_the_deepest_grid_is_nearest(conn: Connection) -> None:
    add_box(conn, "110101", "district", 0, 0, 2, 1)
    add_box(conn, "110101001", "street", 0, 0, 1, 1, "110101")
    add_box(conn, "110101002", "street", 1, 0, 2, 1, "110101")
    # east and west edges are meridians, the same line for the district and its street
    assert _nearest(conn, 3.0, 0.5)[0] == "110101002"
    assert _nearest(conn, -1.0, 0.5)[0] == "110101001"
    # not a tie: the district's top edge (0,1)-(2,1) is a longer great circle than the
    # street's (1,1)-(2,1) and bulges further north, so above x = 1.5 it is nearer
    street, district = (
        conn.execute(
            text(
                f"SELECT ST_Distance(geom::geography, {PT}::geography) FROM grids WHERE code = :c"
            ),
            {"x": 1.5, "y": 1.2, "c": c},
        ).scalar_one()
        for c in ("110101002", "110101")
    )
    assert district < street - 1.0
    assert _nearest(conn, 1.5, 1.2) == ("110101", district)
    loc = locate(conn, 3.0, 0.5)
    assert loc.chain == () and loc.nearest is not None and loc.nearest.code == "110101002"
    assert loc.nearest.level == "street" and 110_000 < loc.nearest.distance_m < 112_000
