"""Vector tiles of the levels for the map pages: ``/tiles/{layer}/{z}/{x}/{y}.pbf``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.auth import area_filter
from api.deps import ConnDep, HierarchyDep, MapViewer, SettingsDep
from gridgeo.tiles import MAX_ZOOM, MEDIA_TYPE, TileCache

router = APIRouter()

# Typed path parameters: FastAPI parses ASCII digits only (a superscript "²" passes
# str.isdigit() but not int()), and the ranges appear in the OpenAPI schema.
Zoom = Annotated[int, Path(ge=0, le=MAX_ZOOM, description=f"zoom level, 0..{MAX_ZOOM}")]
Column = Annotated[int, Path(ge=0, lt=2**MAX_ZOOM, description="tile column, 0..2**z - 1")]
Row = Annotated[int, Path(ge=0, lt=2**MAX_ZOOM, description="tile row, 0..2**z - 1")]


async def tile_cache(request: Request, settings: SettingsDep) -> TileCache:
    """The application's tile cache (made on first use)."""
    cache: TileCache | None = getattr(request.app.state, "tile_cache", None)
    if cache is None:
        cache = TileCache(settings.workload.households_per_worker)
        request.app.state.tile_cache = cache
    return cache


Tiles = Annotated[TileCache, Depends(tile_cache)]


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}},
    summary="A vector tile (MVT) of one level",
)
def tile(
    tiles: Tiles,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    layer: Annotated[str, Path(min_length=1, max_length=64, description="a level key")],
    z: Zoom,
    x: Column,
    y: Row,
) -> Response:
    """One Mapbox vector tile of the level ``layer`` (a level key, also the MVT layer name).

    Features carry code, name and level; the grid (leaf) level also households, workers,
    load, deviation, status and open incidents. Boundaries are generalised per zoom; only the
    caller's areas are included. Aggregates only: anonymous when GRIDGEO_PUBLIC_MAPS is on.
    """
    body = tiles.get(
        conn,
        hierarchy,
        layer=layer,
        z=z,
        x=x,
        y=y,
        areas=area_filter(account),
    )
    headers = {"Cache-Control": "private, max-age=60"}
    return Response(content=body, media_type=MEDIA_TYPE, headers=headers)


@router.get(
    "/tiles/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}},
    summary="A vector tile (MVT) with a layer per level",
)
def level_tile(
    request: Request,
    tiles: Tiles,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    z: Zoom,
    x: Column,
    y: Row,
    levels: Annotated[
        str | None,
        Query(max_length=500, description="only these level keys, comma-separated (default: all)"),
    ] = None,
) -> Response:
    """One tile with every level visible at ``z`` as its own MVT layer (the map pages' source).

    The layers are those of ``/tiles/{layer}/…`` (the leaf level first, then coarser ones);
    one request per tile instead of one per level. Gzipped when the client accepts it.
    ``levels`` keeps only the levels named (400 for an unknown one).
    """
    gz = "gzip" in request.headers.get("accept-encoding", "")
    body = tiles.get_levels(
        conn,
        hierarchy,
        z=z,
        x=x,
        y=y,
        areas=area_filter(account),
        compress=gz,
        only=None if levels is None else tuple(k for k in levels.split(",") if k),
    )
    headers = {"Cache-Control": "private, max-age=120", "Vary": "Accept-Encoding, Authorization"}
    if gz and body:
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=MEDIA_TYPE, headers=headers)
