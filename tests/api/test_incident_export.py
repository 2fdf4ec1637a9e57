"""Incidents exported with their classification code: API and command line, every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import geopandas as gpd
import pytest
from click.testing import CliRunner

from cli.main import main
from gridgeo.accounts import Account
from gridgeo.incidents.codes import import_classification
from gridgeo.incidents.report import Report, report
from tests.api.incident_city import GRID_A, GRID_B, make_users

TABLE = "代码,名称,label_en,key\n1101010101,市容环境-暴露垃圾,exposed rubbish,sanitation\n"
ADMIN = Account(0, "admin", "admin", ())
AT = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 on 30 November in China


@pytest.fixture
def city(conn):
    users = make_users(conn)
    import_classification(conn, TABLE, commit=True, actor="test")
    a = report(conn, Report(116.35, 39.90, "sanitation", description="垃圾满了"),
               account=ADMIN, now=AT, snap_m=200)  # fmt: skip
    b = report(conn, Report(116.45, 39.90, "dispute", description="邻里纠纷"),
               account=ADMIN, now=AT.replace(day=1), snap_m=200)  # fmt: skip
    return users, a[0], b[0]


def test_csv_carries_the_code_the_state_words_and_china_time(client, city):
    users, a, b = city
    r = client.get("/export/incidents", params={"format": "csv"}, headers=users["admin"])
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="incidents.csv"'
    assert r.content.startswith("\ufeff".encode())  # Excel reads the Chinese as UTF-8
    rows = {int(x["id"]): x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert set(rows) == {a, b}
    row = rows[a]
    assert (row["category_code"], row["category_zh"]) == ("1101010101", "市容环境-暴露垃圾")
    assert (row["state"], row["state_zh"], row["state_en"]) == ("reported", "已上报", "reported")
    assert row["reported_at"] == "2026-11-30T23:30:00+08:00"
    assert row["grid"] == GRID_A and row["description"] == "垃圾满了"
    assert rows[b]["category_code"] == ""  # dispute has no code


def test_areas_names_and_filters_are_the_lists(client, city):
    users, a, b = city
    viewer = client.get("/export/incidents", params={"format": "geojson"}, headers=users["viewer"])
    features = viewer.json()["features"]
    assert [f["id"] for f in features] == [a]  # street A only
    assert features[0]["properties"]["reporter"] is None  # a viewer sees no names
    assert features[0]["geometry"]["coordinates"] == [116.35, 39.9]
    admin = client.get("/export/incidents", params={"format": "geojson"}, headers=users["admin"])
    assert {f["properties"]["reporter"] for f in admin.json()["features"]} == {"admin"}
    # a date as the upper bound includes its whole day (China time)
    day = client.get("/export/incidents", params={"from": "2026-11-30", "to": "2026-11-30"},
                     headers=users["admin"])  # fmt: skip
    assert [int(x["id"]) for x in csv.DictReader(io.StringIO(day.content.decode("utf-8-sig")))] == [
        a
    ]
    r = client.get("/export/incidents", params={"area": GRID_B}, headers=users["viewer"])
    assert r.status_code == 403
    r = client.get("/export/incidents", params={"from": "yesterday"}, headers=users["admin"])
    assert r.status_code == 400 and r.json()["field"] == "from"
    r = client.get("/export/incidents", params={"state": "lost"}, headers=users["admin"])
    assert r.status_code == 400 and "unknown state" in r.text


def test_geopackage_and_the_command_line(client, city, engine, conn, tmp_path):
    users, a, b = city
    r = client.get("/export/incidents", params={"format": "gpkg"}, headers=users["admin"])
    path = tmp_path / "x.gpkg"
    path.write_bytes(r.content)
    frame = gpd.read_file(path, layer="incidents")
    assert sorted(frame["id"]) == sorted([a, b]) and frame.crs.to_epsg() == 4326
    assert set(frame["category_code"].dropna()) == {"1101010101"}
    r = client.get("/export/incidents", params={"format": "parquet"}, headers=users["viewer"])
    assert r.status_code == 200 and r.content[:4] == b"PAR1"
    path = tmp_path / "x.parquet"
    path.write_bytes(r.content)
    frame = gpd.read_parquet(path)  # GeoParquet: the geometry and its CRS come back
    assert list(frame["id"]) == [a] and frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].x == 116.35 and frame["reporter"].isna().all()


def test_command_line_writes_geojson(tmp_path, engine, monkeypatch):
    out = tmp_path / "incidents.geojson"
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", engine.url.render_as_string(False))
    done = CliRunner().invoke(
        main, ["export", "incidents", "--out", str(out), "--to", "2026-01-01"]
    )
    assert done.exit_code == 0, done.output
    assert "incidents written" in done.output
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    bad = CliRunner().invoke(main, ["export", "incidents", "--out", str(tmp_path / "x.txt")])
    assert bad.exit_code != 0 and "unknown export format" in bad.output
