"""Downloads and the planners' balance button, where the data they hold is shown on a map page.

The links only point at the existing endpoints (``GET /export/grids`` for GeoJSON, GeoPackage
and zipped Shapefile; ``GET /workload?format=xlsx`` for the workload workbook); a page shows a
link only to a caller whose role may follow it, so a click never ends in a refusal. Balancing
changes data (a draft plan) and a map page's session cookie is good for reading only, so the
balance button opens the planners' editor on the area, where the shell's bearer login posts it.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from maps.controls import HtmlControl

EXPORTERS = ("planner", "admin")  # GET /export/grids (api.deps.Planner)
WORKLOAD_READERS = ("viewer", "planner", "dispatcher", "admin")  # GET /workload
BALANCERS = ("planner", "admin")  # POST /balance

T = {
    "zh": {
        "export": "导出",
        "grids": "网格",
        "workload": "工作量 XLSX",
        "balance": "均衡划分…",
        "balance_title": "按住户数重新划分本社区的网格（在规划编辑器中打开草案）",
    },
    "en": {
        "export": "Export",
        "grids": "grids",
        "workload": "workload XLSX",
        "balance": "Balance…",
        "balance_title": "Redraw this community's grids by households (opens a draft plan)",
    },
}


def tool_links(
    *,
    role: str | None,
    lang: str,
    level: str,
    area: str | None = None,
    workload_level: str | None = None,
    balance: bool = False,
) -> list[tuple[str, str, str]]:
    """``(css class, label, href)`` of the links ``role`` may follow.

    Args:
        role: the caller's role (None: anonymous, public maps: nothing).
        lang: ``zh`` or ``en``.
        level: the level whose grids are exported.
        area: only the grids at or below this code (None: every grid the caller may see).
        workload_level: the level of the workload workbook (None: the children of ``area``).
        balance: the area is one that ``POST /balance`` takes (a community).
    """
    t = T[lang]
    out: list[tuple[str, str, str]] = []
    where = {"area": area} if area else {}
    if role in EXPORTERS:
        for fmt, label in (("geojson", "GeoJSON"), ("gpkg", "GPKG"), ("shp", "SHP")):
            q = urlencode({"level": level, **where, "format": fmt})
            out.append((f"gridgeo-export-{fmt}", f"{t['grids']} {label}", f"/export/grids?{q}"))
    if role in WORKLOAD_READERS and (area or workload_level):
        params = {"format": "xlsx"} | ({"parent": area} if area else {})
        params |= {"level": workload_level} if workload_level else {}
        out.append(("gridgeo-export-xlsx", t["workload"], f"/workload?{urlencode(params)}"))
    if balance and area and role in BALANCERS:
        q = urlencode({"area": area, "balance": "1"} | ({"lang": "en"} if lang == "en" else {}))
        out.append(("gridgeo-balance", t["balance"], f"/plans/editor?{q}"))
    return out


def tools_control(links: list[tuple[str, str, str]], *, lang: str) -> HtmlControl | None:
    """A small box of download links (and the balance button); None when there is none."""
    if not links:
        return None
    t = T[lang]
    files = [
        f'<a class="{css}" href="{escape(href)}" download>{escape(label)}</a>'
        for css, label, href in links
        if css != "gridgeo-balance"
    ]
    html = f"<b>{escape(t['export'])}</b> " + " · ".join(files) if files else ""
    for css, label, href in links:
        if css == "gridgeo-balance":
            html += "<br>" if html else ""
            html += (
                f'<a class="{css}" href="{escape(href)}" title="{escape(t["balance_title"])}">'
                f"{escape(label)}</a>"
            )
    return HtmlControl(
        html,
        css_class="gridgeo-panel gridgeo-tools leaflet-bar",
        position="bottomleft",
    )


def add_tools(fmap: object, *, account_role: str | None, lang: str, **where: object) -> None:
    """Add :func:`tools_control` of :func:`tool_links` (``where``: its keywords) to ``fmap``."""
    control = tools_control(tool_links(role=account_role, lang=lang, **where), lang=lang)  # type: ignore[arg-type]
    if control is not None:
        control.add_to(fmap)  # type: ignore[arg-type]
