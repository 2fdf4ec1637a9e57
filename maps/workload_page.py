"""The /maps/workload page: a choropleth of one level by load against the standard band.

Geometry comes from the vector tiles; the figures of the chosen level (any level: a street is
coloured by the load of all its grids together) are fetched once from ``/maps/workload/data``
and joined to the tiles' features by code in the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import folium

from maps.assets import STATIC_URL
from maps.basemaps import BLANK, BaseMap
from maps.controls import HtmlControl
from maps.frame import check_lang, finish, new_map
from maps.grids_page import load_heading, status_labels
from maps.vector_layer import FilledLevels, LevelLayer, outline

TITLE = {"zh": "工作量地图", "en": "Workload map"}


class WorkloadLayer(FilledLevels):
    """Levels down to the chosen one from the tiles, the chosen one filled by its figures."""

    function = "workloadMap"


def level_picker(levels: Sequence[LevelLayer], chosen: str, lang: str) -> HtmlControl:
    """Links to the page for each level, the chosen one marked."""
    items = []
    for lv in levels:
        href = f"?level={lv.key}" + ("&lang=en" if lang == "en" else "")
        label = escape(lv.label_zh if lang == "zh" else lv.label_en)
        if lv.key == chosen:
            items.append(f'<b aria-current="page" data-level="{escape(lv.key)}">{label}</b>')
        else:
            items.append(f'<a href="{escape(href)}" data-level="{escape(lv.key)}">{label}</a>')
    heading = "层级" if lang == "zh" else "Level"
    return HtmlControl(
        f"{heading}: " + " · ".join(items),
        css_class="gridgeo-panel gridgeo-levels leaflet-bar",
        position="topright",
    )


def build_workload_page(
    levels: Sequence[LevelLayer],
    *,
    level: str,
    bounds: list[list[float]] | None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    data_url: str = "/maps/workload/data",
    tile_url: str = "/tiles/{z}/{x}/{y}.pbf",
    standard: int,
    band: float,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Build the choropleth page of ``level``.

    Raises:
        ValueError: an unknown ``lang`` or ``level``.
    """
    check_lang(lang)
    keys = [lv.key for lv in levels]
    if level not in keys:
        raise ValueError(f"level must be one of {keys}")
    shown = levels[: keys.index(level) + 1]
    fmap = new_map(bases=bases, base_url=base_url, bounds=bounds)
    WorkloadLayer(
        {
            "tileUrl": tile_url,
            "dataUrl": f"{data_url}?level={level}",
            "lang": lang,
            "hide": keys[len(shown) :],
            "levels": [
                {
                    "key": lv.key,
                    "colour": outline(d)[0],
                    "weight": outline(d)[1],
                    "leaf": lv.key == level,
                }
                for d, lv in enumerate(shown)
            ],
        },  # fmt: skip
        base_url=base_url,
    ).add_to(fmap)
    level_picker(levels, level, lang).add_to(fmap)
    chosen = shown[-1]
    title = f"gridgeo {TITLE[lang]} · {chosen.label_zh if lang == 'zh' else chosen.label_en}"
    suffix = f"level={level}"
    return finish(
        fmap,
        title=title,
        lang=lang,
        other_href=f"?{suffix}&lang=en" if lang == "zh" else f"?{suffix}",
        legend=(
            load_heading(standard, band, lang),
            status_labels(standard, band, lang),
            [(outline(d)[0], lv.label(lang), outline(d)[1]) for d, lv in enumerate(shown[:-1])],
        ),
        bounds=bounds,
        base_url=base_url,
    )
