"""The leaders' dashboard (``/dashboard``) and its map (``/dashboard/map``).

The page is a static shell like ``/desk``: it signs in through ``/login`` (the read-only session
cookie; a bearer header works too) and draws everything from the evaluation API, so it shows
exactly what the account may see — aggregates of its own areas. Its charts are Apache ECharts,
served from here (offline). The map is a Folium page of the vector tiles coloured by one figure.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.auth import area_filter, check_area
from api.deps import PUBLIC, AnyAccount, Bases, ConnDep, HierarchyDep
from gridgeo.errors import InvalidInput
from gridgeo.evaluation.evaluate import scope_of
from gridgeo.evaluation.figures import FIGURE
from gridgeo.tiles import extent
from maps.evaluation_page import SCALES, build_evaluation_page
from maps.frame import render_page
from maps.incident_data import area_bounds
from maps.vector_layer import LevelLayer

DASHBOARD_STATIC_DIR = Path(__file__).resolve().parent.parent / "dashboard_static"
DASHBOARD_STATIC_URL = "/dashboard-static"

router = APIRouter(tags=["evaluation"])


def _extent(conn: ConnDep) -> list[list[float]] | None:
    box = extent(conn, areas=None)
    return None if box is None else [[box[1], box[0]], [box[3], box[2]]]


@router.get("/dashboard", dependencies=[PUBLIC], summary="The leaders' dashboard (HTML)",
            response_class=FileResponse)  # fmt: skip
def dashboard_page() -> FileResponse:
    """The dashboard page; it sends to ``/login`` before any data call when not signed in."""
    return FileResponse(
        DASHBOARD_STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/dashboard/map", response_class=HTMLResponse, summary="Areas coloured by a figure")
def dashboard_map(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    bases: Bases,
    level: Annotated[str | None, Query(description="the level of the areas")] = None,
    parent: Annotated[str | None, Query(description="an area code")] = None,
    figure: Annotated[str, Query(description="a figure: " + ", ".join(SCALES))] = "score",
    period: Annotated[str | None, Query(description="a month 2026-11, …")] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:
    """The areas of ``level`` under ``parent`` (defaults as ``GET /evaluation``) by ``figure``.

    400 for an unknown level or figure, 403 for a parent outside the caller's areas.
    """
    if parent:
        check_area(account, parent)
    if figure not in SCALES:
        raise InvalidInput(f"figure must be one of {', '.join(SCALES)}", field="figure")
    scope, key_level = scope_of(hierarchy, by="area", level=level, parent=parent,
                                areas=area_filter(account))  # fmt: skip
    query = {k: v for k, v in (("period", period), ("from", start and start.isoformat()),
                               ("to", end and end.isoformat())) if v}  # fmt: skip
    f = FIGURE[figure]
    fmap = build_evaluation_page(
        [LevelLayer(s.key, s.label_zh, s.label_en) for s in hierarchy.levels],
        level=key_level or hierarchy.levels[-1].key,
        parent=scope.parent,
        figure=figure,
        figure_label=f.zh if lang == "zh" else f.en,
        query=query,
        bounds=area_bounds(conn, scope.parent) if scope.parent else _extent(conn),
        lang=lang,
        bases=bases,
    )
    return HTMLResponse(render_page(fmap, lang))
