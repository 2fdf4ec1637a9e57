"""GeoParquet out and back in: households, buildings and grids survive export → import →
export unchanged (issue 19)."""

from __future__ import annotations

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import text

from boundaries.buildings import import_buildings
from boundaries.export import export_buildings, export_grids, export_households
from boundaries.households import import_households
from boundaries.importer import import_grids
from gridgeo.errors import InvalidInput
from gridgeo.levels import load_hierarchy
from gridgeo.store import AreaRecord, insert_areas
from gridgeo.versions import record_change
from tests.db.test_import_buildings import _good
from tests.db.test_import_stream import frame, stored, streets, write  # noqa: F401

X0, Y0, D = 119.123456789012, 36.701234567891, 0.004321987654


def _box(i: float, j: float, w: float = 1, h: float = 1) -> shapely.Geometry:
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + h) * D)


def _grids(path):
    gdf = gpd.read_parquet(path).sort_values("code").reset_index(drop=True)
    return gdf


def test_grids_roundtrip(conn, tmp_path):
    hierarchy = load_hierarchy(conn)
    district = MultiPolygon([_box(0, 0, 3, 1)])
    areas = [
        AreaRecord("110101", "奎文区", "district", district),
        AreaRecord("110101001", "东关街道", "street", district, "110101"),
        AreaRecord("110101001001", "东关社区", "community", district, "110101001"),
        AreaRecord("110101001001001", "网格一", "grid", _box(0, 0), "110101001001", 2),
        AreaRecord("110101001001002", "Grid 'two'", "grid", _box(1, 0, 2, 1), "110101001001", 0),
    ]
    insert_areas(conn, hierarchy, areas)
    first = tmp_path / "first.parquet"
    assert export_grids(conn, hierarchy, "grid", first) == 2
    assert b"geo" in pq.read_schema(first).metadata
    conn.execute(
        text("DELETE FROM grids WHERE level_id = (SELECT id FROM levels WHERE key = 'grid')")
    )
    record_change(conn, "test", "round trip", "import")
    report = import_grids(
        conn, first, "grid", parent_field="parent_code", workers_field="workers",
        commit=True, tolerance_m=1.0,
    )  # fmt: skip
    assert report.committed and report.written == 2, report.to_text()
    second = tmp_path / "second.parquet"
    export_grids(conn, hierarchy, "grid", second)
    a, b = _grids(first), _grids(second)
    for col in ("code", "name", "parent_code", "workers", "level"):
        assert list(a[col]) == list(b[col])
    assert list(b["version"]) == [2, 2]
    for x, y, rec in zip(a.geometry, b.geometry, areas[3:], strict=True):
        assert shapely.equals_exact(x, y, tolerance=0)
        assert shapely.equals_exact(shapely.normalize(x), shapely.normalize(
            MultiPolygon([rec.geometry])), tolerance=1e-12)  # fmt: skip


def test_buildings_roundtrip(conn, tmp_path):
    from tests.plan_city import add_plan_city

    add_plan_city(conn)
    import_buildings(conn, _good(tmp_path), commit=True)
    first = tmp_path / "b1.parquet"
    assert export_buildings(conn, first) == 3
    conn.execute(text("DELETE FROM households WHERE building_id IS NOT NULL"))
    conn.execute(text("DELETE FROM buildings"))
    again = import_buildings(conn, first, commit=True)
    assert again.committed and again.plan["insert"] == {"buildings": 3, "units": 7}
    assert again.plan["household_count"] == 275
    second = tmp_path / "b2.parquet"
    export_buildings(conn, second)
    a, b = gpd.read_parquet(first), gpd.read_parquet(second)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(shapely.equals_exact(x, y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert list(a["code"]) == ["LANE-1", "XF-3", "XF-5"]
    assert list(a["units"]) == [1, 4, 2] and list(a["households"]) == [10, 240, 25]


def test_households_roundtrip_in_chunks(conn, tmp_path, streets):  # noqa: F811
    src = write(frame(), tmp_path / "h.csv")
    import_households(conn, src, address_field="addr", external_id_field="ext", commit=True)
    before = stored(conn)
    first = tmp_path / "h1.parquet"
    assert export_households(conn, first, chunk_rows=3) == 7
    assert pq.ParquetFile(first).metadata.num_row_groups == 3
    exported = gpd.read_parquet(first)
    assert list(exported["grid"]) == [r[3] for r in before]
    conn.execute(text("DELETE FROM households"))
    report = import_households(
        conn, first, address_field="address", external_id_field="external_id", commit=True,
        chunk_rows=2,
    )  # fmt: skip
    assert report.plan["count_field"] == "household_count" and report.written == 7
    assert stored(conn) == before
    second = tmp_path / "h2.parquet"
    export_households(conn, second, area="440100002")
    again = gpd.read_parquet(second)
    assert len(again) == 3 and set(again["grid"]) == {"440100002"}
    cols = ["household_count", "address", "external_id", "grid"]
    want = exported[exported["grid"] == "440100002"][cols].reset_index(drop=True)
    assert again[cols].equals(want)
    assert all(shapely.equals_exact(x, y, 0) for x, y in zip(
        again.geometry, exported[exported["grid"] == "440100002"].geometry, strict=True))  # fmt: skip


def test_an_empty_export_and_a_wrong_suffix(conn, tmp_path):
    path = tmp_path / "none.parquet"
    assert export_households(conn, path) == 0
    assert len(gpd.read_parquet(path)) == 0
    with pytest.raises(InvalidInput, match="unknown export format"):
        export_households(conn, tmp_path / "h.csv")
