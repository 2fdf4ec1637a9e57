"""A leaf grid's buildings on its page: markers and a list with units, households and heads.

The data is :func:`gridgeo.buildings.queries.grid_buildings` (counts only for viewers: no
units, no heads). Text is escaped here; both languages.
"""

from __future__ import annotations

from html import escape
from typing import Any

import folium

T = {
    "zh": {"layer": "楼栋", "title": "楼栋与单元", "households": "户", "floors": "层",
           "unit": "单元", "head": "楼长", "unit_head": "单元长", "group": "楼组",
           "group_head": "楼组长", "elsewhere": "属网格", "split": "跨网格",
           "none": "本网格没有登记楼栋", "buildings": "栋"},
    "en": {"layer": "Buildings", "title": "Buildings and units", "households": "households",
           "floors": "floors", "unit": "unit", "head": "building head", "unit_head": "unit head",
           "group": "group", "group_head": "group head", "elsewhere": "in grid",
           "split": "split between grids", "none": "No buildings are recorded in this grid",
           "buildings": "buildings"},
}  # fmt: skip


def _names(heads: list[dict[str, Any]]) -> str:
    return "、".join(escape(h["name"]) for h in heads)


def _unit_label(number: str, lang: str) -> str:
    return f"{escape(number)}单元" if lang == "zh" else f"unit {escape(number)}"


def buildings_html(data: dict[str, Any], grid: str, lang: str) -> str:
    """The list of a grid's buildings (escaped)."""
    t = T[lang]
    rows = data["buildings"]
    if not rows:
        return f'<div class="gridgeo-buildings"><p>{t["none"]}</p></div>'
    out = [
        f'<details class="gridgeo-buildings" open><summary><b>{t["title"]}</b> '
        f"{len(rows)} {t['buildings']} · {data['households']:,} {t['households']}</summary><ul>"
    ]
    for b in rows:
        name = escape(b["name"] or b["number"] or b["code"])
        floors = f" {b['floors']}{t['floors']}" if b["floors"] else ""
        split = f' <em class="gridgeo-split">{t["split"]}</em>' if b["split"] else ""
        line = [
            f'<li data-building="{escape(b["code"])}"><b>{name}</b>{floors} · '
            f"{b['households']:,} {t['households']}{split}"
        ]
        if b.get("heads"):
            line.append(f" · {t['head']} {_names(b['heads'])}")
        group = b.get("group")
        if group and group.get("heads"):
            line.append(
                f" · {t['group']} {escape(group['name'])} {t['group_head']} {_names(group['heads'])}"
            )
        units = b.get("units")
        if units:
            line.append("<ul>")
            for u in units:
                where = "" if u["grid"] == grid else f" → {t['elsewhere']} {escape(str(u['grid']))}"
                heads = f" · {t['unit_head']} {_names(u['heads'])}" if u["heads"] else ""
                line.append(
                    f'<li data-unit="{escape(u["number"])}" data-grid="{escape(str(u["grid"]))}">'
                    f"{_unit_label(u['number'], lang)} {u['households']:,} {t['households']}"
                    f"{where}{heads}</li>"
                )
            line.append("</ul>")
        line.append("</li>")
        out.append("".join(line))
    out.append("</ul></details>")
    return "".join(out)


def add_building_markers(fmap: folium.Map, data: dict[str, Any], lang: str) -> None:
    """Markers at the buildings, with their households in the tooltip.

    The count is ``building_households`` (not ``households``, the spots' property), so the
    aggregated spots stay the page's one count of households.
    """
    t = T[lang]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [b["lon"], b["lat"]]},
             "properties": {"name": b["name"] or b["number"] or b["code"], "code": b["code"],
                            "building_households": b["households"], "units": b["units_count"]}}
            for b in data["buildings"]
        ],
    }  # fmt: skip
    if not fc["features"]:
        return
    folium.GeoJson(
        fc,
        name=t["layer"],
        marker=folium.CircleMarker(
            radius=5, color="#3f007d", fill=True, fill_opacity=0.8, weight=1
        ),
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "building_households", "units"],
            aliases=[t["layer"], t["households"], t["unit"]],
        ),
    ).add_to(fmap)
