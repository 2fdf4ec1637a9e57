"""``gridgeo import buildings``, ``import households --addresses``, ``buildings``, ``locate
--building`` and a plan moving units, end to end on their own committed database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.plan_city import A, B, C, box, cli_runner, plan_city_database


@pytest.fixture(scope="module")
def city_engine(pg_server: str) -> Iterator[Engine]:
    yield from plan_city_database(pg_server, "gridgeo_buildings_cli")


@pytest.fixture
def gridgeo(city_engine: Engine, monkeypatch: pytest.MonkeyPatch):
    return cli_runner(city_engine, monkeypatch)


def test_import_list_locate_and_split(gridgeo, tmp_path: Path) -> None:
    x0, y0, x1, y1 = box(A)
    cx, cy, d = (x0 + x1) / 2, (y0 + y1) / 2, 0.0001
    ring = [
        [cx - d, cy - d],
        [cx + d, cy - d],
        [cx + d, cy + d],
        [cx - d, cy + d],
        [cx - d, cy - d],
    ]
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"编号": "T-3", "楼号": "3", "小区": "幸福小区", "单元数": 2, "户数": 100}}]}),
        "utf-8")  # fmt: skip
    out = gridgeo("import", "buildings", str(path))
    assert "dry run" in out and "1 buildings, 2 units" in out
    gridgeo("import", "buildings", str(path), "--commit")
    csv = tmp_path / "a.csv"
    csv.write_text("address\n幸福小区3号楼2单元301\n3号楼2单元\n乱写的地址\n", "utf-8")
    out = gridgeo("import", "households", "--addresses", str(csv), "--community", C)
    assert "unparsed_address" in out and "dry run" in out
    gridgeo("import", "households", "--addresses", str(csv), "--community", C, "--commit")
    listed = gridgeo("buildings", A)
    assert (
        "T-3" in listed and "1单元   50 households" in listed and "2单元    2 households" in listed
    )
    counts = json.loads(gridgeo("buildings", A, "--json", "--counts"))
    assert counts["buildings"][0]["households"] == 52 and "units" not in counts["buildings"][0]
    pid = gridgeo("plan", "open", C, "--title", "split T-3").split()[1]
    move = {"op": "move_units", "building": "T-3", "units": ["2"], "grid": B}
    assert "move unit 2 of building" in gridgeo("plan", "edit", pid, json.dumps(move))
    assert f"{A} → {B}: 2" in gridgeo("plan", "preview", pid)
    gridgeo("plan", "commit", pid, "-m", "unit 2 to B")
    assert f"→ grid {B}" in gridgeo("buildings", A)
    where = gridgeo("locate", str(cx), str(cy), "--building", "T-3", "--unit", "2")
    assert B in where
    assert B not in gridgeo("locate", str(cx), str(cy))
