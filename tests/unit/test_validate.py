"""Pure validation functions of boundaries.validate / boundaries.topology (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from boundaries.report import ImportRejected, ImportReport, Problem
from boundaries.topology import Metric, file_overlaps, gap_problems, outside_parent_problems
from boundaries.validate import (
    as_strings,
    code_problems,
    duplicate_problems,
    geometry_problems,
    integer_values,
    point_problems,
    reason_point,
    repair_polygons,
    usable_polygons,
)
from gridgeo.levels import Hierarchy

# about 111 m x 111 m squares near Guangzhou; 1e-5 deg is about 1.1 m
D = 0.001
LON, LAT = 113.3, 23.1
BOWTIE = Polygon([(LON, LAT), (LON + D, LAT + D), (LON + D, LAT), (LON, LAT + D)])
HIER = Hierarchy.from_rows(
    [
        (1, "district", 0, 6, "区", "District"),
        (2, "street", 1, 3, "街道", "Street"),
        (3, "community", 2, 3, "社区", "Community"),
        (4, "grid", 3, 3, "网格", "Grid"),
    ]
)


def sq(i: int, j: int = 0, size: float = D) -> Polygon:
    return box(LON + i * D, LAT + j * D, LON + i * D + size, LAT + j * D + size)


def arr(*geoms: object) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = list(geoms)
    return out


def codes(n: int) -> np.ndarray:
    return np.array([f"440000{i:03d}" for i in range(n)], dtype=object)


def test_invalid_bowtie_reports_reason_and_location():
    probs = geometry_problems(arr(sq(0), BOWTIE), codes(2))
    assert [(p.index, p.kind, p.severity) for p in probs] == [(1, "invalid_geometry", "error")]
    assert "Self-intersection" in probs[0].message
    lon, lat = probs[0].location
    assert lon == pytest.approx(LON + D / 2) and lat == pytest.approx(LAT + D / 2)
    assert list(usable_polygons(arr(sq(0), BOWTIE))) == [True, False]


def test_make_valid_fix_reports_what_changed():
    geoms, fixes = repair_polygons(arr(sq(0), BOWTIE), codes(2))
    assert geoms[0] is not None and geoms[0].equals(sq(0))
    fixed = geoms[1]
    assert fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2 and fixed.is_valid
    assert [(p.index, p.kind, p.severity) for p in fixes] == [(1, "fixed", "warning")]
    msg = fixes[0].message
    assert msg.startswith("made valid: Self-intersection[") and "MultiPolygon of 2 parts" in msg
    # each triangle is a quarter of a ~111 m x 102 m square: about 2,840 m² together ~5,680
    after = float(msg.rsplit("→ ", 1)[1].split(" m²")[0])
    assert 5000 < after < 6500
    assert geometry_problems(geoms, codes(2)) == []


def test_fix_keeps_polygons_of_a_collection_and_leaves_lines_alone():
    coll = shapely.GeometryCollection([sq(0), LineString([(0, 0), (1, 1)])])
    geoms, fixes = repair_polygons(arr(coll, LineString([(0, 0), (1, 1)])), codes(2))
    assert geoms[0].geom_type == "MultiPolygon" and geoms[0].equals(sq(0))
    assert geoms[1].geom_type == "LineString" and [p.index for p in fixes] == [0]


def test_empty_missing_and_non_polygon():
    probs = geometry_problems(arr(None, Polygon(), Point(LON, LAT), sq(0)), codes(4))
    assert [(p.index, p.kind) for p in probs] == [
        (0, "empty_geometry"),
        (1, "empty_geometry"),
        (2, "non_polygon"),
    ]
    assert "Point" in probs[2].message


def test_duplicate_codes_name_the_first_feature():
    probs = duplicate_problems(
        np.array(["440000001", "", "440000001", "", "440000001"], dtype=object)
    )
    assert [(p.index, p.code) for p in probs] == [(2, "440000001"), (4, "440000001")]
    assert all("#0" in p.message for p in probs)


def test_malformed_codes():
    street = HIER.get("street")
    c = np.array(["440000001", "44000001", "44000000a", ""], dtype=object)
    probs = code_problems(c, HIER, street)
    assert [p.index for p in probs] == [1, 2, 3]
    assert "8 digits" in probs[0].message and "6+3" in probs[0].message
    assert "digits only" in probs[1].message and probs[2].message == "empty code"


def test_as_strings_and_integer_values():
    assert list(as_strings(pd.Series([440000.0, np.nan]))) == ["440000", ""]
    assert list(as_strings(pd.Series([" 007 ", None]))) == ["007", ""]
    vals, probs = integer_values(
        pd.Series(["3", "", "2.5", "x", "0"]), codes(5), field="n", minimum=1, blank=None
    )
    assert list(vals) == [3, 0, 0, 0, 0] and [p.index for p in probs] == [1, 2, 3, 4]
    vals, probs = integer_values(pd.Series(["", "2"]), codes(2), field="w", minimum=0, blank=0)
    assert list(vals) == [0, 2] and probs == []


def test_point_problems():
    pts = arr(Point(LON, LAT), None, Point(200, 10), sq(0), Point(10, -95))
    probs = point_problems(pts, np.array(["a", "b", "c", "d", "e"], dtype=object))
    assert [(p.index, p.kind) for p in probs] == [
        (1, "empty_geometry"),
        (2, "bad_coordinates"),
        (3, "non_point"),
        (4, "bad_coordinates"),
    ]


def test_overlaps_in_file_error_sliver_and_touching():
    half = box(LON + D / 2, LAT, LON + 1.5 * D, LAT + D)  # overlaps sq(0) by half
    thin = box(LON + D - 0.5e-5, LAT + 2 * D, LON + 2 * D, LAT + 3 * D)  # 0.5 m into sq(0, 2)
    geoms = arr(sq(0), half, sq(0, 2), thin, sq(5), sq(6))  # sq(5), sq(6) only touch
    probs = file_overlaps(geoms, codes(6), Metric.around(geoms), tolerance_m=1.0)
    assert [(p.index, p.kind, p.severity) for p in probs] == [
        (1, "overlap", "error"),
        (3, "sliver_overlap", "warning"),
    ]
    assert probs[0].area_m2 == pytest.approx(0.5 * 102.4 * 111.3, rel=0.02)
    assert "#0 440000000" in probs[0].message
    assert shapely.contains(half.intersection(sq(0)), Point(probs[0].location))


def test_outside_parent_beyond_tolerance():
    parent = box(LON, LAT, LON + 3 * D, LAT + 3 * D)
    inside, edge, out = sq(0), box(LON + 2 * D, LAT, LON + 3 * D + 0.5e-5, LAT + D), sq(3, 1)
    geoms = arr(inside, edge, out)
    probs = outside_parent_problems(
        np.arange(3),
        geoms,
        codes(3),
        arr(parent, parent, parent),
        np.array(["440000"] * 3, dtype=object),
        Metric.around(geoms),
        tolerance_m=1.0,
    )
    assert [(p.index, p.kind) for p in probs] == [(2, "outside_parent")]
    assert probs[0].area_m2 == pytest.approx(102.4 * 111.3 - 111.3, rel=0.03)


def test_gap_reported_as_warning():
    parent = box(LON, LAT, LON + 2 * D, LAT + D)
    probs = gap_problems(
        arr(parent),
        np.array(["440000"], dtype=object),
        [arr(sq(0))],
        Metric.around(arr(parent)),
        tolerance_m=1.0,
    )
    assert [(p.code, p.kind, p.severity) for p in probs] == [("440000", "gap", "warning")]
    assert probs[0].area_m2 == pytest.approx(102.4 * 111.3, rel=0.05)
    assert (
        gap_problems(
            arr(parent),
            np.array(["440000"], dtype=object),
            [arr(sq(0), sq(1))],
            Metric.around(arr(parent)),
            tolerance_m=1.0,
        )
        == []
    )


def test_reason_point_and_report_text():
    assert reason_point("Self-intersection[113.3 23.1]") == (113.3, 23.1)
    assert reason_point("Valid Geometry") is None
    rep = ImportReport(source="x.geojson", target="grids", features=2, level="street")
    rep.problems = [
        Problem(0, "440000001", "overlap", "overlaps #1", location=(113.3, 23.1), area_m2=2.0),
        Problem(1, "440000002", "code_prefix", "odd", severity="warning"),
    ]
    rep.plan = {"insert": {"street": 2}, "linked_by": {"code": 2}}
    text = rep.to_text()
    assert text.splitlines()[0].startswith("ERROR   #0 440000001 overlap: overlaps #1 at (113.3")
    assert "1 errors, 1 warnings" in text and "insert 2 street" in text
    d = rep.to_dict()
    assert d["errors"] == 1 and d["problems"][0]["location"] == [113.3, 23.1]
    exc = ImportRejected(rep)
    assert exc.report is rep and exc.detail["report"]["errors"] == 1
