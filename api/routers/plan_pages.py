"""The planners' web editor: HTML shells for ``/plans/editor`` and ``/plans/{id}/edit``.

The pages are public shells that hold no data; the shared front-end shell (``/shell-static``)
logs them in through ``POST /auth/token`` (keeping the bearer token in the browser, as on every
page) and they do everything through the plans API. Leaflet comes from ``/static``; the page
scripts and the vendored Leaflet-Geoman (MIT) from ``/editor-static`` (``api/editor_static``). Every asset and API path in the pages is
relative to a ``<base>`` that points at the application root, so the editor also works behind
a path prefix.

Include this router before the plans API router: ``/plans/editor`` must not reach
``/plans/{id}``.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from api.deps import PUBLIC, SettingsDep

EDITOR_STATIC_DIR = Path(__file__).resolve().parent.parent / "editor_static"
EDITOR_STATIC_URL = "/editor-static"
PLAN_ID = r"^[0-9A-Za-z_-]{1,64}$"
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["plans"])


def base_tiles(map_tiles: str) -> str:
    """The tile URL template for the setting ``map_tiles``; empty for none (offline).

    The Folium pages take a tile set's name; the editor draws with plain Leaflet, so the one
    name Folium knows that gridgeo uses is translated and a URL template is kept as it is.
    """
    if map_tiles.lower() == "openstreetmap":
        return OSM
    return map_tiles if "{z}" in map_tiles else ""


def render(page: str, *, base: str, plan: str = "", tiles: str = "") -> str:
    """The page's HTML with its ``<base>``, plan id and base map filled in (all escaped)."""
    html = (EDITOR_STATIC_DIR / page).read_text(encoding="utf-8")
    config = json.dumps({"plan": plan, "tiles": tiles})
    return html.replace("{{base}}", escape(base)).replace("{{config}}", escape(config))


def _tiles(settings: SettingsDep) -> str:
    return base_tiles(settings.maps.map_tiles)


@router.get(
    "/plans/editor",
    dependencies=[PUBLIC],
    summary="Planners' editor: the open plans of an area (HTML)",
    response_class=HTMLResponse,
)
def plans_page(settings: SettingsDep) -> HTMLResponse:
    """Lists the open plans of ``?area=`` (default: the planner's area) and opens new ones."""
    return HTMLResponse(render("plans.html", base="../", tiles=_tiles(settings)), headers=NO_CACHE)


@router.get(
    "/plans/{plan_id}/edit",
    dependencies=[PUBLIC],
    summary="Planners' editor: draw, check, preview and commit one plan (HTML)",
    response_class=HTMLResponse,
)
def edit_page(
    settings: SettingsDep, plan_id: Annotated[str, PathParam(pattern=PLAN_ID)]
) -> HTMLResponse:
    """The map editor of one plan; the page asks for a login before any data call."""
    html = render("editor.html", base="../../", plan=plan_id, tiles=_tiles(settings))
    return HTMLResponse(html, headers=NO_CACHE)
