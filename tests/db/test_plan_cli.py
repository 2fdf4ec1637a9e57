"""``gridgeo plan …`` end to end on its own committed database: draw, preview, commit, revert,
and a redraw imported from a desktop-GIS file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.plan_city import (
    X0,
    Y0,
    A,
    B,
    C,
    E,
    F,
    H,
    W,
    box,
    cli_runner,
    households_of,
    plan_city_database,
)


@pytest.fixture(scope="module")
def city_engine(pg_server: str) -> Iterator[Engine]:
    yield from plan_city_database(pg_server, "gridgeo_plan_cli")


@pytest.fixture
def gridgeo(city_engine: Engine, monkeypatch: pytest.MonkeyPatch):
    return cli_runner(city_engine, monkeypatch)


def hh(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return households_of(conn, code)


def test_split_preview_commit_revert(gridgeo, city_engine: Engine) -> None:
    out = gridgeo("plan", "open", C, "--title", "split A")
    pid = out.split()[1]
    x0, y0, x1, y1 = box(A)
    x = (x0 + x1) / 2
    edit = {"op": "split", "code": A, "line": {"type": "LineString",
            "coordinates": [[x, y0 - 1e-4], [x, y1 + 1e-4]]}}  # fmt: skip
    assert "split grid" in gridgeo("plan", "edit", pid, json.dumps(edit))
    bad = {"op": "merge", "codes": [A, F]}
    out = gridgeo("plan", "edit", pid, json.dumps(bad), ok=False)
    assert f"grids {A} and {F} are not adjacent" in out and "nothing was changed" in out
    out = gridgeo("plan", "preview", pid)
    assert "0 errors" in out and "can be committed" in out
    assert f"{A} → {C}005: 50" in out
    assert json.loads(gridgeo("plan", "preview", pid, "--json"))["impact"]["households_moved"] == 50
    out = gridgeo("plan", "commit", pid, "-m", "A grew")
    change = out.split("as change ")[1].split(":")[0]
    assert hh(city_engine, A) == 50
    assert "committed" in gridgeo("plan", "list")
    gridgeo("plan", "commit", pid, "-m", "again", ok=False)
    out = gridgeo("plan", "revert", change, "-m", "premature")
    assert f"change {change} reverted" in out
    assert hh(city_engine, A) == 100


def test_import_a_redrawn_file_as_a_plan(gridgeo, city_engine: Engine, tmp_path: Path) -> None:
    # the file joins A and B into one grid (keeping A's code) and keeps E and F as they are
    def feature(code: str | None, x0: float, y0: float, x1: float, y1: float) -> dict:
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        props = {"code": code, "name": f"n{code}"} if code else {"name": "unnamed"}
        return {"type": "Feature", "properties": props,
                "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip

    features = [
        feature(A, X0, Y0, X0 + 2 * W, Y0 + H),
        feature(E, *box(E)),
        feature(None, *box(F)),
    ]
    path = tmp_path / "redraw.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = gridgeo("plan", "import", C, str(path), "--title", "from QGIS", "--code-field", "code",
                  "--name-field", "name")  # fmt: skip
    pid = out.split()[1]
    out = gridgeo("plan", "show", pid)
    assert f"retired  {B}" in out and f"changed  {A}" in out and f"changed  {F}" in out
    out = gridgeo("plan", "preview", pid)
    assert "can be committed" in out and f"{B} → {A}: 100" in out
    gridgeo("plan", "discard", pid)
    assert hh(city_engine, B) == 100
    out = gridgeo("plan", "import", C, str(path), "--title", "t", "--code-field", "nope", ok=False)
    assert "no field code='nope'" in out
