"""The streaming household import against a real PostGIS: every format read in chunks, row
numbers across chunks, dry runs, and all or nothing when a chunk fails (issue 19)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import Point, box
from sqlalchemy import Connection, text

from boundaries import ImportRejected, import_grids, import_households
from boundaries.chunks import XY, open_chunks
from gridgeo.errors import Conflict
from gridgeo.store import copy_households

LON, LAT, D = 113.9, 23.1, 0.01
N = 7  # rows per file; read 3 at a time: chunks of 3, 3, 1


@pytest.fixture
def streets(conn: Connection, tmp_path: Path) -> None:
    """District 440100 split into streets 440100001 (west) and 440100002 (east)."""
    for name, level, rows in [
        ("d.geojson", "district", [("440100", box(LON, LAT, LON + 2 * D, LAT + D))]),
        ("s.geojson", "street", [("440100001", box(LON, LAT, LON + D, LAT + D)),
                                 ("440100002", box(LON + D, LAT, LON + 2 * D, LAT + D))]),
    ]:  # fmt: skip
        gdf = gpd.GeoDataFrame(
            {"code": [c for c, _ in rows], "name": [c for c, _ in rows]},
            geometry=[g for _, g in rows],
            crs="EPSG:4326",
        )
        gdf.to_file(tmp_path / name)
        import_grids(conn, tmp_path / name, level, commit=True, tolerance_m=1.0)


@pytest.fixture(params=[False, True], ids=["row-by-row", "bulk"])
def bulk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of loading: row by row, and bulk (GiST index and foreign keys rebuilt)."""
    if request.param:
        monkeypatch.setattr("gridgeo.bulk_load.BULK_MIN_ROWS", 1)
    return bool(request.param)


def frame(**changes: object) -> gpd.GeoDataFrame:
    """N households alternating between the two streets; ``changes`` overrides columns."""
    x = [LON + (0.3 if i % 2 == 0 else 1.6) * D for i in range(N)]
    data: dict[str, object] = {
        "ext": [f"h{i}" for i in range(N)],
        "households": [i + 1 for i in range(N)],
        "addr": [f"幸福路{i}号" for i in range(N)],
    }
    data |= changes
    geometry = [Point(xi, LAT + 0.5 * D) for xi in x]
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """The frame in the format of ``path``'s suffix (CSV: lon/lat columns)."""
    if path.suffix == ".parquet":
        gdf.to_parquet(path)
    elif path.suffix == ".csv":
        df = gdf.drop(columns="geometry").assign(lon=gdf.geometry.x, lat=gdf.geometry.y)
        df.to_csv(path, index=False)
    else:
        gdf.to_file(path)
    return path


def stored(conn: Connection) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                """
                SELECT h.external_id, h.household_count, h.address, g.code
                FROM households h LEFT JOIN household_grid a ON a.household_id = h.id
                LEFT JOIN grids g ON g.id = a.grid_id ORDER BY h.external_id
                """
            )
        ).all()
    ]


def table_intact(conn: Connection) -> tuple[int, int]:
    """(GiST indexes, foreign keys) of households: (1, 2) when the schema is whole."""
    gist = conn.execute(
        text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'households' "
            "AND indexdef LIKE '%USING gist%'"
        )
    ).scalar()
    fks = conn.execute(
        text(
            "SELECT count(*) FROM pg_constraint "
            "WHERE conrelid = 'households'::regclass AND contype = 'f'"
        )
    ).scalar()
    return int(gist or 0), int(fks or 0)


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".geojson", ".csv"])
def test_each_format_streams_in_chunks(conn, tmp_path, streets, bulk, suffix):
    path = write(frame(), tmp_path / f"h{suffix}")
    report = import_households(
        conn, path, address_field="addr", external_id_field="ext", commit=True, chunk_rows=3
    )
    assert report.ok and report.committed
    assert report.features == N and report.written == N
    assert report.plan["household_count"] == sum(range(1, N + 1))
    assert report.plan["bulk"] is bulk
    assert report.assignment is not None and report.assignment["assigned"] == N
    rows = stored(conn)
    assert [r[0] for r in rows] == [f"h{i}" for i in range(N)]
    assert [r[1] for r in rows] == list(range(1, N + 1))
    assert rows[3][2] == "幸福路3号"
    assert [r[3] for r in rows] == ["440100001" if i % 2 == 0 else "440100002" for i in range(N)]
    assert table_intact(conn) == (1, 2)


def test_a_bad_row_in_a_later_chunk_is_named_by_its_row_and_nothing_is_written(
    conn, tmp_path, streets, bulk
):
    # row 4 (second chunk): a count of 0; row 5: no location; row 6 (third chunk): the
    # external id of row 1 (first chunk) again; row 2: a count above what the store holds
    gdf = frame(
        households=[1, 1, 2**31, 1, 0, 1, 1], ext=["h0", "h1", "h2", "h3", "h4", "h5", "h1"]
    )
    gdf.loc[5, "geometry"] = None
    path = write(gdf, tmp_path / "bad.parquet")
    with pytest.raises(ImportRejected) as caught:
        import_households(conn, path, external_id_field="ext", commit=True, chunk_rows=3)
    report = caught.value.report
    got = [(p.index, p.kind) for p in report.errors]
    assert got == [
        (2, "bad_value"),
        (4, "bad_value"),
        (5, "empty_geometry"),
        (6, "duplicate_external_id"),
    ]
    assert "repeats feature #1" in report.errors[-1].message
    assert (
        "#4 h4 bad_value: households '0' is not a whole number ≥ 1 and ≤ 2147483647 (字段值类型或范围不对)"
        in (report.to_text())
    )
    assert report.features == N  # the whole file was checked after the first error
    assert stored(conn) == []
    assert table_intact(conn) == (1, 2)


