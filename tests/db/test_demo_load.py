"""Loading the demo city into PostGIS: every household in one leaf grid, levels tile exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridgeo.demo.city import DemoCity, build_demo_city, load_demo
from gridgeo.errors import Conflict


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_demo_city()


def test_load_assigns_every_household_and_tiles_each_parent(conn, city: DemoCity) -> None:
    counts = load_demo(conn, city)
    assert counts["district"] == 1 and counts["street"] == 8
    assert counts["community"] == 65 and counts["grid"] == 386
    assert counts["workers"] == 784 and counts["unassigned"] == 0
    assert counts["buildings"] == len(city.building_points)
    assert (
        counts["units"] == len(city.housing.unit_number) and counts["heads"] > counts["buildings"]
    )
    b, u, per_unit, heads = conn.execute(
        text(
            """
            SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM building_units),
                   (SELECT count(*) FROM building_units u JOIN households h ON h.unit_id = u.id
                    WHERE h.household_count = u.households),
                   (SELECT count(*) FROM building_heads WHERE NOT full_time)
            """
        )
    ).one()
    assert (b, u, per_unit, heads) == (
        counts["buildings"],
        counts["units"],
        counts["units"],
        counts["heads"],
    )
    assert 234_000 <= counts["households"] <= 236_000

    grids, workers = conn.execute(
        text(
            """
            SELECT count(*), sum(g.workers) FROM grids g JOIN levels l ON l.id = g.level_id
            WHERE l.key = 'grid'
            """
        )
    ).one()
    assert (grids, workers) == (386, 784)

    rows, unassigned, not_leaf, households = conn.execute(
        text(
            """
            SELECT count(*), count(*) FILTER (WHERE a.grid_id IS NULL),
                   count(*) FILTER (WHERE a.grid_id IS NOT NULL AND l.key IS DISTINCT FROM 'grid'),
                   sum(h.household_count)
            FROM households h
            LEFT JOIN household_grid a ON a.household_id = h.id LEFT JOIN grids g ON g.id = a.grid_id
            LEFT JOIN levels l ON l.id = g.level_id
            """
        )
    ).one()
    assert rows == len(city.housing.unit_number)  # one row per unit carrying its households
    assert unassigned == 0 and not_leaf == 0
    assert households == counts["households"]

    # Exactly one covering leaf per household (no point on a shared edge).
    multi = conn.execute(
        text(
            """
            SELECT count(*) FROM (
                SELECT h.id FROM households h
                JOIN grids g ON ST_Covers(g.geom, h.location)
                JOIN levels l ON l.id = g.level_id AND l.key = 'grid'
                GROUP BY h.id HAVING count(*) <> 1) x
            """
        )
    ).scalar_one()
    assert multi == 0

    tiles = conn.execute(
        text(
            """
            SELECT p.code,
                   ST_Area(p.geom::geography) AS parent_area,
                   ST_Area(ST_Union(c.geom)::geography) AS union_area,
                   sum(ST_Area(c.geom::geography)) AS sum_area,
                   bool_and(ST_CoveredBy(ST_Buffer(c.geom, -1e-7), p.geom)) AS inside
            FROM grids p JOIN grids c ON c.parent_id = p.id
            GROUP BY p.id
            """
        )
    ).all()
    assert len(tiles) == 1 + 8 + 65
    for code, parent_area, union_area, sum_area, inside in tiles:
        assert union_area == pytest.approx(parent_area, rel=1e-6), code  # no gap
        assert sum_area == pytest.approx(parent_area, rel=1e-6), code  # no overlap
        assert inside, code


def test_load_twice_is_refused(conn, city: DemoCity) -> None:
    load_demo(conn, city)
    with pytest.raises(Conflict):
        load_demo(conn, city)
