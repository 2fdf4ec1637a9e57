"""Loading the demo's buildings, units, groups and heads (``gridgeo/buildings/store.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection

from gridgeo.buildings.store import BuildingRows, UnitRows, write_buildings, write_heads
from gridgeo.demo import names

if TYPE_CHECKING:
    from gridgeo.demo.city import DemoCity

GROUP_SIZE = 4  # buildings per building group (楼组), in order within a compound
HEADS_SEED = 18  # the heads' names come from a stream of their own


def load_housing(conn: Connection, city: DemoCity) -> int:
    """Write the city's buildings, units (one carrier row each), groups and heads.

    Every building has a 楼长, every building group of ``GROUP_SIZE`` buildings a 楼组长, and
    every unit of a building with two or more units a 单元长; all part-time.

    Returns:
        The number of heads written.
    """
    homes = city.housing
    n = len(homes.households)
    groups = [
        f"{c}第{(k - 1) // GROUP_SIZE + 1}楼组"
        for c, k in zip(city.compounds, city.numbers, strict=True)
    ]
    b = BuildingRows(
        codes=city.external_ids,
        geoms=city.footprints,
        numbers=[str(k) for k in city.numbers],
        names=[f"{c}{k}号楼" for c, k in zip(city.compounds, city.numbers, strict=True)],
        compounds=city.compounds,
        community_codes=city.community_codes,
        kinds=homes.kind.tolist(),
        floors=homes.floors.tolist(),
        external_ids=city.external_ids,
        group_names=groups,
    )
    u = UnitRows(
        building=homes.unit_building,
        numbers=[str(k) for k in homes.unit_number.tolist()],
        households=homes.unit_households,
        floors=homes.floors[homes.unit_building].tolist(),
        points=city.unit_points,
        addresses=[
            f"{city.addresses[bi]}{k}单元"
            for bi, k in zip(homes.unit_building.tolist(), homes.unit_number.tolist(), strict=True)
        ],
    )
    bid, uid = write_buildings(conn, b, u, actor="demo")
    per = np.bincount(homes.unit_building, minlength=n)
    multi = per[homes.unit_building] >= 2
    group_ids = [
        int(r[0])
        for r in conn.exec_driver_sql(
            "SELECT DISTINCT group_id FROM buildings WHERE group_id IS NOT NULL ORDER BY 1"
        ).all()
    ]
    people = names.person_names(n + int(multi.sum()) + len(group_ids), HEADS_SEED)
    written = write_heads(conn, "building_head", bid.tolist(), people[:n])
    written += write_heads(conn, "unit_head", uid[multi].tolist(), people[n : n + int(multi.sum())])
    written += write_heads(conn, "building_group_head", group_ids, people[n + int(multi.sum()) :])
    return written
