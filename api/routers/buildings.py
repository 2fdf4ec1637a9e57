"""A grid's buildings, units, households and heads (GET /grids/{code}/buildings)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import check_area
from api.deps import AnyAccount, ConnDep
from gridgeo.buildings.queries import DETAIL_ROLES, grid_buildings

router = APIRouter()


@router.get("/grids/{code}/buildings", summary="A grid's buildings with units and heads")
def buildings_of_grid(code: str, conn: ConnDep, account: AnyAccount) -> dict[str, Any]:
    """Buildings of the grid; units, heads and phones for planners, patrol staff, dispatchers.

    Viewers see counts per building only. A building split between grids lists each unit's
    grid (``split``).
    """
    check_area(account, code)
    return grid_buildings(conn, code, detail=account.role in DETAIL_ROLES)
