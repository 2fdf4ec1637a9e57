"""Balancing along lines: blocks cut by streets, whole blocks per grid (no database)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from gridgeo.balance.lines import balance_along_lines, cut_blocks, line_share
from gridgeo.balance.propose import balance
from gridgeo.balance.units import build_units

SIDE = 1200.0


def lattice(n: int = 4) -> list[LineString]:
    """Streets every SIDE / n metres both ways, overshooting the area by 50 m."""
    cuts = [SIDE * i / n for i in range(1, n)]
    return [LineString([(c, -50), (c, SIDE + 50)]) for c in cuts] + [
        LineString([(-50, c), (SIDE + 50, c)]) for c in cuts
    ]


def buildings(per_block: int = 5, n: int = 4, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``per_block`` buildings inside each block, 20 m from its streets."""
    rng = np.random.default_rng(seed)
    step = SIDE / n
    xy = [
        rng.uniform([i * step + 20, j * step + 20], [(i + 1) * step - 20, (j + 1) * step - 20])
        for i in range(n)
        for j in range(n)
        for _ in range(per_block)
    ]
    hh = rng.integers(10, 20, len(xy))
    return np.array(xy), hh


AREA = shapely.box(0, 0, SIDE, SIDE)


def test_cut_blocks_cover_the_area_without_slivers() -> None:
    edge = LineString([(0, 0), (SIDE, 0)])  # a road along the outline cuts nothing
    blocks = cut_blocks(AREA, [*lattice(), edge])
    assert len(blocks) == 16
    assert shapely.union_all(blocks).area == pytest.approx(AREA.area, rel=1e-9)
    assert sum(b.area for b in blocks) == pytest.approx(AREA.area, rel=1e-9)
    assert cut_blocks(AREA, []) == [AREA]


def test_grids_are_unions_of_whole_blocks_along_the_streets() -> None:
    xy, hh = buildings()
    # equal blocks: 4 grids of 4 blocks each fit the band without splitting a block
    hh = np.full(len(xy), 15)
    found = balance_along_lines(xy, hh, AREA, lattice(), 4, 0.10)
    p = found.proposal
    assert found.blocks == 16 and found.blocks_split == 0
    assert p.within_band and p.feasible and len(p.parts) == 4
    assert found.line_share is not None and found.line_share > 0.99
    assert all(nx.is_connected(found.units.graph.subgraph(q.units)) for q in p.parts)
    assert sorted(b for q in p.parts for u in q.units for b in found.units.members[u]) == list(
        range(len(xy))
    )
    # the same buildings balanced around the buildings cut across the blocks
    around = balance(build_units(xy, hh, AREA), 4, 0.10)
    share = line_share([q.geometry for q in around.parts], AREA, lattice())
    assert share is not None and share < found.line_share - 0.2


def test_a_block_over_the_band_is_split_and_the_rest_stay_whole() -> None:
    xy, hh = buildings(per_block=6)
    hh = np.full(len(xy), 10)
    hh[:6] = 60  # block 0 holds 360 households: more than a grid of 1,140 / 4 = 285 ± 10 %
    found = balance_along_lines(xy, hh, AREA, lattice(), 4, 0.10)
    p = found.proposal
    assert found.blocks_split >= 1
    assert p.within_band
    assert found.line_share is not None and found.line_share > 0.6
    assert max(abs(q.deviation) for q in p.parts) <= 0.10


def test_line_share_is_none_for_one_grid() -> None:
    assert line_share([AREA], AREA, lattice()) is None
    halves = [shapely.box(0, 0, 600, SIDE), shapely.box(600, 0, SIDE, SIDE)]
    assert line_share(halves, AREA, lattice(2)) == pytest.approx(1.0)
    assert line_share(halves, AREA, [LineString([(0, 900), (SIDE, 900)])]) == pytest.approx(
        10 / SIDE, rel=0.01
    )
