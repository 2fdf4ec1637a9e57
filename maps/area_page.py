"""The /maps/grids/{code} page: one area zoomed to, with its children and figures.

Households per building (aggregated, for roles that may see households), workers, load and
open incidents.

One area is small (a street has at most a few hundred grids), so its geometry is embedded.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.assets import STATIC_URL, vendored
from maps.basemaps import BLANK, BaseMap
from maps.buildings_panel import add_building_markers, buildings_html
from maps.controls import HtmlControl
from maps.frame import check_lang, finish, new_map
from maps.grids_page import FILLS, load_heading, status_labels
from maps.numbers import count, percent

TITLE = {"zh": "区域地图", "en": "Area map"}
T = {
    "zh": {
        "households": "户数",
        "workers": "网格员",
        "load": "户/人",
        "deviation": "偏差",
        "status": "状态",
        "open": "未结事件",
        "children": "下级区域",
        "buildings": "楼栋户数（聚合）",
        "incidents": "未结事件",
        "staff": "网格员名单",
        "all_incidents": "查看全部事件",
        "up": "上级",
        "name": "名称",
        "code": "编码",
        "page": "区域页",
        "over": "超负荷",
        "within": "达标",
        "under": "低负荷",
        "unstaffed": "无人员",
        "empty": "无住户",
    },
    "en": {
        "households": "Households",
        "workers": "Workers",
        "load": "Per worker",
        "deviation": "Deviation",
        "status": "Status",
        "open": "Open incidents",
        "children": "Sub-areas",
        "buildings": "Households per building (aggregated)",
        "incidents": "Open incidents",
        "staff": "Workers",
        "all_incidents": "All incidents here",
        "up": "Up",
        "name": "Name",
        "code": "Code",
        "page": "Area page",
        "over": "Over",
        "within": "Within",
        "under": "Under",
        "unstaffed": "Unstaffed",
        "empty": "No households",
    },
}


def _q(lang: str, first: str = "?") -> str:
    return f"{first}lang=en" if lang == "en" else ""


def panel_html(
    area: dict[str, Any],
    figures: dict[str, Any],
    *,
    lang: str,
    workers: Sequence[dict[str, Any]] | None,
    open_incidents: int | None,
    parent: str | None,
    buildings: dict[str, Any] | None = None,
) -> str:
    """The side panel: the area's figures, its workers and links (escaped here)."""
    t = T[lang]
    dev = figures.get("deviation")
    rows = [
        (t["households"], count(figures.get("households", 0))),
        (t["workers"], count(figures.get("workers", 0))),
        (t["load"], count(figures.get("load"), 1)),
        (t["deviation"], percent(dev)),
        (t["status"], t.get(figures.get("status", ""), figures.get("status", ""))),
    ]
    if open_incidents is not None:
        rows.append((t["open"], open_incidents))
    html = [
        f"<h4>{escape(area['name'])} <code>{escape(area['code'])}</code></h4>",
        "<table>",
        *(
            f'<tr><th>{escape(str(k))}</th><td data-field="{escape(str(k))}">{escape(str(v))}</td></tr>'
            for k, v in rows
        ),
        "</table>",
    ]
    if workers:
        names = ", ".join(escape(f"{w['name']}（{w['role_zh'] if lang == 'zh' else w['role_en']}）")
                          for w in workers)  # fmt: skip
        html.append(f'<p class="gridgeo-staff"><b>{t["staff"]}</b>: {names}</p>')
    links = []
    if open_incidents is not None:
        links.append(
            f'<a class="gridgeo-incidents-link" href="/maps/incidents?grid={escape(area["code"])}'
            f'{escape(_q(lang, "&"))}">{t["all_incidents"]}</a>'
        )
    if parent:
        links.append(
            f'<a class="gridgeo-up-link" href="/maps/grids/{escape(parent)}{escape(_q(lang))}">'
            f"{t['up']} {escape(parent)}</a>"
        )
    if links:
        html.append("<p>" + " · ".join(links) + "</p>")
    if buildings is not None:
        html.append(buildings_html(buildings, area["code"], lang))
    return "".join(html)


class AreaExtras(JSCSSMixin, MacroElement):
    """The children's selection and names (``gridgeoExtras.attachAreas`` in gridextras.js).

    The clicked child stays outlined in cyan until another is clicked, and the children's
    names appear from the zoom where they fit inside them, as on the tile maps.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeoExtras.attachAreas({{ this.layer.get_name() }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.GeoJson, base_url: str = STATIC_URL) -> None:
        """Attach to the children's ``layer``."""
        super().__init__()
        self._name = "AreaExtras"
        self.layer = layer
        links = vendored(base_url)
        self.default_js = [("gridmap", links["gridmap_js"]), ("gridextras", links["gridextras_js"])]
        self.default_css = [("gridmap_css", links["gridmap_css"])]


def _status_style(feature: dict[str, Any]) -> dict[str, Any]:
    status = feature["properties"].get("status", "empty")
    return {"fillColor": FILLS.get(status, "#cccccc"), "fillOpacity": 0.55, "color": "#e6550d",
            "weight": 1.5}  # fmt: skip


