"""The phone reporting page (``/report``): a public HTML/JS shell; its data calls need a token.

The shared front-end shell (``/shell-static``) logs the page in through ``POST /auth/token``
and keeps the bearer token on the phone; reports made offline are queued there and sent with an
``Idempotency-Key`` when the connection returns. The page's own scripts and styles are served
from ``/report-static`` (``api/report_static``). Its map has no internet base map; it draws the
worker's grids, the neighbours' outlines and the streets from ``GET /report/surroundings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.auth import area_filter
from api.deps import PUBLIC, AnyAccount, ConnDep, HierarchyDep, SettingsDep
from api.openapi_limits import BBOX_PATTERN, stated
from gridgeo.bbox import parse_bbox
from gridgeo.surroundings import MAX_ZOOM, MIN_ZOOM, surroundings

REPORT_STATIC_DIR = Path(__file__).resolve().parent.parent / "report_static"
REPORT_STATIC_URL = "/report-static"

router = APIRouter(tags=["report"])


@router.get(
    "/report",
    dependencies=[PUBLIC],
    summary="The phone reporting page (HTML)",
    response_class=FileResponse,
)
def report_page() -> FileResponse:
    """The mobile page; it asks for a login before any data call."""
    return FileResponse(
        REPORT_STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/report/surroundings", summary="The phone map: own grids, neighbours' outlines, lines")
def report_surroundings(
    conn: ConnDep,
    hierarchy: HierarchyDep,
    settings: SettingsDep,
    account: AnyAccount,
    bbox: Annotated[
        str,
        Query(
            description="the view, minlon,minlat,maxlon,maxlat (at most 0.5° a side)",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ],
    z: Annotated[
        int,
        Query(
            description="the map's zoom: geometry is simplified for it", ge=MIN_ZOOM, le=MAX_ZOOM
        ),
    ],
) -> dict[str, Any]:
    """Own leaf grids, the outlines and names of grids near them, the lines of the view.

    Neighbours are the grids within ``GRIDGEO_NEIGHBOUR_RADIUS_M`` of the caller's areas, sent
    with their code and name only (no households, workers or incidents). See :mod:`gridgeo.surroundings` for the rule and the bounds.
    """
    return surroundings(
        conn,
        hierarchy,
        bbox=parse_bbox(bbox),
        z=z,
        areas=area_filter(account),
        radius_m=settings.maps.neighbour_radius_m,
    )
