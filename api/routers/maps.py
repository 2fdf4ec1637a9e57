"""Map pages built with Folium: grids, one area, incidents, workload; their data endpoints."""

from __future__ import annotations

import gzip
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.auth import area_filter, check_area
from api.deps import AnyAccount, Bases, ConnDep, HierarchyDep, MapViewer, Now, SettingsDep
from api.routers.login import SHELL_STATIC_URL
from gridgeo.accounts import Account
from gridgeo.buildings.queries import DETAIL_ROLES, grid_buildings
from gridgeo.grids import get_grid, list_grids
from gridgeo.levels import Hierarchy
from gridgeo.tiles import extent, search_areas
from gridgeo.workers import list_workers
from gridgeo.workload import DEFAULT_BAND, workload_report
from maps.area_data import household_spots
from maps.area_page import build_area_page
from maps.assets import inline_assets
from maps.exports import add_tools
from maps.frame import render_page
from maps.grid_map import build_grid_map
from maps.grids_page import build_grids_page
from maps.incident_data import (
    IncidentFilter,
    area_bounds,
    area_outline,
    categories,
    check_filter,
    incident_points,
)
from maps.incidents_page import build_incidents_page
from maps.vector_layer import LevelLayer
from maps.workload_page import build_workload_page

router = APIRouter()

Lang = Annotated[str, Query(pattern="^(zh|en)$", description="zh (default) or en")]
HOUSEHOLD_ROLES = ("admin", "planner", "patrol")


def _levels(hierarchy: Hierarchy) -> list[LevelLayer]:
    return [LevelLayer(s.key, s.label_zh, s.label_en) for s in hierarchy.levels]


def _box(conn: ConnDep, account: Account | None) -> list[list[float]] | None:
    box = extent(conn, areas=area_filter(account))
    return None if box is None else [[box[1], box[0]], [box[3], box[2]]]


def _role(account: Account | None) -> str | None:
    return None if account is None else account.role


