"""Health, levels, grids, locate and households endpoints."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from api.auth import (
    AUTH_ATTR,
    account_on_loop,
    area_filter,
    check_area,
    check_role,
    credential_of,
    found_account,
    sent_credential,
)
from api.deps import PUBLIC, AnyAccount, ConnDep, HierarchyDep, HouseholdReader
from api.openapi_limits import BBOX_PATTERN, GEOJSON, LAT, LON, answers, stated
from api.statements import in_transaction, statements
from gridgeo.accounts import STAFF
from gridgeo.assign import LOCATE_AS_CALLER_SQL, check_lon_lat, locate
from gridgeo.bbox import parse_bbox
from gridgeo.grids import get_grid, list_grids
from gridgeo.households import list_households
from gridgeo.tokens import resolve_params, resolved

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


async def locate_point(
    request: Request,
    lon: Annotated[float, Query(description="WGS84 longitude", json_schema_extra=stated(**LON))],
    lat: Annotated[float, Query(description="WGS84 latitude", json_schema_extra=stated(**LAT))],
    building: Annotated[
        str | None, Query(description="a building's code: its point and unit decide")
    ] = None,
    unit: Annotated[
        str | None, Query(description="the unit (单元) number in that building")
    ] = None,
) -> Response:
    """200 with the chain; 404 with the nearest grid and its distance when outside all grids.

    With ``building`` (and ``unit``), the grid that holds that building's unit (a unit may be
    assigned to another grid than its building's), whatever the point.

    A point alone is one prepared statement on the event loop that authenticates the caller
    too (:data:`gridgeo.assign.LOCATE_AS_CALLER_SQL`: the token, ``gridgeo_locate`` and the
    chain as JSON built by PostgreSQL): no worker thread, no pool checkout, no transaction
    around it. Measured interleaved with the route as it was (1M households, load 11): p50
    1.72 ms against 4.70, p99 14.1 against 28.0; pinned at real-time priority 0.83 / 1.39 ms
    (docs/benchmarks.md). A building, or a request that will be refused, goes the usual way.
    """
    if building is None and unit is None and _usable(lon, lat):
        credential, from_cookie = credential_of(request, sent_credential(request), None)
        params = resolve_params(credential) if credential is not None else None
        if params is not None:
            row = await statements(request).one(
                LOCATE_AS_CALLER_SQL, {**params, "lon": lon, "lat": lat}
            )
            check_role(found_account(request, resolved(row), from_cookie), STAFF)
            assert row is not None  # found_account refused a missing row
            return _located(lon, lat, row)
    await account_on_loop(request, STAFF, cookie=True)
    check_lon_lat(lon, lat)
    loc = await in_transaction(
        request, lambda conn: locate(conn, lon, lat, building=building, unit=unit)
    )
    if loc.chain:
        chain = [{"code": c.code, "name": c.name, "level": c.level} for c in loc.chain]
        return _json({"lon": lon, "lat": lat, "grid": chain[-1], "chain": chain})
    near = loc.nearest
    return _outside(lon, lat, None if near is None else (near.code, near.name, near.level),
                    None if near is None else near.distance_m)  # fmt: skip


setattr(locate_point, AUTH_ATTR, STAFF)
router.add_api_route(
    "/locate",
    locate_point,
    methods=["GET"],
    summary="Point → chain of grids from the top level to the leaf",
    response_class=Response,
    openapi_extra={"security": [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]},
)


def _usable(lon: float, lat: float) -> bool:
    """Finite WGS84 degrees (else check_lon_lat names what is wrong, after the caller's check)."""
    return math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90


def _json(data: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode(), status_code=status, media_type="application/json")


def _located(lon: float, lat: float, row: dict[str, Any]) -> Response:
    """The answer from the row of LOCATE_AS_CALLER_SQL: the chain's JSON is PostgreSQL's."""
    if row["chain"] is not None and row["metres"] is None:
        body = b"".join((
            b'{"lon":', repr(lon).encode(), b',"lat":', repr(lat).encode(),
            b',"grid":', row["leaf"].encode(), b',"chain":', row["chain"].encode(), b"}",
        ))  # fmt: skip
        return Response(body, media_type="application/json")
    near = json.loads(row["leaf"]) if row["leaf"] is not None else None
    grid = None if near is None else (near["code"], near["name"], near["level"])
    return _outside(lon, lat, grid, row["metres"])


def _outside(
    lon: float, lat: float, grid: tuple[str, str, str] | None, metres: float | None
) -> Response:
    """404 naming the nearest grid (code, name, level) and its distance, in zh and en."""
    en = f"the point ({lon}, {lat}) is outside every grid"
    body: dict[str, Any] = {
        "error": "NotFound",
        "message": en,
        "code": "outside_every_grid",
        "messages": {"en": en, "zh": f"该点（{lon}, {lat}）不在任何网格内"},
        "lon": lon,
        "lat": lat,
        "nearest": None,
    }
    if grid is not None and metres is not None:
        code, name, level = grid
        body["nearest"] = {
            "code": code,
            "name": name,
            "level": level,
            "distance_m": round(metres, 1),
        }
    return _json(body, 404)


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
