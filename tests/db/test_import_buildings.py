"""Importing buildings (footprints with units and households) and address lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from boundaries.buildings import import_addresses, import_buildings
from boundaries.report import ImportRejected
from tests.plan_city import A, B, C, E, add_plan_city, box, households_of


def _rect(code: str, fx: float = 0.5, fy: float = 0.5) -> list[list[list[float]]]:
    x0, y0, x1, y1 = box(code)
    x, y = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
    d = 0.0001
    return [[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]]


def _feature(props: dict, geom: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def _file(tmp_path: Path, features: list[dict]) -> Path:
    p = tmp_path / "buildings.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return p


def _good(tmp_path: Path) -> Path:
    x0, y0, x1, y1 = box(E)
    return _file(
        tmp_path,
        [
            _feature({"编号": "XF-3", "楼号": "3", "小区": "幸福小区", "层数": 30, "单元数": 4, "户数": 240},
                     {"type": "Polygon", "coordinates": _rect(A, 0.6, 0.4)}),
            _feature({"编号": "XF-5", "楼号": "5", "小区": "幸福小区", "层数": 6, "单元数": 2, "户数": 25},
                     {"type": "Polygon", "coordinates": _rect(B, 0.6, 0.4)}),
            _feature({"编号": "LANE-1", "楼号": "1", "小区": "槐荫里", "户数": 10},
                     {"type": "Point", "coordinates": [(x0 + x1) / 2, (y0 + y1) / 2]}),
        ],
    )  # fmt: skip


def test_buildings_dry_run_then_commit(conn: Connection, tmp_path: Path) -> None:
    add_plan_city(conn)
    path = _good(tmp_path)
    dry = import_buildings(conn, path)
    assert dry.ok and not dry.committed, [p.to_text() for p in dry.problems]
    assert dry.plan["insert"] == {"buildings": 3, "units": 7} and dry.plan["household_count"] == 275
    assert conn.execute(text("SELECT count(*) FROM buildings")).scalar_one() == 0
    done = import_buildings(conn, path, commit=True, actor="planner1")
    assert done.committed and done.written == 3
    units = conn.execute(
        text(
            "SELECT b.code, u.number, u.households, u.floors, b.community_code FROM building_units u "
            "JOIN buildings b ON b.id = u.building_id ORDER BY b.code, u.number"
        )
    ).all()
    assert [tuple(r) for r in units] == [
        ("LANE-1", "1", 10, None, C),
        ("XF-3", "1", 60, 30, C), ("XF-3", "2", 60, 30, C), ("XF-3", "3", 60, 30, C),
        ("XF-3", "4", 60, 30, C),
        ("XF-5", "1", 13, 6, C), ("XF-5", "2", 12, 6, C),
    ]  # fmt: skip
    # one carrier row per unit, placed by the rule: counts per grid stay right
    assert households_of(conn, A) == 100 + 240 and households_of(conn, B) == 125
    assert households_of(conn, E) == 110


def test_bad_buildings_are_reported_and_refused(conn: Connection, tmp_path: Path) -> None:
    add_plan_city(conn)
    import_buildings(conn, _good(tmp_path), commit=True)
    bad = _file(
        tmp_path,
        [
            _feature({"code": "XF-3", "number": "3"}, {"type": "Polygon", "coordinates": _rect(A)}),
            _feature({"code": "L", "number": "1"},
                     {"type": "LineString", "coordinates": [[120.0, 36.0], [120.001, 36.0]]}),
            _feature({"code": "Q", "number": "2", "floors": "six"},
                     {"type": "Polygon", "coordinates": _rect(B)}),
            _feature({"code": "Q", "number": "2"}, {"type": "Polygon", "coordinates": _rect(B)}),
        ],
    )  # fmt: skip
    report = import_buildings(conn, bad)
    kinds = sorted((p.index, p.kind) for p in report.errors)
    assert kinds == [(0, "duplicate_in_store"), (1, "non_polygon"), (2, "bad_value"),
                     (3, "duplicate_code")]  # fmt: skip
    with pytest.raises(ImportRejected):
        import_buildings(conn, bad, commit=True)


def test_address_list_parsed_matched_and_written(conn: Connection, tmp_path: Path) -> None:
    add_plan_city(conn)
    import_buildings(conn, _good(tmp_path), commit=True)
    csv = tmp_path / "addresses.csv"
    csv.write_text(
        "地址,户编号\n"
        "幸福小区3号楼2单元501室,H1\n"
        "3-2-502,H2\n"
        "幸福小区3栋2单元1203,H3\n"
        "幸福小区3号楼9单元101,H4\n"
        "车棚旁边,H5\n"
        "幸福小区99号楼1单元101,H6\n",
        "utf-8",
    )
    dry = import_addresses(conn, csv, compound="幸福小区", community=C, external_id_field="户编号")
    assert [(p.index, p.kind) for p in dry.problems] == [
        (3, "unknown_unit"), (4, "unparsed_address"), (5, "unknown_building")
    ]  # fmt: skip
    assert dry.plan["insert"] == {"households": 3} and dry.plan["replaces_unit_rows"] == 1
    assert dry.plan["replaced_household_count"] == 60
    assert "no stored building 幸福小区99号楼" in dry.problems[2].message
    done = import_addresses(
        conn, csv, compound="幸福小区", community=C, external_id_field="户编号", commit=True
    )
    assert done.committed and done.written == 3
    rows = conn.execute(
        text(
            "SELECT h.external_id, u.number, h.floor, h.room, g.code FROM households h "
            "JOIN building_units u ON u.id = h.unit_id JOIN household_grid a "
            "ON a.household_id = h.id JOIN grids g ON g.id = a.grid_id "
            "WHERE h.external_id LIKE 'H%' ORDER BY h.external_id"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("H1", "2", 5, "501", A), ("H2", "2", 5, "502", A), ("H3", "2", 12, "1203", A)
    ]  # fmt: skip
    # unit 2's carrier row (60) gave way to the three households listed
    assert households_of(conn, A) == 100 + 180 + 3
