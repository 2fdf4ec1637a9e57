"""A Folium map of the grids with one toggleable layer per level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium

from maps.assets import use_local_assets

# Outline colour and weight per depth: coarse levels bold and dark, fine levels thin.
STYLES = [
    {"color": "#08306b", "weight": 4},
    {"color": "#2171b5", "weight": 3},
    {"color": "#6a51a3", "weight": 2},
    {"color": "#e6550d", "weight": 1},
]


def _style(depth: int) -> dict[str, Any]:
    base = STYLES[min(depth, len(STYLES) - 1)]
    return {**base, "fillOpacity": 0.05 if depth < 3 else 0.15, "fillColor": base["color"]}


def _bounds(layers: Sequence[tuple[str, dict[str, Any]]]) -> list[list[float]] | None:
    xs: list[float] = []
    ys: list[float] = []
    for _, fc in layers[:1]:
        for feature in fc["features"]:
            _walk(feature["geometry"]["coordinates"], xs, ys)
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def _walk(coords: Any, xs: list[float], ys: list[float]) -> None:
    if coords and isinstance(coords[0], int | float):
        xs.append(coords[0])
        ys.append(coords[1])
        return
    for c in coords:
        _walk(c, xs, ys)


def build_grid_map(
    layers: Sequence[tuple[str, dict[str, Any]]],
    *,
    title: str = "gridgeo",
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Build a map with one GeoJSON layer per level, top level first.

    Args:
        layers: ``(label, FeatureCollection)`` per level, top first; features carry the
            properties of ``gridgeo.grids.list_grids``.
        title: page title shown on the map.
        tiles: base map name, or None for no base map (works offline).

    Returns:
        The Folium map; ``.get_root().render()`` gives the HTML page.
    """
    fmap = use_local_assets(folium.Map(tiles=tiles, control_scale=True, prefer_canvas=True))
    fields = ["name", "code", "households", "workers", "load"]
    aliases = ["名称 Name", "编码 Code", "户数 Households", "网格员 Workers", "户/人 Load"]
    for depth, (label, fc) in enumerate(layers):
        group = folium.FeatureGroup(name=label, show=True)
        if fc["features"]:
            folium.GeoJson(
                fc,
                name=label,
                style_function=lambda _f, d=depth: _style(d),
                highlight_function=lambda _f: {"weight": 5, "fillOpacity": 0.3},
                tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=aliases[:2]),
                popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
            ).add_to(group)
        group.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    heading = f'<h3 style="position:absolute;z-index:1000;left:50px;top:0;margin:6px;background:#fffc;padding:2px 8px">{title}</h3>'
    fmap.get_root().html.add_child(folium.Element(heading))  # type: ignore[attr-defined]
    bounds = _bounds(layers)
    if bounds:
        fmap.fit_bounds(bounds)
    return fmap
