"""``gridgeo import households FILE.parquet`` (dry run, commit) and ``gridgeo export
households|buildings|grids`` to GeoParquet, end to end on their own committed database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import Engine, text

from tests.plan_city import box, cli_runner, plan_city_database


@pytest.fixture(scope="module")
def city_engine(pg_server: str) -> Iterator[Engine]:
    yield from plan_city_database(pg_server, "gridgeo_load_cli")


@pytest.fixture
def gridgeo(city_engine: Engine, monkeypatch: pytest.MonkeyPatch):
    return cli_runner(city_engine, monkeypatch)


def test_import_households_parquet_then_export_everything(gridgeo, city_engine, tmp_path: Path):
    with city_engine.connect() as conn:
        grids = list(conn.execute(text(
            "SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.key = 'grid' ORDER BY g.code")).scalars())  # fmt: skip
    points = []
    for code in grids:
        x0, y0, x1, y1 = box(code)
        points.append(((x0 + x1) / 2, (y0 + y1) / 2))
    n = len(points)
    gdf = gpd.GeoDataFrame(
        {"户数": [3] * n, "address": [f"幸福路{i}号" for i in range(n)],
         "id": [f"cli-{i}" for i in range(n)]},
        geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
        crs="EPSG:4326",
    )  # fmt: skip
    src = tmp_path / "h.parquet"
    gdf.to_parquet(src)
    args = ("import", "households", str(src), "--address-field", "address",
            "--external-id-field", "id", "--chunk-rows", "2")  # fmt: skip
    out = gridgeo(*args)
    assert f"{n} features read" in out and "dry run" in out
    out = gridgeo(*args, "--commit")
    assert f"committed: {n} rows written" in out
    assert "household points in a grid, 0 outside every grid" in out
    again = gridgeo(*args, "--commit", ok=False)
    assert "external_id_in_store" in again and "库中已有相同外部编号的住户" in again

    households = tmp_path / "out" / "households.parquet"
    assert "household points written" in gridgeo("export", "households", "--out", str(households))
    back = gpd.read_parquet(households)
    mine = back[back["external_id"].str.startswith("cli-", na=False)].sort_values("external_id")
    assert sorted(mine["grid"]) == grids and set(mine["household_count"]) == {3}
    assert list(mine["address"]) == [f"幸福路{i}号" for i in range(n)]
    assert "0 buildings written" in gridgeo(
        "export", "buildings", "--out", str(tmp_path / "b.parquet")
    )
    gridgeo("export", "grids", "--level", "grid", "--out", str(tmp_path / "g.parquet"))
    assert sorted(gpd.read_parquet(tmp_path / "g.parquet")["code"]) == grids
