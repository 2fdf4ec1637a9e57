"""The balancing core on synthetic communities (no database)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from gridgeo.balance.propose import balance
from gridgeo.balance.units import build_units, polsby_popper
from gridgeo.errors import InvalidInput


def community(seed: int = 7, n: int = 600, total: int = 3000, grids: tuple[int, int] = (4, 3)):
    """n buildings with total households in a 1,200 m × 900 m box; current grids in blocks."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform([0, 0], [1200, 900], size=(n, 2))
    hh = rng.multinomial(total - n, np.ones(n) / n) + 1
    gx, gy = grids
    cur = [f"g{int(x // (1200 / gx))}{int(y // (900 / gy))}" for x, y in xy]
    return xy, hh, shapely.box(0, 0, 1200, 900), cur


@pytest.fixture(scope="module")
def units():
    xy, hh, area, cur = community()
    return build_units(xy, hh, area, cur)


def contiguous(units, proposal) -> bool:
    return all(nx.is_connected(units.graph.subgraph(p.units)) for p in proposal.parts)


def test_units_cover_the_area_one_building_each(units) -> None:
    assert len(units) == 600
    assert int(units.households.sum()) == 3000
    covered = shapely.union_all(units.cells)
    assert covered.area == pytest.approx(1200 * 900, rel=1e-6)
    assert nx.is_connected(units.graph)
    for cell, (x, y) in zip(units.cells, units.xy, strict=True):
        assert cell.covers(shapely.Point(x, y))


def test_balanced_contiguous_and_figures(units) -> None:
    p = balance(units, 10, 0.10)
    assert len(p.parts) == 10
    assert contiguous(units, p)
    assert sorted(u for part in p.parts for u in part.units) == list(range(600))
    assert p.max_abs_deviation <= 0.10
    assert all(270 <= part.households <= 330 for part in p.parts)
    assert p.feasible and p.within_band and not p.reasons
    assert 0 < p.mean_polsby_popper < 1
    assert 0 <= p.moved_households < 3000
    s = p.summary()
    assert s["share"] == 300 and s["moved_households"] == p.moved_households


def test_deterministic(units) -> None:
    a = balance(units, 10)
    b = balance(units, 10)
    assert a.assignment == b.assignment and a.moved_households == b.moved_households


def test_stable_when_current_grids_are_already_good(units) -> None:
    first = balance(units, 10)
    xy, hh, area, _ = community()
    # the buildings' current grids are now the first proposal's parts
    by_building = {b: first.assignment[u] for u, ms in enumerate(units.members) for b in ms}
    again = build_units(xy, hh, area, [f"p{by_building[b]}" for b in range(len(xy))])
    second = balance(again, 10)
    assert second.moved_households == 0
    assert second.max_abs_deviation <= 0.10
    assert {p.current for p in second.parts} == {f"p{i}" for i in range(10)}


def test_big_building_is_a_grid_of_its_own() -> None:
    xy, hh, area, cur = community()
    hh = hh.copy()
    hh[0] += 600  # one building of 600+ households, far above the share
    u = build_units(xy, hh, area, cur)
    p = balance(u, 12)
    own = [part for part in p.parts if part.own_building]
    assert len(own) == 1 and len(own[0].units) == 1
    assert u.members[own[0].units[0]] == [0]
    assert own[0].deviation > 0.1
    assert any("grid of its own" in w for w in p.warnings)
    assert p.summary()["own_building_grids"] == 1
    assert p.summary()["max_abs_deviation_balanced"] <= 0.1
    assert contiguous(u, p)
    assert all(abs(part.deviation) <= 0.1 for part in p.parts if not part.own_building)
    assert p.within_band


def test_k_larger_than_units_is_infeasible_with_reason() -> None:
    xy, hh, area, cur = community(n=5, total=50)
    u = build_units(xy, hh, area, cur)
    p = balance(u, 8)
    assert not p.feasible and p.k == 8 and p.k_effective == 5
    assert len(p.parts) == 5
    assert any("more than the 5" in r for r in p.reasons)


def test_island_gets_its_own_grid() -> None:
    area = shapely.MultiPolygon([shapely.box(0, 0, 100, 100), shapely.box(500, 0, 600, 100)])
    xy = np.array([[10, 10], [50, 50], [90, 90], [10, 90], [550, 50]], dtype=float)
    u = build_units(xy, [10, 10, 10, 10, 5], area)
    p = balance(u, 1)
    assert not p.feasible and p.k_effective == 2
    assert any("islands" in r for r in p.reasons)


@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(units, k: int) -> None:
    with pytest.raises(InvalidInput):
        balance(units, k)


def test_no_households() -> None:
    u = build_units(np.array([[1.0, 1.0], [5.0, 5.0]]), [0, 0], shapely.box(0, 0, 10, 10))
    with pytest.raises(InvalidInput):
        balance(u, 1)


def test_polsby_popper() -> None:
    assert polsby_popper(shapely.Point(0, 0).buffer(1, 256)) == pytest.approx(1, abs=1e-3)
    assert polsby_popper(shapely.box(0, 0, 1, 1)) == pytest.approx(np.pi / 4)


def test_gerrychain_second_opinion_is_contiguous() -> None:
    from gridgeo.balance.partition import gerrychain_split

    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 10), ordering="sorted")
    pop = np.full(100, 3)
    groups = gerrychain_split(graph, list(range(100)), pop, 4, 0.1, seed=1)
    assert groups is not None and len(groups) == 4
    assert all(nx.is_connected(graph.subgraph(g)) for g in groups)
    assert all(abs(pop[g].sum() / 75 - 1) <= 0.1 for g in groups)
    pop_big = np.ones(100, dtype=int)
    pop_big[0] = 500  # a unit larger than any part: no cut exists
    assert gerrychain_split(graph, list(range(100)), pop_big, 4, 0.1) is None
