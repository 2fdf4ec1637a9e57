"""Health, levels, grids, locate and households endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from api.auth import area_filter, check_area
from api.deps import PUBLIC, AnyAccount, ConnDep, HierarchyDep, HouseholdReader
from api.openapi_limits import BBOX_PATTERN, GEOJSON, LAT, LON, answers, stated
from gridgeo.assign import locate
from gridgeo.bbox import parse_bbox
from gridgeo.grids import get_grid, list_grids
from gridgeo.households import list_households

router = APIRouter()


@router.get("/health", summary="Service and database health", dependencies=[PUBLIC])
def health(conn: ConnDep) -> dict[str, Any]:
    """Check that the database answers and has PostGIS."""
    version = conn.execute(text("SELECT postgis_lib_version()")).scalar()
    grids = conn.execute(text("SELECT count(*) FROM current_grids")).scalar()
    return {"status": "ok", "database": "ok", "postgis": version, "grids": grids}


@router.get("/levels", summary="The chain of area levels")
def levels(hierarchy: HierarchyDep, _: AnyAccount) -> list[dict[str, Any]]:
    """The configured levels, top first."""
    return [
        {
            "key": s.key,
            "depth": s.depth,
            "code_width": s.code_width,
            "code_length": s.code_length,
            "label_zh": s.label_zh,
            "label_en": s.label_en,
        }
        for s in hierarchy.levels
    ]


@router.get(
    "/grids",
    summary="Grids as GeoJSON",
    response_class=JSONResponse,
    responses=answers(GEOJSON),
)
def grids(
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    level: str | None = None,
    parent: str | None = None,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ] = None,
) -> JSONResponse:
    """A FeatureCollection with code, name, level, parent_code, workers, households, load.

    Only grids within the caller's areas are listed.
    """
    box = parse_bbox(bbox) if bbox is not None else None
    if parent is not None:
        check_area(account, parent)
    fc = list_grids(
        conn, hierarchy, level=level, parent=parent, bbox=box, areas=area_filter(account)
    )
    return JSONResponse(fc, media_type=GEOJSON)


@router.get(
    "/grids/{code}", summary="One grid with its ancestors and children", responses=answers(GEOJSON)
)
def grid(code: str, conn: ConnDep, hierarchy: HierarchyDep, account: AnyAccount) -> JSONResponse:
    """A GeoJSON Feature; properties list the codes of its ancestors and children."""
    check_area(account, code)
    return JSONResponse(get_grid(conn, hierarchy, code), media_type=GEOJSON)


@router.get("/locate", summary="Point → chain of grids from the top level to the leaf")
def locate_point(
    conn: ConnDep,
    _: AnyAccount,
    lon: Annotated[float, Query(description="WGS84 longitude", json_schema_extra=stated(**LON))],
    lat: Annotated[float, Query(description="WGS84 latitude", json_schema_extra=stated(**LAT))],
    building: Annotated[
        str | None, Query(description="a building's code: its point and unit decide")
    ] = None,
    unit: Annotated[
        str | None, Query(description="the unit (单元) number in that building")
    ] = None,
) -> JSONResponse:
    """200 with the chain; 404 with the nearest grid and its distance when outside all grids.

    With ``building`` (and ``unit``), the grid that holds that building's unit (a unit may be
    assigned to another grid than its building's), whatever the point.
    """
    loc = locate(conn, lon, lat, building=building, unit=unit)
    if loc.chain:
        chain = [{"code": c.code, "name": c.name, "level": c.level} for c in loc.chain]
        return JSONResponse({"lon": lon, "lat": lat, "grid": chain[-1], "chain": chain})
    body: dict[str, Any] = {
        "error": "NotFound",
        "message": f"the point ({lon}, {lat}) is outside every grid",
        "lon": lon,
        "lat": lat,
        "nearest": None,
    }
    if loc.nearest is not None:
        n = loc.nearest
        body["nearest"] = {
            "code": n.code,
            "name": n.name,
            "level": n.level,
            "distance_m": round(n.distance_m, 1),
        }
    return JSONResponse(body, status_code=404)


@router.get(
    "/households", summary="Paged household points (personal data)", responses=answers(GEOJSON)
)
def households(
    conn: ConnDep,
    account: HouseholdReader,
    grid: str | None = None,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    after: Annotated[int, Query(ge=0, description="keyset: the next_after of the last page")] = 0,
) -> JSONResponse:
    """Households of a grid (and the grids below it) or a bbox, 'limit' at a time.

    Personal data: planners and patrol staff only, within their areas.
    """
    box = parse_bbox(bbox) if bbox is not None else None
    if grid is not None:
        check_area(account, grid)
    page = list_households(
        conn, grid=grid, bbox=box, limit=limit, after=after, areas=area_filter(account)
    )
    return JSONResponse(page, media_type=GEOJSON)


@router.get("/favicon.ico", dependencies=[PUBLIC], include_in_schema=False)
def favicon() -> Response:
    """No icon (browsers ask for one on every page)."""
    return Response(status_code=204)
