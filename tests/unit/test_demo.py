"""The demo city (no database): counts, determinism, nesting, staffing bands."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.demo.city import STANDARD, DemoCity, build_demo_city

METRIC = 32650  # UTM 50N: the district sits at 119.13°E


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_demo_city()


@pytest.fixture(scope="module")
def areas(city: DemoCity) -> gpd.GeoDataFrame:
    rows = [
        {
            "code": a.code,
            "name": a.name,
            "level": a.level,
            "parent": a.parent_code,
            "workers": a.workers,
        }
        for a in city.areas
    ]
    return gpd.GeoDataFrame(rows, geometry=[a.geometry for a in city.areas], crs=4326).to_crs(
        METRIC
    )


@pytest.fixture(scope="module")
def grid_households(city: DemoCity, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Grids with the households of the building points that fall in them."""
    grids = areas[areas.level == "grid"]
    pts = gpd.GeoDataFrame({"n": city.household_counts}, geometry=city.building_points, crs=4326)
    joined = gpd.sjoin(pts.to_crs(METRIC), grids[["code", "geometry"]], predicate="within")
    per_grid = joined.groupby("code")["n"].sum()
    return grids.assign(households=grids.code.map(per_grid).fillna(0).astype(int))


def test_counts(city: DemoCity, areas: gpd.GeoDataFrame) -> None:
    levels = areas.level.value_counts().to_dict()
    assert levels == {"district": 1, "street": 8, "community": 65, "grid": 386}
    assert areas.loc[areas.level == "grid", "workers"].sum() == 784
    assert areas.loc[areas.level != "grid", "workers"].sum() == 0
    assert 234_000 <= int(city.household_counts.sum()) <= 236_000
    n = len(city.building_points)
    assert len(city.household_counts) == len(city.addresses) == len(city.external_ids) == n
    assert city.household_counts.min() >= 1 and city.household_counts.max() <= 528
    assert (city.household_counts > 300).sum() > 10  # a few high-rises
    assert len(set(city.external_ids)) == n and city.external_ids[0] == "DEMO-000001"


def test_deterministic(city: DemoCity) -> None:
    again = build_demo_city()
    assert [(a.code, a.name, a.level, a.parent_code, a.workers) for a in again.areas] == [
        (a.code, a.name, a.level, a.parent_code, a.workers) for a in city.areas
    ]
    assert all(
        a.geometry.equals_exact(b.geometry, 0) for a, b in zip(again.areas, city.areas, strict=True)
    )
    assert np.array_equal(
        shapely.to_wkb(again.building_points), shapely.to_wkb(city.building_points)
    )
    assert np.array_equal(again.household_counts, city.household_counts)
    assert again.addresses == city.addresses and again.external_ids == city.external_ids
    assert again.roads.geom_equals_exact(city.roads, 0).all()


def test_codes_and_names(areas: gpd.GeoDataFrame) -> None:
    width = {"district": 6, "street": 9, "community": 12, "grid": 15}
    by_code = areas.set_index("code")
    assert by_code.index.is_unique
    for row in areas.itertuples():
        assert len(row.code) == width[row.level] and row.code.isdigit()
        if row.level == "district":
            assert row.code == "370705" and pd.isna(row.parent) and row.name == "奎文区"
            continue
        assert row.code.startswith(row.parent) and len(row.parent) == width[row.level] - 3
        parent = by_code.loc[row.parent]
        assert list(width).index(parent.level) == list(width).index(row.level) - 1
        suffix = {"street": "街道", "community": "社区", "grid": "网格"}[row.level]
        assert row.name.endswith(suffix)
        if row.level == "grid":
            assert row.name.startswith(parent["name"] + "第")
    assert areas[areas.level == "community"].name.is_unique


def test_every_area_is_one_valid_polygon(areas: gpd.GeoDataFrame) -> None:
    assert areas.is_valid.all()
    assert (areas.geom_type == "Polygon").all()  # grids contiguous; so are the other levels


