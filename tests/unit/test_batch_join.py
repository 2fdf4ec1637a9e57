"""The leaf rule on arrays of points (gridgeo.batch.join), without a database.

The point-for-point comparison with PostGIS is tests/db/test_batch_assign.py; these are the
cases the rule names, each small enough to read.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from gridgeo.batch.geodesic import inside_sphere, metres_to_polygons, segments
from gridgeo.batch.grids import read_grids
from gridgeo.batch.join import GridIndex, assign_frame, leaf_of
from gridgeo.errors import InvalidInput
from gridgeo.rules import leaf_key

S = 2.0**-10


def _box(i: int, j: int, w: int = 1) -> shapely.Polygon:
    x, y = 119.0 + i * S, 36.5 + j * S
    return shapely.box(x, y, x + w * S, y + w * S)


def _index() -> GridIndex:
    # four leaves (depth 3) meeting at a vertex, inside one community (depth 2)
    codes = ["c", "g4", "g3", "g2", "g1"]
    depths = [2, 3, 3, 3, 3]
    geoms = [_box(0, 0, 2), _box(1, 1), _box(0, 1), _box(1, 0), _box(0, 0)]
    return GridIndex.build(np.array(codes, dtype=object), np.array(depths), np.array(geoms))


def test_leaf_key_orders_deepest_then_code() -> None:
    keys = sorted([leaf_key(2, "a"), leaf_key(3, "b"), leaf_key(3, "a"), leaf_key(0, "0")])
    assert keys == [leaf_key(3, "a"), leaf_key(3, "b"), leaf_key(2, "a"), leaf_key(0, "0")]
    with pytest.raises(ValueError):
        leaf_key(1000, "x")


def test_edges_and_vertices_go_to_the_smallest_code_of_the_deepest_level() -> None:
    idx = _index()
    pts = shapely.points(
        [
            (119.0 + S, 36.5 + S),  # the vertex of all four leaves
            (119.0 + S, 36.5 + 1.5 * S),  # the edge of g3 and g4
            (119.0 + 0.5 * S, 36.5 + 0.5 * S),  # inside g1
            (119.0, 36.5 + 0.5 * S),  # the community's edge and g1's
        ]
    )
    ans = leaf_of(idx, pts)
    assert list(idx.codes[ans.grid]) == ["g1", "g3", "g1", "g1"]
    assert (ans.nearest == -1).all() and np.isnan(ans.metres).all()


def test_outside_points_get_the_nearest_grid_and_geodesic_metres() -> None:
    idx = _index()
    x, y = 119.0 - 0.001, 36.5 + 0.5 * S  # west of g1 and of the community, same edge
    ans = leaf_of(idx, shapely.points([(x, y), (np.nan, np.nan)]))
    assert ans.grid[0] == -1 and idx.codes[ans.nearest[0]] == "g1"  # the tie: deepest
    # the edge is a meridian: the closest point is at the same latitude
    _, _, want = Geod(ellps="WGS84").inv(x, y, 119.0, y)
    assert ans.metres[0] == pytest.approx(want, abs=1e-6)
    assert ans.grid[1] == -1 and ans.nearest[1] == -1  # a missing point: no answer at all


def test_a_long_east_west_edge_bulges_poleward() -> None:
    # 0.0625 degrees wide (5.6 km): its great circle runs ~0.45 m north of the parallel
    wide = shapely.box(119.0, 36.5, 119.0625, 36.53125)
    seg, off = segments(np.array([wide]))
    lon, lat = np.radians([119.03125, 119.03125]), np.radians([36.53125 + 2e-6, 36.53125 + 1e-5])
    inside = inside_sphere(lon, lat, np.array([0, 0]), seg, off)
    assert list(inside) == [True, False]  # 0.2 m north: inside; 1.1 m north: outside
    m = metres_to_polygons(np.degrees(lon), np.degrees(lat), np.array([0, 0]), seg, off)
    assert m[0] == 0.0 and 0.5 < m[1] < 0.8


def test_assign_frame_keeps_columns_and_names_the_answer() -> None:
    idx = _index()
    frame = gpd.GeoDataFrame(
        {"external_id": ["a", "b"], "household_count": [2, 1]},
        geometry=shapely.points([(119.0 + 0.5 * S, 36.5 + 0.5 * S), (118.9, 36.5)]),
        crs=4326,
    )
    out = assign_frame(idx, frame)
    assert list(out["external_id"]) == ["a", "b"]
    assert out["grid_code"].iloc[0] == "g1" and out["grid_code"].isna().iloc[1]
    assert list(out["grid_depth"]) == [3, -1]
    assert out["nearest_code"].isna().iloc[0] and out["nearest_code"].iloc[1] == "g1"
    assert out["nearest_m"].iloc[1] > 8000


def test_grid_files_need_code_and_depth_or_level(tmp_path) -> None:
    good = gpd.GeoDataFrame(
        {"code": ["1", "2"], "level": ["district", "grid"]},
        geometry=[_box(0, 0, 2), _box(0, 0)],
        crs=4326,
    )
    good.to_parquet(tmp_path / "g.parquet")
    grids = read_grids(str(tmp_path / "g.parquet"))
    assert list(grids["depth"]) == [0, 3]
    good.drop(columns="level").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InvalidInput, match="no column 'depth' nor 'level'"):
        read_grids(str(tmp_path / "bad.parquet"))
    with pytest.raises(InvalidInput, match="no such file"):
        read_grids(str(tmp_path / "missing.parquet"))
