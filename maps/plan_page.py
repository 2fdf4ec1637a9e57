"""The /maps/plans/{id} page: a plan's grids before and after, side by side, in step.

Left, the stored grids of the plan's area coloured by load before; right, the draft coloured
by what the plan does to each grid (changed, created) and by load after, with the households
that move drawn as arrows from the old grid to the new one with their count, the topology
problems marked, and the changed area outlined on both. The two maps pan and zoom together
(a few lines of script). A plan covers one area, so its geometry is embedded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import folium
import shapely
from branca.element import Element
from folium.plugins import DualMap
from jinja2 import Template
from shapely.geometry import mapping, shape

from maps.assets import STATIC_URL, use_local_assets
from maps.basemaps import BLANK, BaseMap, add_base_maps
from maps.controls import HtmlControl, legend_control, local_fullscreen, title_control
from maps.frame import LocateControl, check_lang
from maps.grids_page import FILLS, status_labels

STATE_LINE = {
    "unchanged": "#555555",
    "changed": "#e66101",
    "created": "#1a9641",
    "retired": "#7b3294",
}
PROBLEM = "#d7191c"
T = {
    "zh": {
        "title": "规划 #{id}：{title}",
        "before": "之前（现行网格）",
        "after": "之后（规划草案）",
        "states": "规划改动",
        "unchanged": "未改动",
        "changed": "修改",
        "created": "新建",
        "retired": "撤销",
        "moves": "住户迁移（户）",
        "problems": "拓扑问题",
        "changed_area": "改动范围",
        "name": "名称",
        "code": "编码",
        "households": "户数",
        "workers": "网格员",
        "load": "户/人",
        "status": "状态",
        "state": "改动",
        "moved": "{n} 户：{a} → {b}",
        "status_open": "草案",
        "status_committed": "已提交（变更 #{change}）",
        "status_discarded": "已放弃",
        "ok": "可以提交",
        "errors": "{n} 个错误，不能提交",
        "editor": "在编辑器中打开",
    },
    "en": {
        "title": "Plan #{id}: {title}",
        "before": "Before (current grids)",
        "after": "After (the plan's draft)",
        "states": "What the plan does",
        "unchanged": "unchanged",
        "changed": "changed",
        "created": "created",
        "retired": "retired",
        "moves": "Households moving",
        "problems": "Topology problems",
        "changed_area": "Changed area",
        "name": "Name",
        "code": "Code",
        "households": "Households",
        "workers": "Workers",
        "load": "Per worker",
        "status": "Status",
        "state": "Change",
        "moved": "{n} households: {a} → {b}",
        "status_open": "draft",
        "status_committed": "committed (change #{change})",
        "status_discarded": "discarded",
        "ok": "can be committed",
        "errors": "{n} errors, cannot be committed",
        "editor": "Open in the editor",
    },
}


class _Sync(DualMap):
    """Folium's DualMap, kept in step by a few lines of script instead of a CDN's Leaflet.Sync.

    Either map's moves set the other's view (a guard stops the echo); the second map starts
    at the first one's view.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (a, b) {
            var busy = false;
            function follow(from, to) {
                from.on("move zoomend", function () {
                    if (busy) { return; }
                    busy = true;
                    to.setView(from.getCenter(), from.getZoom(), {animate: false});
                    busy = false;
                });
            }
            follow(a, b);
            follow(b, a);
            b.setView(a.getCenter(), a.getZoom(), {animate: false});
        })({{ this.m1.get_name() }}, {{ this.m2.get_name() }});
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = []


def _bounds(fc: dict[str, Any]) -> list[list[float]] | None:
    shapes = [shape(f["geometry"]) for f in fc["features"] if f.get("geometry")]
    if not shapes:
        return None
    x0, y0, x1, y1 = shapely.union_all(shapes).bounds
    return [[y0, x0], [y1, x1]]


def _grid_style(status_key: str, line_key: str | None = None) -> Any:
    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        state = p.get(line_key or "", "unchanged") if line_key else "unchanged"
        return {
            "fillColor": FILLS.get(p.get(status_key) or "", "#ffffff"),
            "fillOpacity": 0.55 if p.get(status_key) else 0.15,
            "color": STATE_LINE.get(state, "#555555"),
            "weight": 1 if state == "unchanged" else 3,
        }

    return style


def _with_figures(
    features: list[dict[str, Any]], rows: dict[str, dict[str, Any]], when: str, t: dict[str, str]
) -> dict[str, Any]:
    out = []
    for f in features:
        p = dict(f["properties"])
        r = rows.get(p["code"], {})
        p["households"] = r.get(f"households_{when}", p.get("households"))
        p["workers"] = r.get(f"workers_{when}", p.get("workers"))
        p["load"] = r.get(f"load_{when}")
        p["status"] = r.get(f"status_{when}")
        p["state_label"] = t.get(p.get("state", "unchanged"), "")
        out.append({"type": "Feature", "geometry": f["geometry"], "properties": p})
    return {"type": "FeatureCollection", "features": out}


