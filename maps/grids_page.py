"""The /maps/grids page: every level from vector tiles, grids filled by workload status.

No geometry is embedded: the page loads ``/tiles/{z}/{x}/{y}.pbf`` (a layer per level) as it
pans, so its HTML stays a few kilobytes at any city size. Everything it loads is served by
gridgeo itself, unless a base map from the internet is configured.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium

from maps.assets import STATIC_URL
from maps.basemaps import BLANK, BaseMap
from maps.frame import MAX_ZOOM, MIN_ZOOM, check_lang, finish, new_map, render_page
from maps.vector_layer import LevelLayer, add_levels, early_tiles, outline

__all__ = ["FILLS", "LevelLayer", "build_grids_page", "render_page", "status_labels"]

# Diverging fill by status (under / within / over the band), greys for the rest.
FILLS = {
    "under": "#4575b4",
    "within": "#ffffbf",
    "over": "#d73027",
    "unstaffed": "#969696",
    "empty": "#ffffff",
}
TITLE = {"zh": "网格地图", "en": "Grid map"}
TILE_URL = "/tiles/{z}/{x}/{y}.pbf"


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


def load_heading(standard: int, band: float, lang: str) -> str:
    """The legend heading naming the standard and its band."""
    if lang == "en":
        return f"Load (standard {standard} per worker ±{band:.0%})"
    return f"负荷 Load（标准 {standard} 户/人 ±{band:.0%}）"


def build_grids_page(
    levels: Sequence[LevelLayer],
    *,
    bounds: list[list[float]] | None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    tile_url: str = TILE_URL,
    search_url: str = "/maps/search",
    standard: int,
    band: float,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Build the grid map page.

    Args:
        levels: the levels, top first; the last is the grid level (filled by status).
        bounds: ``[[south, west], [north, east]]`` to show first; None for the whole world.
        lang: ``zh`` (default) or ``en`` for the labels.
        bases: base maps, the first shown (default: the blank, offline base).
        tile_url: the all-levels tile URL pattern (``{z}``, ``{x}``, ``{y}``).
        search_url: the search endpoint (``?q=``).
        standard: households per worker of the legend.
        band: tolerance of the legend, as a fraction.
        base_url: where the vendored scripts are served.

    Returns:
        The Folium map; :func:`render_page` gives the HTML page.

    Raises:
        ValueError: an unknown ``lang``.
    """
    check_lang(lang)
    fmap = new_map(bases=bases, base_url=base_url, bounds=bounds)
    early_tiles(fmap, tile_url, bounds, min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM)
    add_levels(fmap, tile_url, levels, lang=lang, base_url=base_url)
    lines = [(*outline(d), lv.label(lang)) for d, lv in enumerate(levels[:-1])]
    return finish(
        fmap,
        title=f"gridgeo {TITLE[lang]}",
        lang=lang,
        other_href="?lang=en" if lang == "zh" else "?lang=zh",
        legend=(
            load_heading(standard, band, lang),
            status_labels(standard, band, lang),
            [(c, label, w) for c, w, label in lines],
        ),
        search_url=search_url,
        bounds=bounds,
        base_url=base_url,
    )
