"""Suggestions without redrawing: worker moves, merges, splits (no database)."""

from __future__ import annotations

from gridgeo.balance.suggest import GridLoad, suggest


def grid(code: str, households: int, workers: int, parent: str = "c1") -> GridLoad:
    return GridLoad(code, parent, households, workers, 300, 0.10)


def test_a_worker_moves_from_an_under_to_an_over_loaded_neighbour() -> None:
    a, b, c = grid("a", 600, 1), grid("b", 300, 2), grid("c", 100, 3)
    out = suggest([a, b, c], {("a", "b")})
    assert out[0] == out[0] | {"action": "move_worker", "from": "b", "to": "a"}
    assert (a.workers, b.workers) == (2, 1)
    assert not a.over and not b.under
    assert all(s.get("from") != "c" for s in out)  # c is not a neighbour of a


def test_no_move_that_makes_the_donor_over_loaded() -> None:
    a, b = grid("a", 700, 1), grid("b", 600, 2)
    out = suggest([a, b], {("a", "b")})
    assert not any(s["action"] == "move_worker" for s in out)
    assert b.workers == 2


def test_under_loaded_neighbours_merge_and_free_a_worker_for_the_over_loaded() -> None:
    c, d, e = grid("c", 120, 1), grid("d", 150, 1), grid("e", 700, 2)
    out = suggest([c, d, e], {("c", "d")})
    merge = next(s for s in out if s["action"] == "merge")
    assert merge["grids"] == ["c", "d"] and merge["frees_workers"] == 1
    assert {"action": "move_worker", "from": "c", "to": "e", "workers": 1}.items() <= next(
        s for s in out if s["action"] == "move_worker"
    ).items()
    assert e.workers == 3


def test_split_or_add_workers_when_no_neighbour_can_help() -> None:
    big, small = grid("big", 1000, 1), grid("small", 400, 1)
    out = suggest([big, small], set())
    split = next(s for s in out if s["action"] == "split")
    assert split["grid"] == "big" and split["split_off_households"] == 700
    assert split["new_grid_workers"] == 2
    add = next(s for s in out if s["action"] == "add_workers")
    assert add["grid"] == "small" and add["workers"] == 1


def test_balanced_grids_need_nothing() -> None:
    assert suggest([grid("a", 300, 1), grid("b", 590, 2)], {("a", "b")}) == []
