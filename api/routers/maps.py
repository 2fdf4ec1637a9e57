"""Map pages built with Folium."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.auth import area_filter, public_or
from api.deps import ConnDep, HierarchyDep
from gridgeo.accounts import Account
from gridgeo.grids import list_grids
from maps.grid_map import build_grid_map

router = APIRouter()


@router.get("/map", response_class=HTMLResponse, summary="Map of the grids, a layer per level")
def grid_map(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Annotated[Account | None, Depends(public_or(setting="public_maps"))],
) -> HTMLResponse:
    """A Folium page with one toggleable layer per level (outlines simplified to ~2 m).

    Aggregates only (no household points); anonymous callers when GRIDGEO_PUBLIC_MAPS is on.
    """
    layers = [
        (
            f"{spec.label_zh} {spec.label_en}",
            list_grids(
                conn,
                hierarchy,
                level=spec.key,
                simplify_m=2.0,
                precision=6,
                areas=area_filter(account),
            ),
        )
        for spec in hierarchy.levels
    ]
    tiles = request.app.state.settings.map_tiles or None
    fmap = build_grid_map(layers, title="gridgeo 网格地图", tiles=tiles)
    return HTMLResponse(fmap.get_root().render())
