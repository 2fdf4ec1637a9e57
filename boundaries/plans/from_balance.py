"""A balancing proposal becomes a plan (a draft): previewed, then committed via /plans."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from sqlalchemy import Connection

from boundaries.plans.drafts import load_draft, plan_summary
from boundaries.plans.preview import preview
from boundaries.plans.proposals import plan_from_proposal
from gridgeo.levels import Hierarchy


def proposal_to_plan(
    conn: Connection,
    hierarchy: Hierarchy,
    proposal: dict[str, Any],
    *,
    actor: str,
    snap_m: float,
    title: str | None = None,
) -> dict[str, Any]:
    """Open a plan holding the proposed grids; returns the plan's record and its preview.

    ``snap_m`` is the plans' snapping distance (``boundaries.plan_snap_m``), also the
    tolerance of the preview's topology checks.

    Nothing changes in the stored grids until the plan is committed (``POST /plans/{id}/commit``).
    """
    s = proposal["summary"]
    # Each part keeps the code of the current grid the balancer matched it to (by the households
    # they share), so the plan's preview counts as moved exactly the households the proposal
    # counted: one definition of a moved household (old grid ≠ new grid), not a second matching.
    grids = [
        {
            "geometry": shape(f["geometry"]),
            "workers": int(f["properties"]["workers"]),
            "code": f["properties"].get("current_grid"),
        }
        for f in proposal["features"]
    ]
    detail = {
        k: s[k] for k in ("k", "max_abs_deviation", "moved_households", "line_share") if k in s
    }
    plan = plan_from_proposal(
        conn,
        hierarchy,
        s["area"],
        title or f"balance {s['area']} into {len(grids)} grids",
        actor,
        grids,
        source="balance",
        detail=detail,
    )
    draft = load_draft(conn, hierarchy, int(plan["id"]), snap_m=snap_m)
    out = preview(conn, draft, standard=s["standard"], tolerance_m=snap_m)
    return {"plan": plan_summary(plan), "preview": out}
