"""A tower of four units in grid A of the plan city (tests/plan_city.py), written as imports do."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gridgeo.buildings.store import BuildingRows, UnitRows, write_buildings
from gridgeo.bulk_assign import assign_households
from tests.plan_city import box

TOWER = "T-3"
PER_UNIT = 60  # households in each of its four units


def add_tower(conn: Connection, grid: str) -> dict[str, int]:
    """Insert building ``T-3`` (3号楼, 4 units of 60) in the middle of ``grid``; unit → id."""
    x0, y0, x1, y1 = box(grid)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    foot = shapely.box(cx - 0.0002, cy - 0.0001, cx + 0.0002, cy + 0.0001)
    b = BuildingRows(
        codes=[TOWER], geoms=np.array([foot], dtype=object), numbers=["3"], names=["3号楼"],
        compounds=["幸福小区"], community_codes=[None], kinds=["tower"], floors=[30],
        external_ids=[None], group_names=None,
    )  # fmt: skip
    pts = np.array([shapely.Point(cx - 0.00015 + k * 0.0001, cy) for k in range(4)], dtype=object)
    u = UnitRows(
        building=np.zeros(4, dtype=np.int64), numbers=["1", "2", "3", "4"],
        households=np.full(4, PER_UNIT), floors=[30] * 4, points=pts,
        addresses=[f"幸福小区3号楼{k}单元" for k in range(1, 5)],
    )  # fmt: skip
    _, uid = write_buildings(conn, b, u, actor="test")
    assign_households(conn)
    return {str(k + 1): int(i) for k, i in enumerate(uid)}


def grid_of_unit(conn: Connection, unit_id: int) -> str:
    """The code of the grid the households of a unit are assigned to."""
    return str(
        conn.execute(
            text(
                "SELECT DISTINCT g.code FROM households h JOIN household_grid a "
                "ON a.household_id = h.id JOIN grids g ON g.id = a.grid_id WHERE h.unit_id = :u"
            ),
            {"u": unit_id},
        ).scalar_one()
    )
