"""Vector tiles of the levels for the map pages: ``/tiles/{layer}/{z}/{x}/{y}.pbf``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import area_filter
from api.deps import ConnDep, HierarchyDep, MapViewer, SettingsDep
from gridgeo.errors import InvalidInput
from gridgeo.tiles import MEDIA_TYPE, TileCache

router = APIRouter()


def _int(value: str, field: str) -> int:
    if not value.isdigit() or len(value) > 8:
        raise InvalidInput(f"{field} must be a whole number >= 0", field=field)
    return int(value)


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
    layer: str,
    z: str,
    x: str,
    y: str,
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
        z=_int(z, "z"),
        x=_int(x, "x"),
        y=_int(y, "y"),
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
    z: str,
    x: str,
    y: str,
) -> Response:
    """One tile with every level visible at ``z`` as its own MVT layer (the map pages' source).

    The layers are those of ``/tiles/{layer}/…`` (the leaf level first, then coarser ones);
    one request per tile instead of one per level. Gzipped when the client accepts it.
    """
    gz = "gzip" in request.headers.get("accept-encoding", "")
    body = tiles.get_levels(
        conn,
        hierarchy,
        z=_int(z, "z"),
        x=_int(x, "x"),
        y=_int(y, "y"),
        areas=area_filter(account),
        compress=gz,
    )
    headers = {"Cache-Control": "private, max-age=120", "Vary": "Accept-Encoding, Authorization"}
    if gz and body:
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=MEDIA_TYPE, headers=headers)
