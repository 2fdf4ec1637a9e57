"""Plan edits refused for bad input: geometry, coordinates, ops, codes, areas (nothing stored)."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from sqlalchemy import Connection

from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy, load_hierarchy
from tests.plan_city import A, C, add_plan_city, box
from tests.plan_ops import edit, new_plan


@pytest.fixture
def city(conn: Connection) -> Hierarchy:
    add_plan_city(conn)
    return load_hierarchy(conn)


# ---------------------------------------------------------------- bad input


BAD = [
    ({"type": "Point", "coordinates": [120, 36]}, "must be a GeoJSON Polygon or MultiPolygon"),
    (
        {"type": "Polygon", "coordinates": [[[120.0, 36.0], [120.001, 36.0], [120.001, 36.001]]]},
        "needs at least 4",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [[[120.0, 36.0], [120.001, 36.0], [120.001, 36.001], [120.0, 36.001]]],
        },
        "is not closed",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [
                [[120.0, 36.0], [120.0, 36.001], [120.001, 36.001], [120.001, 36.0], [120.0, 36.0]]
            ],
        },
        "wound the wrong way",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [
                [[120.0, 36.0], [120.001, 36.001], [120.001, 36.0], [120.0, 36.001], [120.0, 36.0]]
            ],
        },
        "encloses no area",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [
                [[120.0, 36.0], [120.002, 36.0], [120.0, 36.001], [120.002, 36.001], [120.0, 36.0]]
            ],
        },
        "encloses no area|invalid",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [
                [[36.0, 120.0], [36.001, 120.0], [36.001, 120.001], [36.0, 120.001], [36.0, 120.0]]
            ],
        },
        "outside longitude/latitude",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [[[120.0, 36.0], [120.0, 36.0], [120.0, 36.0], [120.0, 36.0]]],
        },
        "encloses no area",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [[[120.0, 36.0], ["x", 36.0], [120.001, 36.001], [120.0, 36.0]]],
        },
        "not a number",
    ),
]


@pytest.mark.parametrize(("geometry", "message"), BAD)
def test_bad_geometry_is_refused_naming_the_grid(
    conn: Connection, city: Hierarchy, geometry: dict[str, Any], message: str
) -> None:
    pid = new_plan(conn)
    with pytest.raises(InvalidInput, match=message) as err:
        edit(conn, city, pid, {"op": "replace", "code": A, "geometry": geometry})
    assert A in err.value.message


def test_self_intersection_hole_cutting_and_swapped_coordinates(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    x0, y0, x1, y1 = box(A)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x0, y1], [x1, y1], [x0, y0]]],
    }
    with pytest.raises(InvalidInput, match="Self-intersection"):
        edit(conn, city, pid, {"op": "replace", "code": A, "geometry": bowtie})
    mx = (x0 + x1) / 2
    hole = [[mx - 1e-4, y0], [mx - 1e-4, y1], [mx + 1e-4, y1], [mx + 1e-4, y0], [mx - 1e-4, y0]]
    cut = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], hole],
    }
    with pytest.raises(InvalidInput, match="invalid"):
        edit(conn, city, pid, {"op": "replace", "code": A, "geometry": cut})


def test_swapped_lon_lat_is_named(conn: Connection, city: Hierarchy) -> None:
    # a plan area near (36 E, 120 N) is impossible, so build a swapped polygon for a city whose
    # lat/lon swap stays in range: use the hint path directly
    from boundaries.plans.geometry import check_in_area

    area = shapely.box(100.0, 30.0, 100.01, 30.01)
    drawn = shapely.box(30.0, 20.0, 30.01, 20.01)  # not swapped: just far
    with pytest.raises(InvalidInput, match="outside the plan's area 1$"):
        check_in_area(drawn, area, "grid 1", "1")
    swapped = shapely.box(30.0, 80.0, 30.01, 80.01)
    area2 = shapely.box(80.0, 30.0, 80.01, 30.01)
    with pytest.raises(InvalidInput, match=r"look like \[lat, lon\]"):
        check_in_area(swapped, area2, "grid 1", "1")


def test_edits_outside_the_plan_area_and_unknown_ops_are_refused(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    with pytest.raises(InvalidInput, match="unknown edit op 'explode'"):
        edit(conn, city, pid, {"op": "explode"})
    with pytest.raises(InvalidInput, match=f"grid {C} is the plan's area itself"):
        edit(conn, city, pid, {"op": "rename", "code": C, "name": "x"})
    with pytest.raises(InvalidInput, match="is not in this plan's area"):
        edit(conn, city, pid, {"op": "rename", "code": "370705001002001", "name": "x"})
    with pytest.raises(InvalidInput, match="'workers' must be a whole number"):
        edit(conn, city, pid, {"op": "workers", "code": A, "workers": -1})
