"""Balancing proposals over the demo city (read only)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from gridgeo.balance.db import choose_k, propose
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import load_hierarchy
from gridgeo.workload import workload_report


def _overloaded(conn) -> str:
    rows = workload_report(conn, load_hierarchy(conn), level="community", default_standard=300)
    return max(rows, key=lambda r: r.deviation or -1).code


def _snapshot(conn) -> tuple:
    return (
        conn.execute(text("SELECT count(*), max(version) FROM grids")).one(),
        conn.execute(text("SELECT count(*), sum(grid_id) FROM household_grid")).one(),
        conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
        if conn.execute(text("SELECT to_regclass('audit_log')")).scalar()
        else None,
    )


def test_overloaded_community(demo_conn) -> None:
    code = _overloaded(demo_conn)
    before = _snapshot(demo_conn)
    p = propose(demo_conn, code, default_standard=300)
    s = p["summary"]
    assert s["k_source"] == "workers" and s["k"] == s["workers"]
    assert s["share_vs_standard"] > 0.1  # overloaded: more households per worker than 300
    feats = p["features"]
    assert len(feats) == s["k_effective"]
    assert sum(f["properties"]["households"] for f in feats) == s["households"]
    for f in feats:
        geom = shape(f["geometry"])
        assert geom.is_valid and not geom.is_empty
        assert isinstance(geom, shapely.Polygon)  # contiguous: one piece
    assert s["max_abs_deviation"] >= s["mean_abs_deviation"] >= 0
    assert 0 < s["mean_polsby_popper"] < 1
    assert 0 <= s["moved_households"] <= s["households"]
    assert s["feasible"] == (not s["reasons"])
    assert _snapshot(demo_conn) == before


def test_parts_cover_the_area_and_are_contiguous(demo_conn) -> None:
    code = _overloaded(demo_conn)
    p = propose(demo_conn, code, k=6, default_standard=300)
    outline = shapely.from_wkb(
        demo_conn.execute(
            text("SELECT ST_AsBinary(geom) FROM grids WHERE code = :c AND valid_to IS NULL"),
            {"c": code},
        ).scalar()
    )
    parts = [shape(f["geometry"]) for f in p["features"]]
    assert shapely.union_all(parts).area == pytest.approx(outline.area, rel=1e-3)
    assert all(isinstance(x, shapely.Polygon) for x in parts)


def test_target_sets_k(demo_conn) -> None:
    code = _overloaded(demo_conn)
    p = propose(demo_conn, code, target=300, default_standard=300)
    s = p["summary"]
    assert s["k"] == -(-s["households"] // 300)


def test_bad_input(demo_conn) -> None:
    with pytest.raises(NotFound):
        propose(demo_conn, "999999", default_standard=300)
    code = _overloaded(demo_conn)
    with pytest.raises(InvalidInput):
        propose(demo_conn, code, k=0, default_standard=300)
    with pytest.raises(InvalidInput):
        propose(demo_conn, code, band=1.5, default_standard=300)


def test_choose_k() -> None:
    assert choose_k(households=3000, workers=8, standard=300, k=None, target=None) == (8, "workers")
    assert choose_k(households=3001, workers=0, standard=300, k=None, target=300)[0] == 11
    with pytest.raises(InvalidInput):
        choose_k(households=3000, workers=0, standard=300, k=None, target=None)


def test_cli_prints_figures_and_writes_geojson(demo_conn, monkeypatch, tmp_path) -> None:
    import json
    from contextlib import contextmanager

    from click.testing import CliRunner

    import cli.balance as cli_balance
    from cli.main import main

    @contextmanager
    def in_test_transaction():
        yield demo_conn

    monkeypatch.setattr(cli_balance, "transaction", in_test_transaction)
    code = _overloaded(demo_conn)
    out = tmp_path / "p.geojson"
    r = CliRunner().invoke(main, ["balance", code, "--k", "6", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "households moved" in r.output and "k=6 (given)" in r.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["type"] == "FeatureCollection" and body["summary"]["k"] == 6
    assert CliRunner().invoke(main, ["balance", code, "--k", "0"]).exit_code == 2


def test_cli_all_and_suggest(demo_conn, monkeypatch) -> None:
    from contextlib import contextmanager

    from click.testing import CliRunner

    import cli.balance as cli_balance
    from cli.main import main

    @contextmanager
    def in_test_transaction():
        yield demo_conn

    monkeypatch.setattr(cli_balance, "transaction", in_test_transaction)
    street = _overloaded(demo_conn)[:9]
    r = CliRunner().invoke(main, ["balance", street, "--all", "--target", "600", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "total:" in r.output and "boundary on the lines" in r.output
    r = CliRunner().invoke(main, ["balance", street, "--suggest"])
    assert r.exit_code == 0, r.output
    assert "move 1 worker" in r.output and "under the band" in r.output
    r = CliRunner().invoke(main, ["balance", street, "--all", "--plan"])
    assert r.exit_code == 2
