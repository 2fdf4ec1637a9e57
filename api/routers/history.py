"""Grid history, any level as it stood at a date, and exports of a level as a file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.auth import area_filter, check_area
from api.deps import AnyAccount, ConnDep, HierarchyDep, Planner
from api.openapi_limits import BBOX_PATTERN, GEOJSON, answers, stated
from boundaries.export import FORMATS, export_grids, zip_shapefile
from gridgeo.bbox import parse_bbox
from gridgeo.versions import grid_history, grids_at, parse_instant

router = APIRouter(tags=["history"])
MEDIA = {
    "geojson": GEOJSON,
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
}
AT = "a date (2026-01-01) or date-time; without an offset it is China time (UTC+8)"


@router.get(
    "/grids/{code}/history",
    summary="Every version of a grid: who, when and why",
    responses=answers(GEOJSON),
)
def history(code: str, conn: ConnDep, account: AnyAccount) -> JSONResponse:
    """A FeatureCollection of the grid's versions, oldest first.

    Each carries valid_from/valid_to, the change that made it (changed_by, message, kind) and
    the one that closed it.
    """
    check_area(account, code)
    return JSONResponse(grid_history(conn, code), media_type=GEOJSON)


@router.get(
    "/history/grids",
    summary="A level as it stood at a date, as GeoJSON",
    responses=answers(GEOJSON),
)
def grids_as_of(
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    level: str,
    at: Annotated[str | None, Query(description=AT + "; absent: now")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ] = None,
) -> JSONResponse:
    """The versions of the level's grids valid at ``at``, within the caller's areas."""
    when = parse_instant(at) if at is not None else None
    box = parse_bbox(bbox) if bbox is not None else None
    fc = grids_at(conn, hierarchy, level, when, bbox=box, areas=area_filter(account))
    return JSONResponse(fc, media_type=GEOJSON)


@router.get("/export/grids", summary="Download a level as GeoJSON, GeoPackage or Shapefile")
def export(
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
    level: str,
    format: Literal["geojson", "gpkg", "shp"] = "geojson",
    crs: Annotated[int, Query(description="4326 (WGS84) or 4490 (CGCS2000)")] = 4326,
    at: Annotated[str | None, Query(description=AT + "; absent: now")] = None,
    area: Annotated[
        str | None, Query(max_length=64, description="only at or below this code")
    ] = None,
) -> Response:
    """The file (a Shapefile comes zipped) of the grids within the caller's areas.

    With ``area``, only the grids at or below it (403 outside the caller's areas).

    Fields: code, name, level, parent_code (``parent`` in a Shapefile), workers, version,
    valid_from, valid_to; ``gridgeo import grids`` reads it back.
    """
    when = parse_instant(at) if at is not None else None
    if area is not None:
        check_area(account, area)
    areas = (area,) if area is not None else area_filter(account)
    stem = f"{level}-" + (f"{area}-" if area else "") + f"{crs}" + (f"-{at[:10]}" if at else "")
    with tempfile.TemporaryDirectory(prefix="gridgeo-export-") as tmp:
        path = Path(tmp) / (stem + FORMATS[format])
        export_grids(conn, hierarchy, level, path, crs=crs, at=when, areas=areas)
        if format == "shp":
            path = zip_shapefile(path, Path(tmp) / (stem + ".zip"))
        body = path.read_bytes()
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
    )
