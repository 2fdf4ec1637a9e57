"""The line layer: import from files, refusals, and the demo's roads and rivers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from boundaries.lines import import_lines
from gridgeo.errors import InvalidInput
from gridgeo.lines import area_lines
from tests.helpers import C1, add_strip_city


def _write(tmp_path, name: str, features: list[dict]) -> str:
    path = tmp_path / name
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _line(coords, **props) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def _count(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM lines")).scalar_one()


def test_dry_run_then_commit(conn, tmp_path) -> None:
    add_strip_city(conn)
    path = _write(
        tmp_path,
        "roads.geojson",
        [
            _line([[0.5, -0.1], [0.5, 1.1]], kind="道路", name="一路"),
            _line([[-0.1, 0.5], [3.1, 0.5]], kind="river", name="白浪河"),
            _line([[10, 10], [11, 11]], kind="rail", name="far away"),
        ],
    )
    report = import_lines(conn, path, kind_field="kind", name_field="name")
    assert report.features == 3 and report.outside_areas == 1
    assert report.kinds == {"road": 1, "river": 1, "rail": 1}
    assert _count(conn) == 0
    report = import_lines(conn, path, kind_field="kind", name_field="name", commit=True)
    assert report.inserted == 3 and "stored 3 lines" in report.to_text()
    assert len(area_lines(conn, C1)) == 2
    again = import_lines(conn, path, kind="road", commit=True, replace=True)
    assert again.replaced == 3 and _count(conn) == 3
    kinds = conn.execute(text("SELECT DISTINCT kind, ST_GeometryType(geom) FROM lines")).all()
    assert kinds == [("road", "ST_MultiLineString")]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([], "no line features"),
        (
            [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                    },
                }
            ],
            "Polygon",
        ),
        ([_line([[50, 50], [51, 51]])], "crosses a stored area"),
    ],
)
def test_refused_files_store_nothing(conn, tmp_path, features, message) -> None:
    add_strip_city(conn)
    path = _write(tmp_path, "bad.geojson", features)
    with pytest.raises(InvalidInput, match=message):
        import_lines(conn, path, kind="road", commit=True)
    assert _count(conn) == 0


def test_kind_is_required_and_checked(conn, tmp_path) -> None:
    add_strip_city(conn)
    path = _write(tmp_path, "k.geojson", [_line([[0.5, 0], [0.5, 1]], kind="canal?")])
    with pytest.raises(InvalidInput, match="kind"):
        import_lines(conn, path)
    with pytest.raises(InvalidInput, match="unknown kinds"):
        import_lines(conn, path, kind_field="kind")
    with pytest.raises(InvalidInput, match="no field"):
        import_lines(conn, path, kind_field="type")


def test_demo_loads_its_roads_and_rivers(demo_conn) -> None:
    rows = dict(
        demo_conn.execute(
            text("SELECT kind, count(*) FROM lines WHERE source = 'demo' GROUP BY 1")
        ).all()
    )
    assert rows["river"] == 2 and rows["road"] > 1000
