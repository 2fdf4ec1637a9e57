"""Standalone map files to share (``gridgeo map KIND --out FILE.html``): no server behind them.

Geometry and figures are embedded (so scope them with an area for a big city); the vendored
scripts and styles are inlined, their images as data URIs, so that one file opens anywhere,
offline too (the base map, if one is configured, is the only thing loaded from outside).
Households appear only as counts per area; incidents without descriptions or names.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from maps.area_page import T as AREA_TEXT
from maps.assets import STATIC_DIR, STATIC_URL
from maps.basemaps import BLANK, BaseMap
from maps.frame import check_lang, finish, new_map
from maps.grids_page import FILLS, load_heading, status_labels
from maps.incidents_page import IncidentLoader, _ScriptLayer, legend_rows
from maps.vector_layer import LevelLayer, outline

KINDS = ("grids", "workload", "incidents")
TITLES = {
    "grids": ("网格地图", "Grid map"),
    "workload": ("工作量地图", "Workload map"),
    "incidents": ("事件地图", "Incident map"),
}


class NoLinks(MacroElement):
    """Tells gridmap.js that there is no server to link popups to."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeo.links.base = null;
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        """No arguments."""
        super().__init__()
        self._name = "NoLinks"


def _style(status: str | None) -> dict[str, Any]:
    return {"fillColor": FILLS.get(status or "", "#cccccc"), "fillOpacity": 0.6,
            "color": "#e6550d", "weight": 1}  # fmt: skip


def build_area_file(
    kind: str,
    layers: Sequence[tuple[LevelLayer, dict[str, Any]]],
    *,
    bounds: list[list[float]] | None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    standard: int,
    band: float,
) -> folium.Map:
    """A grids or workload map: one GeoJSON layer per level, the last filled by status.

    Args:
        kind: ``grids`` or ``workload`` (only the title differs).
        layers: ``(level, FeatureCollection)`` top first; the last level's features carry
            ``status``, ``households``, ``workers``, ``load``, ``deviation``.
        bounds: what to show first.
        lang: ``zh`` or ``en``.
        bases: base maps.
        standard: households per worker of the legend.
        band: tolerance of the legend.
    """
    check_lang(lang)
    t = AREA_TEXT[lang]
    fmap = new_map(bases=bases, bounds=bounds)
    NoLinks().add_to(fmap)
    last = len(layers) - 1
    for depth, (level, fc) in enumerate(layers):
        if depth == last:
            for f in fc["features"]:
                p = f["properties"]
                p["status_label"] = t.get(p.get("status") or "", "")
                dev = p.get("deviation")
                p["deviation_pct"] = "–" if dev is None else f"{100 * dev:+.1f} %"
            fields = ["name", "code", "households", "workers", "load", "deviation_pct",
                      "status_label"]  # fmt: skip
            aliases = [t["name"], t["code"], t["households"], t["workers"], t["load"],
                       t["deviation"], t["status"]]  # fmt: skip
            folium.GeoJson(
                fc,
                name=level.label(lang),
                style_function=lambda f: _style(f["properties"].get("status")),
                highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.8},
                tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=aliases[:2]),
                popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
            ).add_to(fmap)
        else:
            colour, weight = outline(depth)
            folium.GeoJson(
                fc,
                name=level.label(lang),
                style_function=lambda _f, c=colour, w=weight: {
                    "color": c, "weight": w, "fill": False},
                interactive=False,
            ).add_to(fmap)  # fmt: skip
    zh, en = TITLES[kind]
    lines = [(outline(d)[0], lv.label(lang), outline(d)[1]) for d, (lv, _) in
             enumerate(layers[:-1])]  # fmt: skip
    return finish(
        fmap,
        title=f"gridgeo {zh if lang == 'zh' else en}",
        lang=lang,
        other_href="",
        legend=(load_heading(standard, band, lang), status_labels(standard, band, lang), lines),
        search_url=None,
        bounds=bounds,
    )


def build_incident_file(
    data: dict[str, Any],
    *,
    categories: Sequence[dict[str, str]],
    bounds: list[list[float]] | None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
) -> folium.Map:
    """An incident map with the incidents embedded (clusters, heat map, overdue marked).

    Args:
        data: as :func:`maps.incident_data.incident_points` returns it.
        categories: ``{key, zh, en}`` per category.
        bounds: what to show first.
        lang: ``zh`` or ``en``.
        bases: base maps.
    """
    check_lang(lang)
    fmap = new_map(bases=bases, bounds=bounds)
    NoLinks().add_to(fmap)
    zh = lang == "zh"
    clusters = _ScriptLayer("incidentClusters", name="事件聚合 Clusters" if zh else "Clusters",
                            show=True, base_url=STATIC_URL)  # fmt: skip
    heat = _ScriptLayer("incidentHeat", name="热力图 Heat map" if zh else "Heat map",
                        show=False, base_url=STATIC_URL)  # fmt: skip
    clusters.add_to(fmap)
    heat.add_to(fmap)
    config = {"data": data, "filter": {}, "categories": list(categories), "lang": lang,
              "fit": bounds is None, "updateUrl": False, "detailUrl": None}  # fmt: skip
    IncidentLoader(clusters, heat, config).add_to(fmap)
    heading = "事件状态 Incident state" if zh else "Incident state"
    return finish(
        fmap,
        title=f"gridgeo {TITLES['incidents'][0 if zh else 1]}",
        lang=lang,
        other_href="",
        legend=(heading, legend_rows(lang), []),
        search_url=None,
        bounds=bounds,
    )


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _css(path: Path) -> str:
    """A stylesheet with the files it names (images) turned into data URIs."""

    def inline(m: re.Match[str]) -> str:
        ref = m.group(2)
        target = (path.parent / ref).resolve()
        if ref.startswith(("data:", "http:", "https:", "#")) or not target.is_file():
            return m.group(0)
        return f'url("{_data_uri(target)}")'

    return re.sub(r"url\((['\"]?)([^'\")]+)\1\)", inline, path.read_text(encoding="utf-8"))


def inline_assets(html: str, base_url: str = STATIC_URL, root: Path = STATIC_DIR) -> str:
    """Replace the page's ``<script src>`` and stylesheet links under ``base_url`` by their text.

    Raises:
        FileNotFoundError: a referenced asset is missing.
    """
    prefix = re.escape(base_url.rstrip("/") + "/")

    def script(m: re.Match[str]) -> str:
        body = (root / m.group(1)).read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>/* {m.group(1)} */\n{body}\n</script>"

    def style(m: re.Match[str]) -> str:
        return f"<style>/* {m.group(1)} */\n{_css(root / m.group(1))}\n</style>"

    html = re.sub(rf'<script src="{prefix}([^"]+)"></script>', script, html)
    return re.sub(rf'<link rel="stylesheet" href="{prefix}([^"]+)"\s*/?>', style, html)
