"""import_grids and read_features against a real PostGIS: tiny squares written to tmp files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon, box
from sqlalchemy import Connection, text

from boundaries import ImportRejected, import_grids, read_features
from gridgeo.errors import InvalidInput

# a 4 x 4 km district near Guangzhou (114°E is the central meridian of EPSG:4547)
LON, LAT, D = 113.9, 23.1, 0.01  # D ≈ 1 km
M = 1e-5  # ≈ 1 m


def cell(i: float, j: float, w: float = 2, h: float = 2) -> Polygon:
    return box(LON + i * D, LAT + j * D, LON + (i + w) * D, LAT + (j + h) * D)


DISTRICT = cell(0, 0, 4, 4)
STREETS = [cell(0, 0), cell(2, 0), cell(0, 2), cell(2, 2)]


def write(tmp_path: Path, name: str, rows: list[dict], crs: str = "EPSG:4326", **kw) -> Path:
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").to_crs(crs)
    path = tmp_path / name
    gdf.to_file(path, **kw)
    return path


def streets(codes: list[str], geoms: list[Polygon] | None = None, **extra) -> list[dict]:
    geoms = geoms or STREETS
    return [
        {"code": c, "name": f"街道{c[-3:]}", "geometry": g, **{k: v[i] for k, v in extra.items()}}
        for i, (c, g) in enumerate(zip(codes, geoms, strict=True))
    ]


def count(conn: Connection, where: str = "TRUE") -> int:
    return conn.execute(text(f"SELECT count(*) FROM grids WHERE {where}")).scalar_one()


@pytest.fixture
def district(conn: Connection, tmp_path: Path) -> Path:
    path = write(
        tmp_path, "district.geojson", [{"code": "440100", "name": "区", "geometry": DISTRICT}]
    )
    rep = import_grids(conn, path, "district", commit=True, tolerance_m=1.0)
    assert rep.committed and rep.written == 1 and rep.problems == []
    return path


def kinds(rep) -> list[tuple[int | None, str]]:
    return [(p.index, p.kind) for p in rep.problems]


def test_district_then_streets_linked_by_code(conn, tmp_path, district):
    path = write(tmp_path, "streets.geojson", streets([f"440100{i:03d}" for i in range(1, 5)]))
    before = count(conn)
    dry = import_grids(conn, path, "street", tolerance_m=1.0)
    assert count(conn) == before and not dry.committed and dry.written == 0
    assert dry.problems == [] and dry.plan["insert"] == {"street": 4}
    assert dry.plan["linked_by"] == {"code": 4} and dry.plan["parents"] == {"440100": 4}
    assert "dry run: nothing written" in dry.to_text()
    rep = import_grids(conn, path, "street", commit=True, tolerance_m=1.0)
    assert rep.committed and rep.written == 4
    linked = count(conn, "parent_id = (SELECT id FROM grids WHERE code = '440100')")
    assert linked == 4


def test_link_by_parent_field_and_unknown_parent(conn, tmp_path, district):
    rows = streets(["440100001", "440100002"], STREETS[:2], up=["440100", "440199"])
    path = write(tmp_path, "s.gpkg", rows)
    rep = import_grids(conn, path, "street", parent_field="up", tolerance_m=1.0)
    assert kinds(rep) == [(1, "missing_parent"), (None, "gap")]
    assert "'440199'" in rep.errors[0].message
    assert rep.plan["linked_by"] == {"field": 1}
    with pytest.raises(
        InvalidInput, match="no field parent_field='parent'; the fields are: code, name, up"
    ):
        import_grids(conn, path, "street", parent_field="parent", tolerance_m=1.0)


def test_link_by_containment(conn, tmp_path, district):
    # codes under a district that is not stored: the parent is found by overlap in PostGIS
    far = box(LON + 10 * D, LAT, LON + 11 * D, LAT + D)
    path = write(tmp_path, "s.geojson", streets(["440300001", "440300002"], [STREETS[0], far]))
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    assert kinds(rep) == [(0, "code_prefix"), (1, "missing_parent"), (None, "gap")]
    assert (
        rep.problems[0].severity == "warning" and "linked by containment" in rep.problems[0].message
    )
    assert rep.plan["linked_by"] == {"containment": 1}
    path = write(tmp_path, "ok.geojson", streets(["440300001"], [STREETS[0]]))
    rep = import_grids(conn, path, "street", commit=True, tolerance_m=1.0)
    assert rep.committed and [p.kind for p in rep.problems] == ["code_prefix", "gap"]
    parent = conn.execute(
        text(
            "SELECT p.code FROM grids c JOIN grids p ON p.id = c.parent_id WHERE c.code = '440300001'"
        )
    ).scalar_one()
    assert parent == "440100"


def test_crs_gpkg_4490_and_shapefile_4547_round_to_4326(conn, tmp_path):
    rows = streets(["440100001", "440100002"], [STREETS[0], cell(1.3, 2.7, 0.7, 0.9)])
    want = np.array([r["geometry"] for r in rows], dtype=object)
    gpkg = write(tmp_path, "cgcs.gpkg", rows, crs="EPSG:4490")
    shp = write(tmp_path, "gk.shp", rows, crs="EPSG:4547")
    zipped = tmp_path / "gk.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in tmp_path.glob("gk.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    for path in (gpkg, shp, zipped):
        gdf = read_features(path)
        assert gdf.crs.to_epsg() == 4326 and list(gdf["code"]) == ["440100001", "440100002"]
        got = np.asarray(gdf.geometry.values, dtype=object)
        assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(want), 1e-7).all(), (
            path
        )
    assert gpd.read_file(shp).crs.to_epsg() == 4547


def test_reader_errors_name_the_file(tmp_path):
    with pytest.raises(InvalidInput, match=r"nope\.geojson: file not found"):
        read_features(tmp_path / "nope.geojson")
    (tmp_path / "a.kml").write_text("<kml/>")
    with pytest.raises(InvalidInput, match=r"a\.kml: unknown format '\.kml'"):
        read_features(tmp_path / "a.kml")
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(InvalidInput, match=r"bad\.geojson: cannot read the file"):
        read_features(tmp_path / "bad.geojson")
    (tmp_path / "t.csv").write_text("code,name\n1,a\n")
    with pytest.raises(
        InvalidInput, match=r"t\.csv: no longitude column .* the columns are: code, name"
    ):
        read_features(tmp_path / "t.csv")
    (tmp_path / "proj.csv").write_text("x,y\n500000,2550000\n")
    with pytest.raises(InvalidInput, match="do not hold longitude/latitude"):
        read_features(tmp_path / "proj.csv")
    assert read_features(tmp_path / "proj.csv", crs="EPSG:4547").geometry[0].x == pytest.approx(
        114, abs=0.01
    )
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(500000, 2550000, 501000, 2551000)])
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(tmp_path / "nocrs.shp")
    with pytest.raises(InvalidInput, match=r"nocrs\.shp: declares no CRS .* EPSG:4547"):
        read_features(tmp_path / "nocrs.shp")
    pyogrio.write_dataframe(pd.DataFrame({"a": [1]}), tmp_path / "table.gpkg")
    with pytest.raises(InvalidInput, match=r"table\.gpkg: no geometry column \(columns: a\)"):
        read_features(tmp_path / "table.gpkg")


def test_dry_run_writes_nothing_and_commit_with_error_raises(conn, tmp_path, district):
    rows = streets(["440100001", "44010002"], STREETS[:2])  # the second code is 8 digits
    path = write(tmp_path, "s.geojson", rows)
    before = count(conn)
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    assert kinds(rep) == [(1, "malformed_code"), (None, "gap")]
    assert count(conn) == before
    with pytest.raises(ImportRejected) as err:
        import_grids(conn, path, "street", commit=True, tolerance_m=1.0)
    assert isinstance(err.value, InvalidInput) and count(conn) == before
    assert err.value.detail["report"]["errors"] == 1 and "nothing written" in err.value.message
    assert "ERROR   #1 44010002 malformed_code" in err.value.report.to_text()


def test_child_outside_parent_beyond_tolerance(conn, tmp_path, district):
    out10 = box(LON, LAT - 10 * M, LON + 2 * D, LAT + 2 * D)  # 10 m below the district
    out05 = box(LON + 2 * D, LAT - 0.5 * M, LON + 4 * D, LAT + 2 * D)  # 0.5 m: within 1 m
    path = write(tmp_path, "s.geojson", streets(["440100001", "440100002"], [out10, out05]))
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    bad = [p for p in rep.problems if p.kind == "outside_parent"]
    assert [p.index for p in bad] == [0]
    # a 2 km x (11 m - 1 m tolerance) strip (1e-5° of latitude is 1.107 m here)
    assert bad[0].area_m2 == pytest.approx(2048 * (11.07 - 1), rel=0.02)
    assert bad[0].location[1] < LAT and "outside parent 440100" in bad[0].message
    rep = import_grids(conn, path, "street", tolerance_m=12)
    assert not [p for p in rep.problems if p.kind == "outside_parent"]


def test_overlapping_siblings_in_file_and_in_store(conn, tmp_path, district):
    first = write(tmp_path, "a.geojson", streets(["440100001"], [STREETS[0]]))
    import_grids(conn, first, "street", commit=True, tolerance_m=1.0)
    wide = cell(1.5, 0, 2.5, 2)  # 500 m into the stored 001
    thin = box(LON + 2 * D, LAT + 2 * D - 0.5 * M, LON + 4 * D, LAT + 4 * D)  # 0.5 m into 002
    path = write(tmp_path, "b.geojson", streets(["440100002", "440100004"], [wide, thin]))
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    overlaps = [
        (p.index, p.kind, p.severity, p.message) for p in rep.problems if "overlap" in p.kind
    ]
    assert overlaps == [
        (0, "overlap", "error", overlaps[0][3]),
        (1, "sliver_overlap", "warning", overlaps[1][3]),
    ]
    store = next(p for p in rep.problems if p.kind == "overlap")
    assert "stored 440100001" in store.message
    assert store.area_m2 == pytest.approx(0.5 * 1024 * 2 * 1110, rel=0.05)  # ~0.5 km x 2.2 km
    lon, lat = store.location
    assert LON + 1.5 * D < lon < LON + 2 * D and LAT < lat < LAT + 2 * D
    assert "#0 440100002" in overlaps[1][3] and "thinner than 1 m" in overlaps[1][3]


def test_duplicate_code_against_store_and_in_file(conn, tmp_path, district):
    path = write(tmp_path, "s.geojson", streets(["440100", "440100001", "440100001"], STREETS[:3]))
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    found = {(p.index, p.kind) for p in rep.errors}
    assert {(0, "duplicate_in_store"), (0, "malformed_code"), (2, "duplicate_code")} <= found
    assert "a current district with code '440100' is stored" in rep.to_text()


def test_fix_repairs_a_bowtie(conn, tmp_path, district):
    bowtie = Polygon(
        [(LON, LAT), (LON + 2 * D, LAT + 2 * D), (LON + 2 * D, LAT), (LON, LAT + 2 * D)]
    )
    path = write(tmp_path, "s.geojson", streets(["440100001"], [bowtie]))
    rep = import_grids(conn, path, "street", tolerance_m=1.0)
    assert kinds(rep)[0] == (0, "invalid_geometry") and "Self-intersection" in rep.errors[0].message
    with pytest.raises(ImportRejected):
        import_grids(conn, path, "street", commit=True, tolerance_m=1.0)
    rep = import_grids(conn, path, "street", commit=True, fix=True, tolerance_m=1.0)
    assert rep.committed and rep.errors == []
    fixed = rep.warnings[0]
    assert fixed.kind == "fixed" and "→ MultiPolygon of 2 parts" in fixed.message
    got = conn.execute(
        text("SELECT ST_IsValid(geom), ST_NumGeometries(geom) FROM grids WHERE code = '440100001'")
    ).one()
    assert tuple(got) == (True, 2)


def test_workers_field_and_gap_warning(conn, tmp_path, district):
    rows = streets(["440100001", "440100002"], STREETS[:2], staff=[3, -1])
    path = write(tmp_path, "s.geojson", rows)
    rep = import_grids(conn, path, "street", workers_field="staff", tolerance_m=1.0)
    assert kinds(rep) == [(1, "bad_value"), (None, "gap")]
    gap = rep.problems[-1]
    assert gap.code == "440100" and gap.severity == "warning"
    assert gap.area_m2 == pytest.approx(4 * 1024 * 2 * 1107, rel=0.02)  # the upper half
