"""Grid versions kept by triggers: history, the store as it stood, who/when/why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import load_hierarchy
from gridgeo.versions import (
    Period,
    get_change,
    grid_at,
    grid_history,
    grids_at,
    parse_period,
    record_change,
    version_rows,
)
from tests.helpers import add_box


def _at(conn, change_id):
    return conn.execute(text("SELECT at FROM changes WHERE id = :i"), {"i": change_id}).scalar()


@pytest.fixture
def city(conn):
    c1 = record_change(conn, "planner1", "initial boundaries", "import", file="x.gpkg")
    add_box(conn, "110101", "district", 0, 0, 2, 1)
    add_box(conn, "110101001", "street", 0, 0, 1, 1, "110101", workers=2, name="街道110101001")
    add_box(conn, "110101002", "street", 1, 0, 2, 1, "110101", workers=1, name="街道110101002")
    return c1


def test_update_geometry_keeps_both_versions(conn, city):
    h = load_hierarchy(conn)
    t1 = _at(conn, city)
    c2 = record_change(conn, "planner2", "move the boundary to the river", "plan")
    t2 = _at(conn, c2)
    assert t2 > t1
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1.5, 1, 4326)) "
            "WHERE code = '110101001'"
        )
    )
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(1.5, 0, 2, 1, 4326)) "
            "WHERE code = '110101002'"
        )
    )
    history = grid_history(conn, "110101001")["features"]
    assert [f["properties"]["version"] for f in history] == [1, 2]
    v1, v2 = (f["properties"] for f in history)
    assert v1["changed_by"] == "planner1" and v1["message"] == "initial boundaries"
    assert v1["kind"] == "import" and v1["change_id"] == city
    assert v1["closed_by"] == "planner2" and v1["closed_change_id"] == c2
    assert v1["closed_message"] == "move the boundary to the river"
    assert v2["changed_by"] == "planner2" and v2["valid_to"] is None
    assert v1["valid_to"] == v2["valid_from"]
    # the live row carries the version and its start
    row = conn.execute(
        text("SELECT version, valid_from, updated_by FROM grids WHERE code = '110101001'")
    ).one()
    assert row.version == 2 and row.valid_from == t2 and row.updated_by == "planner2"

    def xmax(fc):
        return {
            f["id"]: max(x for x, _ in f["geometry"]["coordinates"][0][0]) for f in fc["features"]
        }

    before = grids_at(conn, h, "street", t1 + (t2 - t1) / 2)
    assert xmax(before) == {"110101001": 1, "110101002": 2}
    after = grids_at(conn, h, "street", t2)
    assert xmax(after) == {"110101001": 1.5, "110101002": 2}
    assert xmax(grids_at(conn, h, "street")) == xmax(after)
    assert grids_at(conn, h, "street", t1 - timedelta(seconds=1))["features"] == []
    # an interval sees both versions, with version ids
    both = grids_at(conn, h, "street", Period(t1, None))
    assert both["numberMatched"] == 4
    assert "110101001@1" in {f["id"] for f in both["features"]}
    assert grid_at(conn, h, "street", "110101001", version=1)["properties"]["version"] == 1
    assert grid_at(conn, h, "street", "110101001", at=t1)["properties"]["version"] == 1


def test_name_change_versions_but_workers_do_not(conn, city):
    record_change(conn, "planner2", "rename", "edit")
    conn.execute(text("UPDATE grids SET workers = 5 WHERE code = '110101001'"))
    conn.execute(text("UPDATE grids SET geom = geom WHERE code = '110101001'"))  # no change
    assert len(grid_history(conn, "110101001")["features"]) == 1
    assert grid_history(conn, "110101001")["features"][0]["properties"]["workers"] == 5
    conn.execute(text("UPDATE grids SET name = '新名' WHERE code = '110101001'"))
    names = [f["properties"]["name"] for f in grid_history(conn, "110101001")["features"]]
    assert names == ["街道110101001", "新名"]


def test_delete_keeps_history(conn, city):
    h = load_hierarchy(conn)
    t1 = _at(conn, city)
    c2 = record_change(conn, "admin", "merge into 110101001", "plan")
    conn.execute(text("DELETE FROM grids WHERE code = '110101002'"))
    history = grid_history(conn, "110101002")["features"]
    assert len(history) == 1
    props = history[0]["properties"]
    assert props["valid_to"] is not None and props["closed_change_id"] == c2
    assert {f["id"] for f in grids_at(conn, h, "street", t1)["features"]} == {
        "110101001",
        "110101002",
    }
    assert {f["id"] for f in grids_at(conn, h, "street")["features"]} == {"110101001"}
    # the code may be used again: its versions continue
    add_box(conn, "110101002", "street", 1, 0, 2, 1, "110101")
    assert [f["properties"]["version"] for f in grid_history(conn, "110101002")["features"]] == [
        1,
        2,
    ]


def test_retiring_a_row_closes_its_version(conn, city):
    """A plan commit may retire a row (valid_to) and insert its successor."""
    h = load_hierarchy(conn)
    record_change(conn, "planner1", "redraw", "plan")
    conn.execute(text("UPDATE grids SET valid_to = now() WHERE code = '110101002'"))
    add_box(conn, "110101002", "street", 1, 0, 2.5, 1, "110101")
    versions = grid_history(conn, "110101002")["features"]
    assert [f["properties"]["version"] for f in versions] == [1, 2]
    assert versions[0]["properties"]["valid_to"] is not None
    assert len(grids_at(conn, h, "street")["features"]) == 2
    assert conn.execute(text("SELECT count(*) FROM grid_parts WHERE code = '110101002'")).scalar()


def test_change_needs_a_message(conn):
    with pytest.raises(InvalidInput, match="message"):
        record_change(conn, "planner1", "  ", "plan")
    with pytest.raises(InvalidInput, match="kind"):
        record_change(conn, "planner1", "why", "Plan!")
    cid = record_change(conn, "planner1", " why ", "plan", plan=7)
    change = get_change(conn, cid)
    assert change["message"] == "why" and change["detail"] == {"plan": 7}
    with pytest.raises(NotFound):
        get_change(conn, cid + 1000)


def test_paging_bbox_and_areas(conn, city):
    h = load_hierarchy(conn)
    page = grids_at(conn, h, "street", limit=1, offset=1)
    assert page["numberMatched"] == 2 and [f["id"] for f in page["features"]] == ["110101002"]
    assert [
        f["id"] for f in grids_at(conn, h, "street", bbox=(0.1, 0.1, 0.5, 0.5))["features"]
    ] == ["110101001"]
    assert grids_at(conn, h, "street", areas=("110101002",))["numberMatched"] == 1
    rows = version_rows(conn, h, "street")
    assert [r["code"] for r in rows] == ["110101001", "110101002"]
    assert rows[0]["parent_code"] == "110101" and rows[0]["workers"] == 2
    with pytest.raises(InvalidInput):
        grids_at(conn, h, "province")


def test_parse_period():
    p = parse_period("2026-01-01")
    assert p.is_instant and p.start is not None and p.start.utcoffset() == timedelta(hours=8)
    assert parse_period("2026-01-01T00:00:00Z/..").end is None
    assert parse_period("../2026-01-01T00:00:00Z").start is None
    for bad in ("yesterday", "2026-02-01/2026-01-01"):
        with pytest.raises(InvalidInput):
            parse_period(bad)
