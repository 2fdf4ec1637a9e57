"""Map pages built with Folium."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.auth import area_filter, public_or
from api.deps import ConnDep, HierarchyDep
from gridgeo.accounts import Account
from gridgeo.grids import list_grids
from gridgeo.tiles import extent, search_areas
from gridgeo.workload import DEFAULT_BAND, DEFAULT_STANDARD
from maps.grid_map import build_grid_map
from maps.grids_page import LevelLayer, build_grids_page, render_page

router = APIRouter()

MapViewer = Annotated[Account | None, Depends(public_or(setting="public_maps"))]


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


@router.get("/maps/grids", response_class=HTMLResponse, summary="Grid map on vector tiles")
def grids_page(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:
    """Every level as a toggleable vector-tile layer; grids filled by load against the standard.

    The page embeds no geometry: it loads ``/tiles/{level}/{z}/{x}/{y}.pbf``. Labels are in
    Chinese unless ``lang=en``. Aggregates only: anonymous when GRIDGEO_PUBLIC_MAPS is on.
    """
    box = extent(conn, areas=area_filter(account))
    levels = [LevelLayer(s.key, s.label_zh, s.label_en) for s in hierarchy.levels]
    fmap = build_grids_page(
        levels,
        bounds=None if box is None else [[box[1], box[0]], [box[3], box[2]]],
        lang=lang,
        tiles=request.app.state.settings.map_tiles or None,
        standard=DEFAULT_STANDARD,
        band=DEFAULT_BAND,
    )
    return HTMLResponse(render_page(fmap, lang))


@router.get("/maps/search", summary="Areas by code prefix or name, for the map search box")
def map_search(
    conn: ConnDep,
    account: MapViewer,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, object]]:
    """Current areas whose code starts with ``q`` or whose name contains it, with their bbox."""
    return search_areas(conn, q, areas=area_filter(account), limit=limit)
