"""The exact method (CP-SAT) on small graphs whose answer is known; milliseconds each."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from gridgeo.balance.exact import band_limits, exact_partition, precheck
from gridgeo.balance.partition import gerrychain_split
from gridgeo.balance.words import say

# A tree of 12 atoms found by search (seed 168): a partition into 3 grids of 240–293
# households exists, but GerryChain's recursive_tree_part carves a first grid that leaves a
# remainder with no balanced cut, and fails for every seed tried.
TREE_EDGES = [(0, 11), (1, 4), (1, 8), (2, 6), (2, 3), (3, 8), (3, 10), (3, 11), (5, 7),
              (5, 6), (8, 9)]  # fmt: skip
TREE_POP = [20, 100, 60, 80, 40, 40, 100, 40, 40, 100, 100, 80]


def contiguous(graph: nx.Graph, groups: list[list[int]]) -> bool:
    return all(nx.is_connected(graph.subgraph(g)) for g in groups)


def test_feasible_path_is_cut_in_the_middle() -> None:
    g = nx.path_graph(6)
    ex = exact_partition(g, [100] * 6, 2, 0.10)
    assert ex.status == "feasible"
    assert sorted(map(sorted, ex.groups or [])) == [[0, 1, 2], [3, 4, 5]]
    assert (ex.lo, ex.hi) == (270, 330)


def test_unavoidable_atom_is_named() -> None:
    g = nx.path_graph(3)
    ex = exact_partition(g, [400, 100, 100], 2, 0.10, names=["3号楼", "4号楼", "5号楼"])
    assert ex.status == "infeasible"
    assert ex.reason.key == "unavoidable_atom"
    assert "3号楼 holds 400 households > 330" in say(ex.reason, "en")
    assert "3号楼 有 400 户" in say(ex.reason, "zh")


def test_counting_argument_on_an_island() -> None:
    g = nx.Graph([(0, 1), (1, 2), (3, 4)])  # an island of two atoms
    ex = exact_partition(g, [100, 100, 100, 60, 40], 2, 0.10)  # share 200: 180–220
    assert ex.status == "infeasible" and ex.reason.key == "piece_fits_no_grids"


def test_star_is_proved_infeasible_by_the_solver() -> None:
    # a hub of 50 with three leaves of 100, 3 grids of 105–128: every grid needs one leaf,
    # so two leaves stand alone with 100 < 105. The quick checks pass; CP-SAT proves it.
    g = nx.star_graph(3)
    pop = [50, 100, 100, 100]
    assert precheck(g, np.array(pop), 3, *band_limits(350, 3, 0.10)) is None
    ex = exact_partition(g, pop, 3, 0.10)
    assert ex.status == "infeasible" and ex.reason.key == "exact_proved"
    assert "CP-SAT proved in" in say(ex.reason, "en")
    assert "CP-SAT 用" in say(ex.reason, "zh")


def test_cp_sat_finds_what_gerrychain_misses() -> None:
    g = nx.Graph(TREE_EDGES)
    pop = np.array(TREE_POP)
    nodes = list(range(12))
    assert all(gerrychain_split(g, nodes, pop, 3, 0.10, seed=s) is None for s in range(5))
    ex = exact_partition(g, pop, 3, 0.10)
    assert ex.status == "feasible" and ex.groups is not None
    assert sorted(u for grp in ex.groups for u in grp) == nodes
    assert contiguous(g, ex.groups)
    assert all(ex.lo <= pop[grp].sum() <= ex.hi for grp in ex.groups)


def test_hint_and_grid_graph() -> None:
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))
    pop = [25] * 16
    hint = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    ex = exact_partition(g, pop, 4, 0.05, hint=hint)
    assert ex.status == "feasible" and ex.groups is not None
    assert contiguous(g, ex.groups) and all(sum(pop[u] for u in grp) == 100 for grp in ex.groups)


def test_time_limit_says_unknown() -> None:
    # a 9×9 grid of 1s into 9 grids of exactly 9 with no slack, given no time at all
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(9, 9))
    ex = exact_partition(g, [1] * 81, 9, 0.001, time_limit=0.0001)
    assert ex.status in ("unknown", "feasible")
    if ex.status == "unknown":
        assert ex.reason.key == "exact_time_limit" and "未知" in say(ex.reason, "zh")


@pytest.mark.parametrize("k", [1, 2])
def test_k_of_one_or_more_atoms_than_grids(k: int) -> None:
    g = nx.path_graph(2)
    ex = exact_partition(g, [150, 150], k, 0.10)
    assert ex.status == "feasible"
    ex = exact_partition(g, [150, 150], 3, 0.10)
    assert ex.status == "infeasible" and ex.reason.key == "more_grids_than_atoms"