def test_children_tile_their_parent(areas: gpd.GeoDataFrame) -> None:
    """Nesting, no gap and no overlap, checked by area after the transform to EPSG:4326."""
    area = dict(zip(areas.code, areas.area, strict=True))
    geom = dict(zip(areas.code, areas.geometry, strict=True))
    for parent, children in areas[areas.parent.notna()].groupby("parent"):
        total = area[parent]
        assert children.area.sum() == pytest.approx(total, rel=1e-9)
        assert shapely.union_all(children.geometry.values).area == pytest.approx(total, rel=1e-9)
        outside = shapely.difference(children.geometry.values, geom[parent])
        assert shapely.area(outside).sum() <= 1e-9 * total
        left, right = shapely.STRtree(children.geometry.values).query(
            children.geometry.values, predicate="intersects"
        )
        pairs = left < right
        overlap = shapely.intersection(
            children.geometry.values[left[pairs]], children.geometry.values[right[pairs]]
        )
        assert shapely.area(overlap).sum() <= 1e-9 * total


def test_building_points_lie_inside_grids_away_from_edges(
    city: DemoCity, areas: gpd.GeoDataFrame
) -> None:
    grids = areas[areas.level == "grid"].geometry.values
    pts = gpd.GeoSeries(city.building_points, crs=4326).to_crs(METRIC).values
    pt_idx, grid_idx = shapely.STRtree(grids).query(pts, predicate="intersects")
    assert np.array_equal(np.sort(pt_idx), np.arange(len(pts)))  # exactly one grid each
    assert shapely.within(pts[pt_idx], grids[grid_idx]).all()
    assert shapely.distance(pts[pt_idx], shapely.boundary(grids[grid_idx])).min() > 5.0


def test_some_grids_over_and_some_under_the_standard(grid_households: gpd.GeoDataFrame) -> None:
    ratio = grid_households.households / (STANDARD * grid_households.workers)
    n = len(ratio)
    over, under = (ratio > 1.1).sum() / n, (ratio < 0.9).sum() / n
    assert 0.15 <= over <= 0.25 and 0.15 <= under <= 0.25
    assert ratio.between(0.9, 1.1).sum() > n / 2  # most grids near the standard
    assert (grid_households.workers >= 1).all()


def test_roads_and_rivers(city: DemoCity, areas: gpd.GeoDataFrame) -> None:
    roads = city.roads
    assert roads.crs.to_epsg() == 4326
    assert list(roads.columns) == ["name", "kind", "geometry"]
    assert set(roads.kind) == {"road", "river"}
    assert (roads.kind == "river").sum() >= 1 and (roads.kind == "road").sum() > 50
    district = areas[areas.level == "district"].to_crs(4326).geometry.iloc[0]
    rivers = roads[roads.kind == "river"].geometry
    assert rivers.intersects(district).all() and not rivers.within(district.buffer(-0.01)).any()


def test_housing_as_chinese_cities_have_it(city: DemoCity) -> None:
    """Walk-ups, towers, lanes and a few large buildings; units add up to their buildings."""
    h = city.housing
    n = len(h.households)
    assert np.array_equal(
        np.bincount(h.unit_building, weights=h.unit_households, minlength=n), h.households
    )
    assert h.unit_households.min() >= 1
    units = np.bincount(h.unit_building, minlength=n)
    kinds = {k: h.kind == k for k in ("walkup", "tower", "lane", "large")}
    assert kinds["walkup"].sum() > kinds["tower"].sum() > kinds["large"].sum() > 10
    assert kinds["lane"].sum() > 100
    walk, tower = kinds["walkup"], kinds["tower"]
    assert h.floors[walk].min() >= 5 and h.floors[walk].max() <= 7
    assert units[walk].min() >= 1 and units[walk].max() <= 4
    assert h.floors[tower].min() >= 18 and h.floors[tower].max() <= 33
    assert h.households[tower].max() <= 528 and np.median(h.households[tower]) > 150
    # 2 households a floor in a walk-up (a grid's last building may take a few more)
    full = walk & (h.households <= h.floors * units * 2)
    assert full.sum() > 0.95 * walk.sum()
    # footprints inside their grid, units on them
    assert shapely.within(city.building_points, city.footprints).all()
    assert shapely.intersects(city.unit_points, city.footprints[h.unit_building]).all()
    assert city.addresses[0].endswith("1号楼") and city.compounds[0] in city.addresses[0]