def build_area_page(
    area: dict[str, Any],
    figures: dict[str, Any],
    *,
    children: dict[str, Any],
    child_label: str | None,
    spots: dict[str, Any] | None,
    incidents: Sequence[dict[str, Any]] | None,
    workers: Sequence[dict[str, Any]] | None,
    parent: str | None,
    buildings: dict[str, Any] | None = None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    standard: int,
    band: float,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Build the page of one area.

    Args:
        area: the area as a GeoJSON Feature (properties code, name, level).
        figures: its workload (households, workers, load, deviation, status).
        children: its children as a FeatureCollection, properties with workload figures.
        child_label: the children's level label (None for a leaf grid).
        spots: households summed per building spot (None: the caller may not see them).
        incidents: its open incidents (None: the caller may not see them).
        workers: its named workers, without personal data (None: not shown).
        parent: the parent's code, for the "up" link.
        buildings: a leaf grid's buildings (``gridgeo.buildings.queries.grid_buildings``;
            None: not shown).
        lang: ``zh`` or ``en``.
        bases: base maps, the first shown.
        standard: households per worker of the legend.
        band: tolerance of the legend.
        base_url: where the vendored scripts are served.
    """
    check_lang(lang)
    t = T[lang]
    props = area["properties"]
    coords = _bounds(area)
    fmap = new_map(bases=bases, base_url=base_url, bounds=coords)
    if children["features"]:
        fields = ["name", "code", "households", "workers", "load", "status_label"]
        aliases = [t["name"], t["code"], t["households"], t["workers"], t["load"], t["status"]]
        for f in children["features"]:
            p = f["properties"]
            p["status_label"] = t.get(p.get("status", ""), "")
            for key in ("households", "workers"):  # shown with thousands separators
                p[key] = count(p.get(key))
            p["load"] = count(p.get("load"), 1)
            p["href"] = f"/maps/grids/{p['code']}{_q(lang)}"
        kids = folium.GeoJson(
            children,
            name=child_label or t["children"],
            style_function=_status_style,
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.75},
            tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=aliases[:2]),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
        )
        kids.add_to(fmap)
        AreaExtras(kids, base_url=base_url).add_to(fmap)
    elif spots is None:
        folium.GeoJson(
            area, name=props["name"], style_function=lambda _f: _status_style(
                {"properties": {"status": figures.get("status")}})
        ).add_to(fmap)  # fmt: skip
    folium.GeoJson(
        area,
        name=f"{props['name']} {props['code']}",
        style_function=lambda _f: {"color": "#000", "weight": 4, "fill": False, "dashArray": "8 4"},
        control=False,
        interactive=False,
    ).add_to(fmap)
    if spots is not None and spots["features"]:
        folium.GeoJson(
            spots,
            name=t["buildings"],
            marker=folium.CircleMarker(
                radius=4, color="#54278f", fill=True, fill_opacity=0.7, weight=1
            ),  # fmt: skip
            style_function=lambda f: {"radius": min(3 + f["properties"]["households"] ** 0.5, 14)},
            tooltip=folium.GeoJsonTooltip(fields=["households"], aliases=[t["households"]]),
        ).add_to(fmap)
    if buildings is not None:
        add_building_markers(fmap, buildings, lang)
    if incidents:
        fc = {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
                 "properties": {"id": i["id"], "category": i["category"], "state": i["state"],
                                "overdue": "!" if i["overdue"] else "", "reported": i["reported_at"]}}
                for i in incidents
            ],
        }  # fmt: skip
        folium.GeoJson(
            fc,
            name=t["incidents"],
            marker=folium.CircleMarker(radius=6, fill=True, fill_opacity=0.9, weight=2),
            style_function=lambda f: {
                "color": "#d7191c" if f["properties"]["overdue"] else "#ffffff",
                "fillColor": "#fd8d3c",
                "weight": 4 if f["properties"]["overdue"] else 2,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["id", "category", "state", "overdue", "reported"]
            ),
        ).add_to(fmap)
    HtmlControl(
        panel_html(area["properties"] | {"code": props["code"], "name": props["name"]}, figures,
                   lang=lang, workers=workers,
                   open_incidents=None if incidents is None else len(incidents), parent=parent,
                   buildings=buildings),
        css_class="gridgeo-panel gridgeo-area-panel leaflet-bar",
        position="bottomleft",
    ).add_to(fmap)  # fmt: skip
    return finish(
        fmap,
        title=f"{props['name']} · gridgeo {TITLE[lang]}",
        lang=lang,
        other_href="?lang=en" if lang == "zh" else "?lang=zh",
        legend=(load_heading(standard, band, lang), status_labels(standard, band, lang), []),
        bounds=coords,
        base_url=base_url,
    )


def _bounds(feature: dict[str, Any]) -> list[list[float]] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], int | float):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    walk(feature["geometry"]["coordinates"])
    return [[min(ys), min(xs)], [max(ys), max(xs)]] if xs else None