def build_plan_page(
    plan: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
    preview: dict[str, Any],
    *,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    other_href: str = "",
    editor_href: str | None = None,
    base_url: str = STATIC_URL,
) -> DualMap:
    """Build the side-by-side page of a plan.

    Args:
        plan: the plan's record (id, title, status, change_id).
        before: the area's grids as stored (FeatureCollection; properties code, name, state).
        after: the draft (FeatureCollection; properties code, name, state), retired ones left out.
        preview: the plan's preview (problems, impact with moves and grids, changed_area).
        lang: ``zh`` or ``en``.
        bases: base maps, the first shown.
        other_href: the page in the other language.
        editor_href: link to the plan's editor (None: not shown).
        base_url: where the vendored scripts are served.
    """
    check_lang(lang)
    t = T[lang]
    bounds = _bounds(before) or _bounds(after)
    dual = _Sync(location=None, tiles=None, control_scale=True)
    for m in (dual.m1, dual.m2):
        use_local_assets(m, base_url)
        add_base_maps(m, bases, base_url=base_url)
    rows = {g["code"]: g for g in preview["impact"]["grids"]}
    fields = ["name", "code", "state_label", "households", "workers", "load"]
    aliases = [t["name"], t["code"], t["state"], t["households"], t["workers"], t["load"]]
    folium.GeoJson(
        _with_figures(before["features"], rows, "before", t),
        name=t["before"],
        style_function=_grid_style("status", "state"),
        tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=aliases[:2]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    ).add_to(dual.m1)
    folium.GeoJson(
        _with_figures(after["features"], rows, "after", t),
        name=t["after"],
        style_function=_grid_style("status", "state"),
        tooltip=folium.GeoJsonTooltip(fields=fields[:3], aliases=aliases[:3]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    ).add_to(dual.m2)
    if preview.get("changed_area"):
        for m in (dual.m1, dual.m2):
            folium.GeoJson(
                preview["changed_area"],
                name=t["changed_area"],
                style_function=lambda _f: {
                    "color": "#000000",
                    "weight": 2,
                    "dashArray": "6 4",
                    "fill": False,
                },  # fmt: skip
            ).add_to(m)
    _moves(dual.m2, before, after, preview["impact"]["moves"], t)
    _problems(dual.m2, preview["problems"], t)
    status = t[f"status_{plan['status']}"].format(change=plan.get("change_id"))
    title = t["title"].format(id=plan["id"], title=plan["title"]) + f" · {status}"
    title_control(title, lang=lang, other_href=other_href).add_to(dual.m1)
    verdict = t["ok"] if preview["ok"] else t["errors"].format(n=preview["errors"])
    link = f' · <a href="{escape(editor_href)}">{t["editor"]}</a>' if editor_href else ""
    for m, label, extra in (
        (dual.m1, t["before"], ""),
        (dual.m2, t["after"], f" · {verdict}{link}"),
    ):
        HtmlControl(
            f"<strong>{escape(label)}</strong>{extra if m is dual.m2 else ''}",
            css_class="gridgeo-side leaflet-bar",
            position="bottomleft",  # the title card holds the top left (issue 16)
        ).add_to(m)
    legend = legend_control(
        t["status"],
        status_labels(preview["impact"]["standard"], preview["impact"]["band"], lang),
        [(STATE_LINE[s], t[s], 3) for s in ("changed", "created")]
        + [(PROBLEM, t["problems"], 3), ("#000000", t["changed_area"], 2)],
    )
    # below both maps, not over the 之后 map (gridmap.css: .gridgeo-plan-legend)
    dual.m1.get_root().html.add_child(  # type: ignore[attr-defined]
        Element(f'<div class="gridgeo-legend gridgeo-plan-legend">{legend.html}</div>'),
        name="gridgeo_plan_legend",
    )
    # a phone: the two maps one above the other, each the screen's width (side by side their
    # labels and the title card were cut at 360 px)
    m1, m2 = dual.m1.get_name(), dual.m2.get_name()
    dual.m1.get_root().header.add_child(  # type: ignore[attr-defined]
        Element(
            "<style>@media (max-width: 600px) {"
            f" body #{m1}, body #{m2} {{ width: 100% !important; left: 0 !important;"
            " height: calc(50% - 32px) !important; }"
            f" body #{m1} {{ top: 0 !important; }}"
            f" body #{m2} {{ top: calc(50% - 32px) !important; }} }}</style>"
        ),
        name="gridgeo_plan_phone",
    )
    for m in (dual.m1, dual.m2):
        local_fullscreen(lang=lang, base_url=base_url).add_to(m)
        LocateControl(lang=lang, base_url=base_url).add_to(m)
        folium.LayerControl(collapsed=True).add_to(m)
    dual.m1.get_root().title = title  # type: ignore[attr-defined]
    if bounds:
        dual.m1.fit_bounds(bounds)  # the second map follows
    return dual


def _centre(fc: dict[str, Any]) -> dict[str, tuple[float, float]]:
    out = {}
    for f in fc["features"]:
        if f.get("geometry"):
            p = shape(f["geometry"]).representative_point()
            out[f["properties"]["code"]] = (p.y, p.x)
    return out


def _latlng(point: list[float] | None) -> tuple[float, float] | None:
    return (point[1], point[0]) if point else None


def _moves(
    fmap: folium.Map,
    before: dict[str, Any],
    after: dict[str, Any],
    moves: list[dict[str, Any]],
    t: dict[str, str],
) -> None:
    """An arrow per old → new grid with the households that move, labelled with the count."""
    if not moves:
        return
    old, new = _centre(before), _centre(after)
    group = folium.FeatureGroup(name=t["moves"])
    for m in moves:
        # the preview's points inside the grids (boundaries.plans.preview), else the features'
        a = _latlng(m.get("from_point")) or old.get(m["from"] or "")
        b = _latlng(m.get("to_point")) or new.get(m["to"] or "")
        if a is None or b is None or a == b:
            continue
        label = t["moved"].format(n=m["households"], a=m["from"], b=m["to"])
        folium.PolyLine([a, b], color="#2c7bb6", weight=2 + min(8, m["households"] // 50),
                        opacity=0.9, tooltip=label).add_to(group)  # fmt: skip
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        folium.Marker(
            mid,
            icon=folium.DivIcon(
                html=f'<div class="gridgeo-move" title="{escape(label)}">{m["households"]}</div>',
                class_name="gridgeo-move-icon",
            ),
        ).add_to(group)
        folium.PolyLine(_head(a, b), color="#2c7bb6", weight=3, opacity=0.9).add_to(group)
    group.add_to(fmap)


def _head(a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
    """An arrow head at ``b`` pointing away from ``a``: two barbs, a fifth of the arrow long."""
    (y0, x0), (y1, x1) = a, b
    dx, dy = x1 - x0, y1 - y0
    k = math.cos(math.radians(y1))  # draw in a locally square frame
    ux, uy = dx * k, dy
    n = math.hypot(ux, uy) or 1.0
    size = n / 5
    barbs = []
    for turn in (math.radians(150), math.radians(-150)):
        vx = (ux * math.cos(turn) - uy * math.sin(turn)) / n * size
        vy = (ux * math.sin(turn) + uy * math.cos(turn)) / n * size
        barbs.append((y1 + vy, x1 + vx / k))
    return [barbs[0], b, barbs[1]]


def _problems(fmap: folium.Map, problems: list[dict[str, Any]], t: dict[str, str]) -> None:
    """Each topology problem: its shape in red, and a marker at its location."""
    if not problems:
        return
    group = folium.FeatureGroup(name=t["problems"])
    for p in problems:
        text = f"{p['severity']}: {p['code']} {p['kind']} — {p['message']}"
        if p.get("geometry"):
            folium.GeoJson(
                {"type": "Feature", "geometry": p["geometry"], "properties": {}},
                style_function=lambda _f: {
                    "color": PROBLEM,
                    "weight": 2,
                    "fillColor": PROBLEM,
                    "fillOpacity": 0.5,
                },  # fmt: skip
                tooltip=text,
            ).add_to(group)
        if p.get("location"):
            lon, lat = p["location"]
            folium.CircleMarker(  # a tooltip, not a Popup: folium's Popup needs jQuery
                (lat, lon), radius=7, color=PROBLEM, fill=True, fill_opacity=0.9, tooltip=text
            ).add_to(group)
    group.add_to(fmap)


def before_and_after(
    draft_features: list[dict[str, Any]], stored: dict[str, tuple[str, Any, str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The grids of the level the plan redraws, as stored and as the draft would leave them.

    Args:
        draft_features: the draft's features (properties code, name, level, state).
        stored: the touched stored grids by stored code: ``(name, shapely geom, state, level)``.

    Returns:
        ``(before, after)`` FeatureCollections; in ``before`` a touched grid keeps the state the
        plan gives it (so its outline shows what will happen to it); ``after`` leaves out the
        retired ones.
    """
    levels = [v[3] for v in stored.values()] + [
        f["properties"]["level"] for f in draft_features if f["properties"]["state"] == "created"
    ]
    level = max(set(levels), key=levels.count) if levels else None

    def keep(p: dict[str, Any]) -> bool:
        return level is None or p.get("level") == level

    before = [
        f
        for f in draft_features
        if f["properties"]["state"] == "unchanged" and keep(f["properties"])
    ]
    for code, (name, geom, state, lvl) in stored.items():
        if level is None or lvl == level:
            props = {"code": code, "name": name, "state": state, "level": lvl}
            before.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    after = [
        f for f in draft_features if f["properties"]["state"] != "retired" and keep(f["properties"])
    ]
    return (
        {"type": "FeatureCollection", "features": before},
        {"type": "FeatureCollection", "features": after},
    )
