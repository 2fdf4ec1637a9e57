"""import_households against a real PostGIS: CSV and GeoJSON points over two tiny streets."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from sqlalchemy import Connection, text

from boundaries import ImportRejected, import_grids, import_households
from gridgeo.errors import InvalidInput

LON, LAT, D = 113.9, 23.1, 0.01


@pytest.fixture
def streets(conn: Connection, tmp_path: Path) -> None:
    """District 440100 split into streets 440100001 (west) and 440100002 (east)."""
    for name, level, rows in [
        ("d.geojson", "district", [("440100", box(LON, LAT, LON + 2 * D, LAT + D))]),
        (
            "s.geojson",
            "street",
            [
                ("440100001", box(LON, LAT, LON + D, LAT + D)),
                ("440100002", box(LON + D, LAT, LON + 2 * D, LAT + D)),
            ],
        ),
    ]:
        gdf = gpd.GeoDataFrame(
            {"code": [c for c, _ in rows], "name": [c for c, _ in rows]},
            geometry=[g for _, g in rows],
            crs="EPSG:4326",
        )
        gdf.to_file(tmp_path / name)
        import_grids(conn, tmp_path / name, level, commit=True, tolerance_m=1.0)


def households(conn: Connection) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                """
                SELECT h.external_id, h.household_count, h.address, g.code
                FROM households h LEFT JOIN household_grid a ON a.household_id = h.id LEFT JOIN grids g ON g.id = a.grid_id ORDER BY h.external_id
                """
            )
        ).all()
    ]


def test_csv_lon_lat_dry_run_then_commit_assigns(conn, tmp_path, streets):
    path = tmp_path / "h.csv"
    path.write_text(
        "id,lng,latitude,hh,addr\n"
        f"a1,{LON + 0.2 * D},{LAT + 0.5 * D},3,幸福路1号\n"
        f"a2,{LON + 1.5 * D},{LAT + 0.5 * D},1,\n"
        f"a3,{LON + 5 * D},{LAT + 0.5 * D},2,outside\n",
        encoding="utf-8",
    )
    kw = {"count_field": "hh", "address_field": "addr", "external_id_field": "id"}
    dry = import_households(conn, path, **kw)
    assert dry.problems == [] and dry.plan == {
        "insert": {"households": 3},
        "household_count": 6,
        "count_field": "hh",
    }
    assert households(conn) == []
    rep = import_households(conn, path, commit=True, **kw)
    assert rep.committed and rep.written == 3
    assert rep.assignment == {"households": 3, "assigned": 2, "unassigned": 1, "changed": 2}
    assert households(conn) == [
        ("a1", 3, "幸福路1号", "440100001"),
        ("a2", 1, None, "440100002"),
        ("a3", 2, "outside", None),
    ]
    assert "2 of 3 household points in a grid" in rep.to_text()
    # again in the same transaction: every id is now taken
    again = import_households(conn, path, **kw)
    assert [p.kind for p in again.errors] == ["external_id_in_store"] * 3


def test_geojson_points_and_second_import_in_same_transaction(conn, tmp_path, streets):
    for i, name in enumerate(["p1.geojson", "p2.geojson"]):
        gpd.GeoDataFrame(
            {"n": [2, 4]},
            geometry=[
                Point(LON + 0.5 * D, LAT + 0.1 * D * (i + 1)),
                Point(LON + 1.5 * D, LAT + 0.5 * D),
            ],
            crs="EPSG:4326",
        ).to_file(tmp_path / name)
        rep = import_households(conn, tmp_path / name, count_field="n", commit=True)
        assert rep.committed and rep.assignment is not None
        assert rep.assignment["assigned"] == rep.assignment["households"] == 2 * (i + 1)
    total = conn.execute(text("SELECT sum(household_count) FROM households")).scalar_one()
    assert total == 12


def test_bad_coordinates_and_counts_write_nothing(conn, tmp_path, streets):
    path = tmp_path / "bad.csv"
    path.write_text(
        "lon,lat,n,ext\n"
        f"{LON},{LAT},1,x\n"
        f"{LON},95,1,y\n"
        f"abc,{LAT},1,z\n"
        f"{LON},{LAT},0,x\n"
        f"{LON},{LAT},2.5,w\n"
    )
    kw = {"count_field": "n", "external_id_field": "ext"}
    rep = import_households(conn, path, **kw)
    assert [(p.index, p.kind) for p in rep.errors] == [
        (1, "bad_coordinates"),
        (2, "empty_geometry"),
        (3, "bad_value"),
        (3, "duplicate_external_id"),
        (4, "bad_value"),
    ]
    assert "latitude 95 outside" in rep.errors[0].message
    with pytest.raises(ImportRejected, match="5 errors, nothing written"):
        import_households(conn, path, commit=True, **kw)
    assert conn.execute(text("SELECT count(*) FROM households")).scalar_one() == 0


def test_missing_fields_are_named(conn, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(f"x_coord,y_coord\n{LON},{LAT}\n")
    with pytest.raises(InvalidInput, match="no longitude column .* x_coord, y_coord"):
        import_households(conn, path)
    rep = import_households(conn, path, lon_field="x_coord", lat_field="y_coord")
    assert rep.ok and rep.features == 1
    with pytest.raises(InvalidInput, match="no field count_field='hh'; the fields are: x_coord"):
        import_households(conn, path, lon_field="x_coord", lat_field="y_coord", count_field="hh")


@pytest.mark.parametrize("name", ["households", " 户数 ", "Household_Count"])
def test_a_count_field_with_a_usual_name_is_detected(conn, tmp_path, streets, name):
    path = tmp_path / "h.csv"
    path.write_text(
        f"lon,lat,{name}\n{LON + 0.2 * D},{LAT + 0.5 * D},3\n{LON + 1.5 * D},{LAT + 0.5 * D},5\n",
        encoding="utf-8",
    )
    rep = import_households(conn, path, commit=True)
    assert rep.plan["count_field"] == name and rep.plan["household_count"] == 8
    assert f"household counts from the field '{name}': 8 in all" in rep.summary()
    total = conn.execute(text("SELECT sum(household_count) FROM households")).scalar_one()
    assert total == 8


def test_without_a_count_field_the_report_says_one_per_point(conn, tmp_path, streets):
    path = tmp_path / "h.csv"
    path.write_text(f"lon,lat,people\n{LON + 0.2 * D},{LAT + 0.5 * D},3\n", encoding="utf-8")
    rep = import_households(conn, path)
    assert rep.plan["count_field"] is None and rep.plan["household_count"] == 1
    assert "1 per point" in rep.summary() and "--count-field" in rep.summary()
    # an explicit --count-field wins over a detected one
    path.write_text(f"lon,lat,households,n\n{LON + 0.2 * D},{LAT + 0.5 * D},3,7\n")
    assert import_households(conn, path, count_field="n").plan["household_count"] == 7