def other_language_link(request: Request, lang: str) -> str:
    """The same page in the other language (other query parameters kept)."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    if lang == "zh":
        params["lang"] = "en"
    return "?" + urlencode(params) if params else "?lang=zh"


def compressed_html(request: Request, html: str) -> HTMLResponse:
    """``html`` gzipped when the client accepts it (a page with its scripts inlined: ~4× less)."""
    body = html.encode()
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "private, no-cache"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return HTMLResponse(body, headers=headers)


@router.get("/map", response_class=HTMLResponse, summary="Map of the grids, a layer per level")
def grid_map(
    bases: Bases, conn: ConnDep, hierarchy: HierarchyDep, account: MapViewer
) -> HTMLResponse:
    """A Folium page with one toggleable layer per level (outlines simplified to ~2 m).

    Aggregates only (no household points); anonymous callers when GRIDGEO_PUBLIC_MAPS is on.
    """
    layers = [
        (
            f"{spec.label_zh} {spec.label_en}",
            list_grids(
                conn, hierarchy, level=spec.key, simplify_m=2.0, precision=6,
                areas=area_filter(account),
            ),
        )
        for spec in hierarchy.levels
    ]  # fmt: skip
    tiles = "OpenStreetMap" if bases[0].key == "osm" else None
    fmap = build_grid_map(layers, title="gridgeo 网格地图", tiles=tiles)
    return HTMLResponse(fmap.get_root().render())


@router.get("/maps/grids", response_class=HTMLResponse, summary="Grid map on vector tiles")
def grids_page(
    request: Request,
    bases: Bases,
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    lang: Lang = "zh",
) -> HTMLResponse:
    """Every level as a toggleable layer of ``/tiles/{z}/{x}/{y}.pbf``; grids filled by load.

    A click on a grid shows its figures and links to its incidents and its own page. Labels
    are in Chinese unless ``lang=en``. Aggregates only: anonymous when GRIDGEO_PUBLIC_MAPS is on.
    """
    fmap = build_grids_page(
        _levels(hierarchy),
        bounds=_box(conn, account),
        lang=lang,
        bases=bases,
        standard=settings.workload.households_per_worker,
        band=DEFAULT_BAND,
    )
    leaf = hierarchy.levels[-1].key
    add_tools(fmap, account_role=_role(account), lang=lang, level=leaf, workload_level=leaf)
    return compressed_html(request, inline_assets(render_page(fmap, lang)))


@router.get(
    "/maps/grids/{code}", response_class=HTMLResponse, summary="One area: children, load, staff"
)
def area_page(
    bases: Bases,
    settings: SettingsDep,
    code: str,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    now: Now,
    lang: Lang = "zh",
) -> HTMLResponse:
    """One area zoomed to, with its children coloured by load.

    Households per building (aggregated) for planners, patrol staff and admins only; its named
    workers and open incidents for signed-in callers.

    403 outside the caller's areas; 404 for an unknown code.
    """
    check_area(account, code)
    area = get_grid(conn, hierarchy, code)
    props = area["properties"]
    spec = hierarchy.get(props["level"])
    leaf = spec.depth == len(hierarchy.levels) - 1
    standard = settings.workload.households_per_worker
    own = workload_report(conn, hierarchy, level=spec.key, areas=(code,), default_standard=standard)
    figures = next((r.to_dict() for r in own if r.code == code), {})
    children: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    child_label = None
    if not leaf:
        child = hierarchy.levels[spec.depth + 1]
        child_label = f"{child.label_zh} {child.label_en}"
        children = list_grids(conn, hierarchy, parent=code, simplify_m=1.0, precision=6)
        rows = {
            r.code: r
            for r in workload_report(conn, hierarchy, parent=code, default_standard=standard)
        }
        for f in children["features"]:
            r = rows.get(f["properties"]["code"])
            if r is not None:
                f["properties"].update(status=r.status, deviation=r.to_dict()["deviation"])
    signed_in = account is not None
    spots = (
        household_spots(conn, code)
        if account is not None and account.role in HOUSEHOLD_ROLES
        else None
    )
    incidents = None
    if signed_in:
        found = incident_points(
            conn, IncidentFilter(state="open", area=code), areas=area_filter(account), now=now,
            limit=2000,
        )  # fmt: skip
        incidents = found["incidents"]
    workers = list_workers(conn, code)["workers"] if leaf and signed_in else None
    buildings = (
        grid_buildings(conn, code, detail=account.role in DETAIL_ROLES)
        if leaf and account is not None
        else None
    )
    fmap = build_area_page(
        area,
        figures,
        children=children,
        child_label=child_label,
        spots=spots,
        incidents=incidents,
        workers=workers,
        buildings=buildings,
        parent=props.get("ancestors", [None])[-1] if props.get("ancestors") else None,
        lang=lang,
        bases=bases,
        standard=standard,
        band=DEFAULT_BAND,
    )
    add_tools(
        fmap, account_role=_role(account), lang=lang, area=code,
        level=props["level"] if leaf else hierarchy.levels[spec.depth + 1].key,
        balance=spec.depth == len(hierarchy.levels) - 2,  # POST /balance takes a community
    )  # fmt: skip
    return HTMLResponse(render_page(fmap, lang))


def incident_filter(
    state: Annotated[str | None, Query(description="a state, or open")] = None,
    category: Annotated[str | None, Query(description="a category key")] = None,
    grid: Annotated[str | None, Query(description="an area code: it and below")] = None,
    start: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, YYYY-MM-DD")] = None,
    overdue: Annotated[bool, Query(description="only open incidents past a limit")] = False,
) -> IncidentFilter:
    """The incident filter from the query (empty values count as unset)."""
    return IncidentFilter(
        state=state or None, category=category or None, area=grid or None, start=start,
        end=end, overdue=overdue,
    )  # fmt: skip


FilterDep = Annotated[IncidentFilter, Depends(incident_filter)]


@router.get("/maps/incidents", response_class=HTMLResponse, summary="Incident map")
def incidents_page(
    request: Request,
    bases: Bases,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    f: FilterDep,
    lang: Lang = "zh",
) -> HTMLResponse:
    """Incidents as clusters and a heat map, filterable; overdue ones ringed in red.

    Filters: state (or open), category, area, dates, overdue. A click shows the incident's
    timeline.

    Signed-in callers only, within their areas. 400 for an unknown state or category or a
    backward date range, 403 for an area outside the caller's, 404 for an unknown area.
    """
    if f.area is not None:
        check_area(account, f.area)
    check_filter(conn, f)
    bounds = area_bounds(conn, f.area) if f.area else _box(conn, account)
    fmap = build_incidents_page(
        filters=f.query(),
        categories=categories(conn),
        levels=_levels(hierarchy),
        bounds=bounds,
        lang=lang,
        bases=bases,
        other_href=other_language_link(request, lang),
        shell_js=f"{SHELL_STATIC_URL}/shell.js",
    )
    return HTMLResponse(render_page(fmap, lang))


@router.get("/maps/incidents/data", summary="Incidents of the incident map (filtered)")
def incidents_data(conn: ConnDep, account: AnyAccount, f: FilterDep, now: Now) -> JSONResponse:
    """Located incidents matching the filter in the caller's areas, newest first.

    At most 20,000, each flagged overdue or not; with the area's outline when filtered by area.
    """
    if f.area is not None:
        check_area(account, f.area)
    check_filter(conn, f)
    out = incident_points(conn, f, areas=area_filter(account), now=now)
    if f.area is not None:
        out["area"] = {"feature": area_outline(conn, f.area), "bounds": area_bounds(conn, f.area)}
    return JSONResponse(out)


@router.get("/maps/workload", response_class=HTMLResponse, summary="Workload choropleth")
def workload_page(
    bases: Bases,
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    level: Annotated[str | None, Query(description="a level key (default: the grids)")] = None,
    lang: Lang = "zh",
) -> HTMLResponse:
    """A level coloured by load against the standard band (default: the leaf grids).

    400 for an unknown level. Aggregates only: anonymous when GRIDGEO_PUBLIC_MAPS is on.
    """
    key = hierarchy.get(level).key if level else hierarchy.levels[-1].key
    fmap = build_workload_page(
        _levels(hierarchy),
        level=key,
        bounds=_box(conn, account),
        lang=lang,
        bases=bases,
        standard=settings.workload.households_per_worker,
        band=DEFAULT_BAND,
    )
    add_tools(fmap, account_role=_role(account), lang=lang, level=key, workload_level=key)
    return HTMLResponse(render_page(fmap, lang))


@router.get("/maps/workload/data", summary="Workload figures of one level, by code")
def workload_data(
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: MapViewer,
    level: Annotated[str, Query(description="a level key")],
) -> JSONResponse:
    """``{"level", "areas": {code: [status, load, deviation, households, workers]}}``.

    400 for an unknown level. Aggregates only.
    """
    rows = workload_report(
        conn,
        hierarchy,
        level=level,
        areas=area_filter(account),
        default_standard=settings.workload.households_per_worker,
    )
    areas = {}
    for r in rows:
        d = r.to_dict()
        areas[r.code] = [r.status, d["load"], d["deviation"], r.households, r.workers]
    return JSONResponse({"level": level, "areas": areas})


@router.get("/maps/search", summary="Areas by code prefix or name, for the map search box")
def map_search(
    conn: ConnDep,
    account: MapViewer,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, object]]:
    """Current areas whose code starts with ``q`` or whose name contains it, with their bbox."""
    return search_areas(conn, q, areas=area_filter(account), limit=limit)
