"""The /maps/grids page: every level as a vector-tile layer, grids filled by workload status.

No geometry is embedded: the page loads ``/tiles/{level}/{z}/{x}/{y}.pbf`` as it pans, so its
HTML stays a few kilobytes at any city size. Everything it loads is served by gridgeo itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import folium

from maps.assets import STATIC_URL, use_local_assets
from maps.controls import SearchControl, legend_control, local_fullscreen, title_control
from maps.vector_layer import OutlinePane, VectorTileLayer

LANGS = ("zh", "en")
# Outline colour and weight per depth (as the embedded /map): coarse levels bold and dark.
OUTLINES = [("#08306b", 4), ("#2171b5", 3), ("#6a51a3", 2)]
# Diverging fill by status (under / within / over the band), greys for the rest.
FILLS = {
    "under": "#4575b4",
    "within": "#ffffbf",
    "over": "#d73027",
    "unstaffed": "#969696",
    "empty": "#ffffff",
}
TITLE = {"zh": "网格地图", "en": "Grid map"}


@dataclass(frozen=True)
class LevelLayer:
    """A level shown on the page: its key and labels."""

    key: str
    label_zh: str
    label_en: str

    def label(self, lang: str) -> str:
        """The label in ``lang`` followed by the other language's."""
        return (
            f"{self.label_zh} {self.label_en}"
            if lang == "zh"
            else f"{self.label_en} {self.label_zh}"
        )


def status_labels(standard: int, band: float, lang: str) -> list[tuple[str, str]]:
    """Legend rows ``(colour, label)`` for the statuses against ``standard`` ± ``band``."""
    lo, hi = round(standard * (1 - band)), round(standard * (1 + band))
    zh = {
        "under": f"低负荷 < {lo} 户/人",
        "within": f"达标 {lo}–{hi} 户/人",
        "over": f"超负荷 > {hi} 户/人",
        "unstaffed": "无人员",
        "empty": "无住户",
    }
    en = {
        "under": f"Under < {lo} per worker",
        "within": f"Within {lo}–{hi}",
        "over": f"Over > {hi} per worker",
        "unstaffed": "Unstaffed",
        "empty": "No households",
    }
    first, second = (zh, en) if lang == "zh" else (en, zh)
    return [(FILLS[s], f"{first[s]} · {second[s]}") for s in FILLS]


def build_grids_page(
    levels: Sequence[LevelLayer],
    *,
    bounds: list[list[float]] | None,
    lang: str = "zh",
    tiles: str | None = None,
    tile_url: str = "/tiles/{level}/{{z}}/{{x}}/{{y}}.pbf",
    search_url: str = "/maps/search",
    standard: int = 300,
    band: float = 0.10,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Build the grid map page.

    Args:
        levels: the levels, top first; the last is the grid level (filled by status).
        bounds: ``[[south, west], [north, east]]`` to show first; None for the whole world.
        lang: ``zh`` (default) or ``en`` for the labels.
        tiles: base map name, or None for no base map (works offline).
        tile_url: tile URL pattern; ``{level}`` is filled in, ``{{z}}`` etc. stay for Leaflet.
        search_url: the search endpoint (``?q=``).
        standard: households per worker of the legend.
        band: tolerance of the legend, as a fraction.
        base_url: where the vendored scripts are served.

    Returns:
        The Folium map; ``.get_root().render()`` gives the HTML page.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    fmap = use_local_assets(
        folium.Map(tiles=tiles, control_scale=True, zoom_start=12, max_zoom=19), base_url
    )
    OutlinePane().add_to(fmap)
    last = len(levels) - 1
    for depth, level in enumerate(levels):
        colour, weight = OUTLINES[min(depth, len(OUTLINES) - 1)]
        VectorTileLayer(
            tile_url.format(level=level.key),
            level=level.key,
            name=level.label(lang),
            colour=colour,
            weight=weight,
            grid=depth == last,
            lang=lang,
            base_url=base_url,
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    title = f"gridgeo {TITLE[lang]}"
    title_control(title, lang=lang, other_href="?lang=en" if lang == "zh" else "?lang=zh").add_to(
        fmap
    )
    lines = [
        (*OUTLINES[min(d, len(OUTLINES) - 1)], level.label(lang))
        for d, level in enumerate(levels[:last])
    ]
    heading = f"负荷 Load（标准 {standard} 户/人 ±{band:.0%}）"
    if lang == "en":
        heading = f"Load (standard {standard} per worker ±{band:.0%})"
    legend_control(
        heading, status_labels(standard, band, lang), [(c, label, w) for c, w, label in lines]
    ).add_to(fmap)
    SearchControl(search_url, lang=lang, base_url=base_url).add_to(fmap)
    local_fullscreen(lang=lang, base_url=base_url).add_to(fmap)
    fmap.get_root().title = title  # type: ignore[attr-defined]
    if bounds:
        fmap.fit_bounds(bounds)
    return fmap


def render_page(fmap: folium.Map, lang: str) -> str:
    """The page's HTML, its ``<html>`` element tagged with the language."""
    html = fmap.get_root().render()
    return html.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
