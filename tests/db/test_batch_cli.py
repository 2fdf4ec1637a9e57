"""``gridgeo batch assign``, ``gridgeo import assignments`` and ``gridgeo batch validate``.

A store holds one city (370705) and its households; the batch runs over households of that
city and of its neighbour (370706, not in this store), on a LocalCluster of threads, with the
grids read from the store's URL. The city then loads the answers: the dry run changes nothing,
the commit gives each of its households the grid ``gridgeo_leaf`` gives it, and the other
city's answers are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import Engine, text

from cli.main import main
from gridgeo.batch.synthetic import City, households
from gridgeo.levels import load_hierarchy
from gridgeo.store import AreaRecord, copy_households, insert_areas
from tests.conftest import _database

WEST = City("370705", 119.0, 36.5)
EAST = City("370706", 119.0 + WEST.side, 36.5)
LEAF = text(
    """
    SELECT h.external_id, f.grid_id FROM households h
    LEFT JOIN LATERAL gridgeo_leaf(h.location) f ON true ORDER BY 1
    """
)
STORED = text(
    """
    SELECT h.external_id, hg.grid_id FROM households h
    LEFT JOIN household_grid hg ON hg.household_id = h.id ORDER BY 1
    """
)


def _records(city: City) -> list[AreaRecord]:
    return [
        AreaRecord(r.code, r.code, r.level, r.geometry, r.parent_code or None)
        for r in city.areas().itertuples()
    ]


@pytest.fixture(scope="module")
def city_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_batch_cli")
    with eng.begin() as conn:
        insert_areas(conn, load_hierarchy(conn), _records(WEST))
        h = households(WEST, 3000, seed=7, margin=0.05)
        pts = shapely.points(h["lon"].to_numpy(), h["lat"].to_numpy())
        copy_households(conn, pts, h["household_count"], external_ids=h["external_id"])
    yield eng
    eng.dispose()


def _parquet(city: City, n: int, seed: int, path: Path) -> None:
    h = households(city, n, seed=seed, margin=0.05)
    pts = shapely.points(h["lon"].to_numpy(), h["lat"].to_numpy())
    gpd.GeoDataFrame(h[["external_id", "household_count"]], geometry=pts, crs=4326).to_parquet(path)


def test_assign_then_import_assignments(city_engine: Engine, monkeypatch, tmp_path: Path) -> None:
    url = city_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", url)
    _parquet(WEST, 3000, 7, tmp_path / "west.parquet")  # the store's households, same ids
    _parquet(EAST, 2000, 8, tmp_path / "east.parquet")
    runner = CliRunner()
    args = ["batch", "assign", "--grids", url, "--households", str(tmp_path / "*.parquet")]
    args += ["--out", str(tmp_path / "out"), "--threads-only", "--workers", "2"]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "5,000 points" in res.output and "outside every grid" in res.output
    summary = json.loads((tmp_path / "out" / "_summary.json").read_text("utf-8"))
    assert summary["points"] == 5000 and summary["workers"] == 2

    with city_engine.connect() as conn:
        before = conn.execute(STORED).all()
        want = conn.execute(LEAF).all()
    dry = runner.invoke(main, ["import", "assignments", str(tmp_path / "out")])
    assert dry.exit_code == 0, dry.output
    assert "5,000 answers; 3,000 are households of this store (2,000 belong elsewhere)" in (
        dry.output
    )
    assert "dry run: nothing written" in dry.output
    with city_engine.connect() as conn:
        assert conn.execute(STORED).all() == before
    done = runner.invoke(main, ["import", "assignments", str(tmp_path / "out"), "--commit"])
    assert done.exit_code == 0, done.output
    with city_engine.connect() as conn:
        assert conn.execute(STORED).all() == want  # gridgeo_leaf's grid, or none outside
        logged = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE entity = 'assignments'")
        ).scalar()
    assert logged == 1

    # answers naming a grid this store lacks: refused, nothing written
    bad = gpd.read_parquet(tmp_path / "out").head(10)
    bad["grid_code"] = pd.array(["999999999999999"] * len(bad), dtype="string")
    bad.to_parquet(tmp_path / "bad.parquet")
    refused = runner.invoke(
        main, ["import", "assignments", str(tmp_path / "bad.parquet"), "--commit"]
    )
    assert refused.exit_code != 0
    assert "grid codes not in this store" in refused.output and "nothing" in refused.output
    with city_engine.connect() as conn:
        assert conn.execute(STORED).all() == want


def test_validate_many_files(city_engine: Engine, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", city_engine.url.render_as_string(False))
    files = []
    for city in (WEST, EAST):
        a = city.areas()
        for level in ("district", "street"):
            part = a[a["level"] == level]
            path = tmp_path / f"{city.district}-{level}.geojson"
            gpd.GeoDataFrame(
                {"code": part["code"], "name": part["code"]}, geometry=part["geometry"], crs=4326
            ).to_file(path)
            files.append(path)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    runner = CliRunner()
    args = ["batch", "validate", *map(str, files[:3]), str(broken), "--level", "street"]
    args += ["--csv", str(tmp_path / "t.csv"), "--json", str(tmp_path / "t.json")]
    res = runner.invoke(main, [*args, "--threads-only", "--workers", "2"])
    assert res.exit_code == 1, res.output
    rows = {Path(r["file"]).name: r for r in json.loads((tmp_path / "t.json").read_text("utf-8"))}
    west_streets = rows["370705-street.geojson"]
    assert west_streets["kinds"] == {"duplicate_in_store": 4}  # stored already
    assert rows["370706-district.geojson"]["kinds"].get("malformed_code") == 1  # not a street
    assert "failure" in rows["broken.geojson"] and not rows["broken.geojson"]["ok"]
    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table["file"].map(lambda f: Path(f).name)) == [
        "370705-district.geojson",
        "370705-street.geojson",
        "370706-district.geojson",
        "broken.geojson",
    ]
    assert "4 files" in res.output and "duplicate_in_store" in res.output
    # the east city's streets: their district is not stored here, so no parent
    east = runner.invoke(main, ["batch", "validate", str(files[3]), "--level", "street"])
    assert east.exit_code == 1 and "4 missing_parent" in east.output