def test_the_report_is_the_same_whatever_the_chunk_size(conn, tmp_path, streets):
    gdf = frame(ext=["a", "b", "a", "c", "b", "d", "a"], households=[1, 0, 1, 1, 1, 1, 1])
    path = write(gdf, tmp_path / "h.csv")
    reports = [
        [p.to_text() for p in import_households(
            conn, path, external_id_field="ext", chunk_rows=k).problems]
        for k in (1, 2, 3, N)
    ]  # fmt: skip
    assert all(r == reports[-1] for r in reports)
    assert len(reports[-1]) == 4


def test_dry_run_writes_nothing(conn, tmp_path, streets):
    path = write(frame(), tmp_path / "h.gpkg")
    before = conn.execute(text("SELECT count(*) FROM households")).scalar()
    report = import_households(conn, path, external_id_field="ext", chunk_rows=2)
    assert report.ok and not report.committed and report.written == 0
    assert report.features == N and report.plan["insert"] == {"households": N}
    assert conn.execute(text("SELECT count(*) FROM households")).scalar() == before


def test_a_store_refusal_in_the_last_chunk_leaves_nothing(conn, tmp_path, streets, bulk):
    # PostgreSQL text cannot hold a NUL byte: the store refuses the last chunk's row after
    # the first two chunks were written
    addr = [f"路{i}号" for i in range(N)]
    addr[-1] = "坏\x00地址"
    path = write(frame(addr=addr), tmp_path / "nul.parquet")
    with pytest.raises(Conflict, match="nothing written"):
        import_households(conn, path, address_field="addr", commit=True, chunk_rows=3)
    assert stored(conn) == []
    assert table_intact(conn) == (1, 2)


def test_copy_households_is_all_or_nothing_on_a_unique_violation_in_the_last_chunk(conn, bulk):
    points = shapely.points(np.full(5, LON), np.full(5, LAT))
    ids = ["u1", "u2", "u3", "u4", "u1"]  # the last chunk repeats the first id
    with pytest.raises(psycopg.errors.UniqueViolation):
        with conn.begin_nested():
            copy_households(conn, points, [1] * 5, external_ids=ids, chunk_rows=2)
    assert conn.execute(text("SELECT count(*) FROM households")).scalar() == 0
    assert table_intact(conn) == (1, 2)
    assert copy_households(conn, points[:4], [1] * 4, external_ids=ids[:4], chunk_rows=2) == 4
    assert table_intact(conn) == (1, 2)


def test_text_with_tabs_quotes_newlines_and_backslashes_is_stored_as_written(
    conn, tmp_path, streets
):
    addr = ['他说"你好",\t好的', "一行\n两行", "C:\\路\\1号", "", None, "\\N", "幸福路7号"]
    path = write(frame(addr=addr), tmp_path / "text.parquet")
    import_households(
        conn, path, address_field="addr", external_id_field="ext", commit=True, chunk_rows=3
    )
    got = [r[2] for r in stored(conn)]
    # a blank address is no address (as_strings), so "" and None are both stored as NULL
    assert got == ['他说"你好",\t好的', "一行\n两行", "C:\\路\\1号", None, None, "\\N", "幸福路7号"]


def test_geoparquet_points_read_as_coordinates_get_the_same_report(conn, tmp_path, streets):
    gdf = frame()
    gdf.loc[1, "geometry"] = Point(200.0, LAT)  # longitude out of range
    gdf.loc[4, "geometry"] = Point()  # an empty point: NaN, NaN in WKB
    parquet, gpkg = write(gdf, tmp_path / "p.parquet"), write(gdf, tmp_path / "p.geojson")
    _, first = next(iter(open_chunks(parquet, chunk_rows=3)))
    assert XY in first.attrs  # the fast path: no shapely objects for the points
    assert XY not in next(iter(open_chunks(gpkg, chunk_rows=3)))[1].attrs
    texts = [
        [p.to_text() for p in import_households(conn, f, external_id_field="ext",
                                                chunk_rows=3).problems]
        for f in (parquet, gpkg)
    ]  # fmt: skip
    assert texts[0] == texts[1]
    assert [t.split()[1] for t in texts[0]] == ["#1", "#4"]
    ok = write(frame(), tmp_path / "ok.parquet")
    import_households(conn, ok, address_field="addr", external_id_field="ext", commit=True)
    rows = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id"))
    want = [(g.x, g.y) for g in frame().geometry]
    assert [tuple(r) for r in rows] == want
