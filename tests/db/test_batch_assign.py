"""The Dask batch assignment gives PostGIS's own answers, point for point.

Two synthetic districts side by side (a shared district edge, streets, communities, square and
triangular grids on an exact lattice) are loaded into the test database; 240,000 households,
a fifth of them exactly on shared edges or vertices and about a tenth outside every grid, are
written as GeoParquet files and assigned on a LocalCluster (threads, so nothing is spawned).
Each point's grid must be the one ``gridgeo_leaf`` gives it; each outside point's nearest grid
the one ``gridgeo_nearest`` gives, at the same metres.
"""

from __future__ import annotations

import json
import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from gridgeo.batch.assign import SUMMARY, batch_assign
from gridgeo.batch.cluster import ClusterSpec, dask_client
from gridgeo.batch.geodesic import metres_to_polygons
from gridgeo.batch.grids import stored_grids
from gridgeo.batch.join import TIE_M, GridIndex
from gridgeo.batch.synthetic import STEP, City, households
from gridgeo.levels import load_hierarchy
from gridgeo.rules import leaf_key
from gridgeo.store import AreaRecord, copy_households, insert_areas

PER_FILE = int(os.environ.get("GRIDGEO_TEST_BATCH_POINTS", 40_000))
FILES = 6

ANSWERS = text(
    """
    SELECT h.external_id, f.code, n.code AS nearest, n.metres
    FROM households h
    LEFT JOIN LATERAL gridgeo_leaf(h.location) f ON true
    LEFT JOIN LATERAL (SELECT * FROM gridgeo_nearest(h.location) WHERE f.code IS NULL) n ON true
    """
)


def _cities() -> list[City]:
    west = City("370705", 119.0, 36.5, streets=2, communities=2, grids=4, cell=2)
    return [west, City("370706", 119.0 + west.side, 36.5, streets=2, communities=2, grids=4)]


def test_leaf_key_is_the_sql_key(conn) -> None:
    for depth, code in [(0, "370705"), (3, "370705001001001"), (12, "9"), (2, "a")]:
        sql = conn.execute(text("SELECT gridgeo_leaf_key(:d, :c)"), {"d": depth, "c": code})
        assert sql.scalar() == leaf_key(depth, code)


def test_batch_assign_equals_postgis(conn, tmp_path) -> None:
    hierarchy = load_hierarchy(conn)
    cities = _cities()
    areas = pd.concat([c.areas() for c in cities], ignore_index=True)
    insert_areas(
        conn,
        hierarchy,
        [
            AreaRecord(r.code, r.code, r.level, r.geometry, r.parent_code or None)
            for r in areas.itertuples()
        ],
    )
    frames = []
    for i in range(FILES):
        h = households(cities[i % 2], PER_FILE, seed=i, margin=0.05)
        pts = shapely.points(h["lon"].to_numpy(), h["lat"].to_numpy())
        gpd.GeoDataFrame(h[["external_id", "household_count"]], geometry=pts, crs=4326).to_parquet(
            tmp_path / f"households-{i}.parquet"
        )
        copy_households(conn, pts, h["household_count"], external_ids=h["external_id"])
        frames.append(h)
    grids = stored_grids(conn)
    assert len(grids) == len(areas)

    t0 = time.perf_counter()
    with dask_client(ClusterSpec(workers=2, processes=False)) as client:
        summary = batch_assign(
            client, grids, str(tmp_path / "households-*.parquet"), tmp_path / "out", npartitions=8
        )
    got = gpd.read_parquet(tmp_path / "out").set_index("external_id")
    t1 = time.perf_counter()
    want = pd.DataFrame(conn.execute(ANSWERS).all()).set_index("external_id")
    print(f"batch {t1 - t0:.1f} s, PostGIS {time.perf_counter() - t1:.1f} s")
    n = FILES * PER_FILE
    assert len(got) == len(want) == n
    got = got.loc[want.index]

    inside = want["code"].notna()
    assert (got["grid_code"].notna().to_numpy() == inside.to_numpy()).all()
    diff = (got["grid_code"][inside] != want["code"][inside]).to_numpy()
    assert not diff.any(), want[inside][diff].head()
    assert (got["grid_depth"][inside] == 3).all()  # the lattice leaves the levels no gap
    out = ~inside
    assert 0.05 * n < out.sum() < 0.3 * n
    same = (got["nearest_code"][out] == want["nearest"][out]).to_numpy()
    # Where they differ, the two grids must be a tie (equally near to 1e-7 m: grids of several
    # levels sharing the nearest edge), which PostGIS breaks by its last bits (see
    # gridgeo.batch.join.TIE_M) and the batch by the leaf key.
    odd = want[out][~same]
    index = GridIndex.from_frame(grids)
    pos = {c: i for i, c in enumerate(index.codes)}
    x = got.loc[odd.index, "geometry"].x.to_numpy()
    y = got.loc[odd.index, "geometry"].y.to_numpy()
    theirs = np.array([pos[c] for c in odd["nearest"]], dtype=np.int64)
    mine = np.array([pos[c] for c in got.loc[odd.index, "nearest_code"]], dtype=np.int64)
    m_theirs = metres_to_polygons(x, y, theirs, index.seg, index.offsets)
    m_mine = metres_to_polygons(x, y, mine, index.seg, index.offsets)
    assert (np.abs(m_theirs - m_mine) <= TIE_M).all()
    assert (index.rank[mine] < index.rank[theirs]).all()  # the leaf key's choice of the tie
    assert len(odd) <= max(3, 0.002 * out.sum()), len(odd)
    print(f"nearest: {int(same.sum())} of {int(out.sum())} equal, {len(odd)} nanometre ties")
    metres = np.abs(got["nearest_m"][out].to_numpy() - want["metres"][out].astype(float).to_numpy())
    assert metres.max() < 1e-6, metres.max()
    print(f"metres: largest difference {metres.max():.2e} m")

    # the points generated on shared edges and vertices were on them for PostGIS too
    leaves = shapely.STRtree(grids.geometry[grids.depth == 3].to_numpy())
    on_edge, _ = leaves.query(got["geometry"].to_numpy(), predicate="touches")
    assert len(np.unique(on_edge)) > 0.15 * n

    s = json.loads((tmp_path / "out" / SUMMARY).read_text("utf-8"))
    assert s == summary
    assert s["points"] == n and s["outside_points"] == int(out.sum())
    assert s["households"] == sum(int(f["household_count"].sum()) for f in frames)
    counts = pd.read_csv(
        tmp_path / "out" / "_counts.csv", dtype={"code": str}, keep_default_na=False
    )
    per_grid = counts.set_index("code")["points"]
    want_counts = want["code"][inside].value_counts()
    assert per_grid.drop("").sort_index().equals(want_counts.sort_index().rename("points"))
    assert STEP == 2.0**-10
