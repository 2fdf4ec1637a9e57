"""Buildings split by unit (单元) only when the households force it, and said so (no database)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import shapely

from gridgeo.balance.ladder import settle
from gridgeo.balance.stairwells import Housing, regroup, split_buildings, unit_words
from gridgeo.balance.units import build_units
from gridgeo.balance.words import say


def row_of_buildings(spec: list[tuple[str, list[int], float]], extra: list | None = None):
    """Buildings in a row along y = 50: (name, households per unit, x of unit 1); units 10 m
    apart, one household row (carrier) per unit at its stairwell."""
    xy, hh, b_of, u_of, numbers, unit_b = [], [], [], [], [], []
    for b, (_, units, x0) in enumerate(spec):
        for i, n in enumerate(units):
            xy.append((x0 + 10 * i, 50.0))
            hh.append(n)
            b_of.append(b)
            u_of.append(len(numbers))
            numbers.append(str(i + 1))
            unit_b.append(b)
    for x, y, n in extra or []:  # rows with no building
        xy.append((x, y))
        hh.append(n)
        b_of.append(-1)
        u_of.append(-1)
    housing = Housing(
        np.array(b_of),
        np.array(u_of),
        [name for name, _, _ in spec],
        [f"B{b}" for b in range(len(spec))],
        numbers,
        np.array(unit_b),
    )
    area = shapely.box(-20, 0, max(x for x, _ in xy) + 20, 100)
    return build_units(np.array(xy), np.array(hh), area), housing


SPEC = [
    ("1号楼", [50, 50, 50], 0.0),
    ("2号楼", [50, 50, 50, 50], 60.0),
    ("3号楼", [50, 50, 50], 130.0),
]


def test_whole_buildings_and_a_chain_of_units() -> None:
    fine, housing = row_of_buildings(SPEC)
    whole = regroup(fine, housing, None)
    assert len(whole) == 3 and whole.households.tolist() == [150, 200, 150]
    assert sorted(whole.graph.edges()) == [(0, 1), (1, 2)]
    assert whole.names == ["1号楼", "2号楼", "3号楼"]
    split = regroup(fine, housing, 160)  # only 2号楼 (200 households) by unit
    assert len(split) == 6
    assert split.names[1:5] == [f"2号楼 {i}单元" for i in range(1, 5)]
    chain = nx.shortest_path(split.graph, 0, 5)
    assert [split.names[i] for i in chain] == [
        "1号楼", "2号楼 1单元", "2号楼 2单元", "2号楼 3单元", "2号楼 4单元", "3号楼"
    ]  # fmt: skip
    assert split.graph[1][2]["w"] > split.graph[0][1]["w"]  # cutting a building costs more


def test_middle_units_do_not_reach_the_neighbours() -> None:
    fine, housing = row_of_buildings([("5号楼", [60, 60, 60], 0.0)], extra=[(10, 95, 40)])
    atoms = regroup(fine, housing, 0)
    north = atoms.households.tolist().index(40)
    unit = {atoms.names[i]: i for i in range(len(atoms))}
    assert atoms.graph.has_edge(north, unit["5号楼 1单元"])
    assert atoms.graph.has_edge(north, unit["5号楼 3单元"])
    assert not atoms.graph.has_edge(north, unit["5号楼 2单元"])  # the middle stairwell
    assert not atoms.graph.has_edge(unit["5号楼 1单元"], unit["5号楼 3单元"])


def test_a_building_is_split_only_when_forced_and_the_answer_says_how() -> None:
    fine, housing = row_of_buildings(SPEC)
    # 500 households into 2 grids of 225–275: whole buildings give 150 | 350 or 350 | 150
    done = settle(
        [lambda: regroup(fine, housing, None), lambda: regroup(fine, housing, 0)], 2, 0.10
    )
    assert done.status == "within_band" and done.level == 1
    assert sorted(q.households for q in done.proposal.parts) == [250, 250]
    split = split_buildings(done.units, done.proposal.assignment, housing, ["A", "B"])
    assert [s["building"] for s in split] == ["2号楼"]  # 1号楼 and 3号楼 stay whole
    parts = split[0]["parts"]
    assert [p["units"] for p in parts] == [["1", "2"], ["3", "4"]]
    said = split[0]["said"]
    assert said[0]["zh"].startswith("2号楼 1–2单元 → 网格")
    assert said[1]["en"].startswith("2号楼 units 3–4 → grid")


def test_whole_buildings_suffice_then_nothing_is_split() -> None:
    fine, housing = row_of_buildings(SPEC)
    done = settle([lambda: regroup(fine, housing, None)], 3, 0.35)  # 150/200/150 of 167 ± 35 %
    assert done.status == "within_band" and done.method == "tree"
    assert split_buildings(done.units, done.proposal.assignment, housing, list("ABC")) == []


def test_a_unit_too_big_is_named_as_the_proof() -> None:
    fine, housing = row_of_buildings([("7号楼", [420, 60], 0.0), ("8号楼", [100, 80], 40.0)])
    done = settle([lambda: regroup(fine, housing, 0)], 2, 0.10)
    assert done.status == "infeasible" and done.reason is not None
    assert "7号楼 1单元 holds 420 households > 363" in say(done.reason, "en")
    assert "7号楼 1单元 有 420 户" in say(done.reason, "zh")


def test_unit_words() -> None:
    assert unit_words(["1", "2", "4"]) == ("units 1–2, 4", "1–2、4单元")
    assert unit_words(["3"]) == ("unit 3", "3单元")
