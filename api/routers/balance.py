"""Balancing: propose a redrawn partition of an area into grids (nothing is stored)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import check_area, require
from api.deps import ConnDep
from gridgeo.accounts import Account
from gridgeo.balance_db import propose

router = APIRouter(tags=["balance"])

Planner = Annotated[Account, Depends(require("planner", "admin"))]


class BalanceIn(BaseModel):
    """What to balance: an area and, optionally, the number of grids or households per grid."""

    model_config = ConfigDict(extra="forbid")
    area: str = Field(min_length=1, max_length=64, description="code of the area (a community)")
    k: int | None = Field(default=None, gt=0, le=1000, description="grids wanted")
    target: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="households per grid: k = ceil(households / target)",
    )
    band: float | None = Field(default=None, gt=0, lt=1, description="tolerance: 0.1 = ±10 %")


@router.post("/balance", summary="Propose a balanced partition of an area into grids")
def post_balance(
    request: Request, body: BalanceIn, conn: ConnDep, account: Planner
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of proposed grids with a ``summary`` of figures.

    ``k`` given, else ``ceil(households / target)``, else the area's workers. Every grid is
    contiguous; households are balanced within the band where the buildings allow; among good
    partitions the one moving fewest households from their current grid is chosen.
    """
    check_area(account, body.area)
    return propose(
        conn,
        body.area,
        k=body.k,
        target=body.target,
        band=body.band,
        default_standard=request.app.state.settings.households_per_worker,
    )
