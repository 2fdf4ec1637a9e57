"""Balancing the demo city along its roads and rivers; district-wide; suggestions (read only)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from gridgeo.balance.db import propose
from gridgeo.balance.district import propose_all
from gridgeo.balance.suggest import suggestions
from gridgeo.batch.cluster import ClusterSpec
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import load_hierarchy
from gridgeo.workload import workload_report


def _stored(conn) -> tuple:
    return (
        conn.execute(text("SELECT count(*), max(version) FROM grids")).one(),
        conn.execute(text("SELECT count(*), sum(grid_id) FROM household_grid")).one(),
        conn.execute(text("SELECT count(*) FROM plans")).scalar(),
    )


def _community(conn, n: int = 0) -> str:
    rows = workload_report(conn, load_hierarchy(conn), level="community", default_standard=300)
    return sorted(rows, key=lambda r: -(r.deviation or -1))[n].code


def test_grids_follow_the_roads(demo_conn) -> None:
    code = _community(demo_conn)
    before = _stored(demo_conn)
    p = propose(demo_conn, code, target=600, default_standard=300)
    s = p["summary"]
    assert s["units"] == "blocks" and s["lines"] > 0 and s["blocks"] > s["k"]
    assert s["within_band"] and s["max_abs_deviation_balanced"] <= 0.10
    assert s["line_share"] >= 0.7
    parts = [shape(f["geometry"]) for f in p["features"]]
    assert all(isinstance(g, shapely.Polygon) and g.is_valid for g in parts)
    assert sum(f["properties"]["workers"] for f in p["features"]) == s["workers"]
    around = propose(demo_conn, code, target=600, lines=False, default_standard=300)["summary"]
    assert around["units"] == "buildings" and around["line_share"] < s["line_share"] - 0.3
    assert _stored(demo_conn) == before


def test_lines_required_but_missing(demo_conn) -> None:
    code = _community(demo_conn)
    demo_conn.execute(text("DELETE FROM lines"))
    with pytest.raises(InvalidInput, match="no stored line"):
        propose(demo_conn, code, target=600, lines=True, default_standard=300)
    assert (
        propose(demo_conn, code, target=600, default_standard=300)["summary"]["units"]
        == "buildings"
    )


def test_street_wide_serial_and_dask_agree(demo_conn) -> None:
    """One Dask task per community (a LocalCluster of 2 worker processes) gives the serial run."""
    street = _community(demo_conn)[:9]
    before = _stored(demo_conn)
    one = propose_all(demo_conn, street, target=600, jobs=1, default_standard=300)
    two = propose_all(demo_conn, street, target=600, jobs=2, default_standard=300)
    t = one["totals"]
    n = demo_conn.execute(
        text("SELECT count(*) FROM grids WHERE code LIKE :s || '___' AND length(code) = 12"),
        {"s": street},
    ).scalar()
    assert t["communities"] == n == len(one["areas"]) and t["failed"] == 0
    assert t["households"] == sum(a["households"] for a in one["areas"])
    assert len(one["features"]) == t["grids"]
    assert t["within_band"] >= n // 2 and t["mean_line_share"] > 0.8
    strip = [{k: v for k, v in a.items() if k != "seconds"} for a in one["areas"]]
    assert strip == [{k: v for k, v in a.items() if k != "seconds"} for a in two["areas"]]
    assert one["features"] == two["features"]
    assert two["totals"]["jobs"] == 2 and two["totals"]["scheduler"] == "local"
    assert one["totals"]["scheduler"] == "serial"
    threads = propose_all(
        demo_conn,
        street,
        target=600,
        jobs=2,
        default_standard=300,
        cluster=ClusterSpec(processes=False),
    )
    assert threads["features"] == one["features"]
    assert _stored(demo_conn) == before
    with pytest.raises(NotFound):
        propose_all(demo_conn, "999999", target=600, default_standard=300)


def test_district_reports_areas_it_cannot_balance(demo_conn) -> None:
    code = _community(demo_conn)
    demo_conn.execute(text("UPDATE grids SET workers = 0 WHERE code LIKE :c || '%'"), {"c": code})
    out = propose_all(
        demo_conn, code[:9], jobs=1, default_standard=300
    )  # k from workers: this one has none
    failed = [a for a in out["areas"] if "error" in a]
    assert [a["area"] for a in failed] == [code] and "no workers" in failed[0]["error"]
    assert out["totals"]["failed"] == 1


def test_suggestions(demo_conn) -> None:
    hierarchy = load_hierarchy(demo_conn)
    street = _community(demo_conn)[:9]
    before = _stored(demo_conn)
    r = suggestions(demo_conn, hierarchy, street, default_standard=300)
    assert r["grids"] > 10 and r["over_before"] > 0
    assert r["over_after"] < r["over_before"]
    grids = set(r["before"])
    for s in r["suggestions"]:
        if s["action"] == "move_worker":
            assert {s["from"], s["to"]} <= grids
    assert r["counts"].get("move_worker", 0) > 0
    assert _stored(demo_conn) == before
    with pytest.raises(NotFound):
        suggestions(demo_conn, hierarchy, "999999", default_standard=300)
