"""Export → import → export is lossless in GeoJSON, GeoPackage and Shapefile, 4326 and 4490."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text

from boundaries.export import export_grids, parent_field, zip_shapefile
from boundaries.importer import import_grids
from boundaries.io import read_features
from gridgeo.levels import load_hierarchy
from gridgeo.store import AreaRecord, insert_areas
from gridgeo.versions import record_change

X0, Y0 = 119.123456789012, 36.701234567891  # 12 decimals: more than GeoJSON's default 7
D = 0.004321987654


def _box(i, j, w=1, h=1):
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + h) * D)


def _hole():
    return _box(0.25, 0.25, 0.5, 0.5).exterior


def _city():
    district = MultiPolygon([_box(0, 0, 4, 2)])
    grids = [
        ("110101001001001", "东关网格一", Polygon(_box(0, 0).exterior, [_hole()]), 2),
        ("110101001001002", "东关网格二", _box(1, 0), 1),
        ("110101001001003", "Grid 3 'quoted'", MultiPolygon([_box(2, 0), _box(3, 1)]), 0),
        ("110101001001004", "网格四", _box(0, 1, 2, 1), 3),
        ("110101001001005", "网格五", shapely.union(_box(2, 1), _box(3, 0)), 1),
    ]
    # a hole, a two-part grid, a grid whose parts touch at a corner, Chinese names
    areas = [
        AreaRecord("110101", "奎文区", "district", district),
        AreaRecord("110101001", "东关街道", "street", district, "110101"),
        AreaRecord("110101001001", "东关社区", "community", district, "110101001"),
    ]
    areas += [AreaRecord(c, n, "grid", g, "110101001001", w) for c, n, g, w in grids]
    return areas


def _multi(g):
    g = shapely.normalize(g)
    return g if g.geom_type == "MultiPolygon" else MultiPolygon([g])


def _table(path):
    gdf = pyogrio.read_dataframe(path)
    parent = parent_field(path)
    gdf = gdf.sort_values("code").reset_index(drop=True)
    return gdf, parent


def _assert_same(a, b, tol):
    ga, pa = _table(a)
    gb, pb = _table(b)
    assert list(ga["code"]) == list(gb["code"])
    assert list(ga["name"]) == list(gb["name"])
    assert list(ga[pa]) == list(gb[pb])
    assert [int(w) for w in ga["workers"]] == [int(w) for w in gb["workers"]]
    assert ga.crs.equals(gb.crs)
    for x, y in zip(ga.geometry, gb.geometry, strict=True):
        assert shapely.equals_exact(_multi(x), _multi(y), tolerance=tol), (x.wkt, y.wkt)


@pytest.mark.parametrize("crs", [4326, 4490])
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_roundtrip_is_lossless(conn, tmp_path, suffix, crs):
    hierarchy = load_hierarchy(conn)
    areas = _city()
    insert_areas(conn, hierarchy, areas)
    first = tmp_path / f"first{suffix}"
    assert export_grids(conn, hierarchy, "grid", first, crs=crs) == 5
    assert pyogrio.read_info(first)["crs"] == f"EPSG:{crs}"
    # the file matches the store to 1e-9 degrees (4490 is a datum shift of ~0)
    stored = {a.code: a for a in areas}
    gdf, pf = _table(first)
    tol = 1e-9 if crs == 4326 else 1e-7
    for _, row in gdf.iterrows():
        rec = stored[row["code"]]
        assert row["name"] == rec.name and row[pf] == rec.parent_code
        assert int(row["workers"]) == rec.workers and row["level"] == "grid"
        assert int(row["version"]) == 1 and row["valid_from"]
        assert shapely.equals_exact(_multi(row.geometry), _multi(rec.geometry), tolerance=tol)
    # replace the level by the file's contents, then export again
    conn.execute(
        text("DELETE FROM grids WHERE level_id = (SELECT id FROM levels WHERE key = 'grid')")
    )
    record_change(conn, "test", "round trip", "import")
    source = zip_shapefile(first, tmp_path / "first.zip") if suffix == ".shp" else first
    report = import_grids(
        conn,
        source,
        "grid",
        parent_field=parent_field(source),
        workers_field="workers",
        commit=True,
        tolerance_m=1.0,
    )
    assert report.committed and report.written == 5, report.to_text()
    second = tmp_path / f"second{suffix}"
    export_grids(conn, hierarchy, "grid", second, crs=crs)
    _assert_same(first, second, 0 if crs == 4326 else 1e-7)
    again = read_features(second)
    assert sorted(again["code"]) == sorted(stored)[3:]
    # the re-imported grids are second versions of the same codes
    versions = pyogrio.read_dataframe(second)["version"]
    assert np.all(versions.astype(int) == 2)


def test_export_at_a_time_and_bad_input(conn, tmp_path):
    from datetime import timedelta

    from gridgeo.errors import InvalidInput

    hierarchy = load_hierarchy(conn)
    cid = record_change(conn, "test", "first", "import")
    insert_areas(conn, hierarchy, _city())
    t1 = conn.execute(text("SELECT at FROM changes WHERE id = :i"), {"i": cid}).scalar()
    record_change(conn, "test", "rename", "edit")
    conn.execute(text("UPDATE grids SET name = '新' WHERE code = '110101001001001'"))
    out = tmp_path / "old.gpkg"
    export_grids(conn, hierarchy, "grid", out, at=t1 + timedelta(microseconds=1))
    assert "东关网格一" in set(pyogrio.read_dataframe(out)["name"])
    export_grids(conn, hierarchy, "grid", out)
    assert "新" in set(pyogrio.read_dataframe(out)["name"])
    with pytest.raises(InvalidInput, match="format"):
        export_grids(conn, hierarchy, "grid", tmp_path / "x.kml")
    with pytest.raises(InvalidInput, match="crs"):
        export_grids(conn, hierarchy, "grid", out, crs=3857)
