"""The real Providence census blocks through the whole import: district, wards, blocks, households.

Mapped onto the default 6+3+3+3 hierarchy: a synthetic district 440000 (the union of all
blocks), the 15 council wards as streets (440000 + ward), the blocks as communities (ward code
+ a 3-digit sequence within the ward), and round(TOTPOP / 2.5) households at a point on each
block's surface.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from boundaries import import_grids, import_households, read_features
from tests.conftest import PROVIDENCE_ZIP

pytestmark = pytest.mark.slow


def test_providence_blocks_import(conn, tmp_path):
    blocks = read_features(PROVIDENCE_ZIP)
    assert len(blocks) == 3014 and blocks.crs.to_epsg() == 4326
    ward = blocks["WARD"].astype(int)
    blocks["street"] = "440000" + ward.map("{:03d}".format)
    seq = blocks.groupby("street").cumcount() + 1
    if seq.max() > 999:
        pytest.fail(f"a ward has {seq.max()} blocks: more than a 3-digit community code holds")
    blocks["code"] = blocks["street"] + seq.map("{:03d}".format)
    blocks["name"] = "block " + blocks["GEOID10"]

    district = gpd.GeoDataFrame(
        {"code": ["440000"], "name": ["Providence"]},
        geometry=[shapely.union_all(np.asarray(blocks.geometry.values))],
        crs="EPSG:4326",
    )
    wards = blocks[["street", "geometry"]].dissolve("street").reset_index()
    wards = wards.rename(columns={"street": "code"})
    wards["name"] = "Ward " + wards["code"].str[-3:].str.lstrip("0")
    district.to_file(tmp_path / "district.gpkg")
    wards.to_file(tmp_path / "wards.geojson")
    blocks[["code", "name", "geometry"]].to_file(tmp_path / "blocks.gpkg")

    reports = {}
    for level, name in [
        ("district", "district.gpkg"),
        ("street", "wards.geojson"),
        ("community", "blocks.gpkg"),
    ]:
        t0 = time.perf_counter()
        reports[level] = rep = import_grids(
            conn, tmp_path / name, level, commit=True, tolerance_m=1.0
        )
        print(f"\n{level}: {time.perf_counter() - t0:.2f} s\n{rep.to_text(limit=20)}")
        assert rep.committed and rep.errors == []
    # what validation says about the real data (printed above; kept exact so a change shows)
    assert [p.kind for p in reports["street"].problems] == []
    assert [p.kind for p in reports["community"].problems] == []
    assert reports["community"].plan["linked_by"] == {"code": 3014}
    assert len(reports["community"].plan["parents"]) == 15

    counts = conn.execute(
        text(
            """
            SELECT l.key, count(*) FROM grids g JOIN levels l ON l.id = g.level_id
            GROUP BY l.key
            """
        )
    ).all()
    assert dict(counts) == {"district": 1, "street": 15, "community": 3014}

    # each ward's blocks tile the ward
    tiling = conn.execute(
        text(
            """
            SELECT s.code, ST_Area(s.geom::geography) AS ward,
                   ST_Area(ST_Union(c.geom)::geography) AS blocks
            FROM grids s JOIN grids c ON c.parent_id = s.id
            WHERE s.code LIKE '440000___' GROUP BY s.code, s.geom
            """
        )
    ).all()
    assert len(tiling) == 15
    for code, ward_area, union_area in tiling:
        assert abs(union_area - ward_area) <= 1e-6 * ward_area, code

    households = blocks.geometry.representative_point()
    n = np.round(blocks["TOTPOP"].to_numpy() / 2.5).astype(int)
    keep = n > 0
    table = pd.DataFrame(
        {
            "geoid": blocks["GEOID10"][keep],
            "lon": households.x[keep],
            "lat": households.y[keep],
            "households": n[keep],
        }
    )
    table.to_csv(tmp_path / "households.csv", index=False)
    t0 = time.perf_counter()
    rep = import_households(
        conn,
        tmp_path / "households.csv",
        count_field="households",
        external_id_field="geoid",
        commit=True,
    )
    print(f"\nhouseholds: {time.perf_counter() - t0:.2f} s\n{rep.to_text(limit=20)}")
    assert rep.committed and rep.problems == [] and rep.written == int(keep.sum())
    assert rep.assignment is not None and rep.assignment["unassigned"] == 0
    total, unassigned, misplaced = conn.execute(
        text(
            """
            SELECT sum(h.household_count), count(*) FILTER (WHERE a.grid_id IS NULL),
                   count(*) FILTER (WHERE g.name <> 'block ' || h.external_id)
            FROM households h LEFT JOIN household_grid a ON a.household_id = h.id LEFT JOIN grids g ON g.id = a.grid_id
            """
        )
    ).one()
    assert unassigned == 0 and misplaced == 0
    # each block rounds by at most half a household
    assert abs(total - round(178040 / 2.5)) <= 0.5 * len(blocks)
    assert total == n.sum()
