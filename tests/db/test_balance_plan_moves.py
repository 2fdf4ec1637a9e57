"""Issue 16: a balancing proposal and the plan opened from it count moved households one way.

The proposal counted households whose part was matched (by shared households) to another grid;
the plan gave its grids the codes of the grids they overlapped most by area, so its preview
counted other households (918 against 1,275 on the demo city). The plan now keeps the
proposal's matching, and both figures are "households whose grid changes".
"""

from __future__ import annotations

import pytest

from boundaries.plans.from_balance import proposal_to_plan
from gridgeo.balance.db import propose
from gridgeo.levels import load_hierarchy


@pytest.mark.parametrize("lines", [False, True])
def test_proposal_and_plan_preview_move_the_same_households(demo_conn, lines):
    area = "370705001001"
    p = propose(demo_conn, area, k=None, target=None, band=0.1, lines=lines, default_standard=300)
    out = proposal_to_plan(demo_conn, load_hierarchy(demo_conn), p, actor="admin", snap_m=1.0)
    moved = p["summary"]["moved_households"]
    assert out["preview"]["impact"]["households_moved"] == moved > 0
    kept = {f["properties"]["current_grid"] for f in p["features"]} - {None}
    assert kept  # the plan's grids keep the codes the balancer matched them to
