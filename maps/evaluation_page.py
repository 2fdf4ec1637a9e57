"""The evaluation map: the areas of one level under a parent, coloured by one figure.

Geometry from the vector tiles, as the workload map (only the levels drawn: down to the chosen
one, ``/tiles/{z}/{x}/{y}.pbf?levels=``); the figures of that level are fetched once
from ``/evaluation`` and joined to the tiles' features by code in the browser
(``gridgeo.evaluationMap``, maps/static/gridgeo/evaluation.js). Embedded in ``/dashboard``, a
click on an area asks the dashboard to drill into it; alone, the popup links there.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import folium

from maps.assets import STATIC_URL
from maps.basemaps import BLANK, BaseMap
from maps.frame import check_lang, finish, new_map
from maps.vector_layer import FilledLevels, LevelLayer, outline

# what a map can be coloured by: breaks (ascending) of five classes, and whether high is good
SCALES: dict[str, tuple[tuple[float, ...], bool]] = {
    "score": ((40.0, 60.0, 75.0, 90.0), True),  # the grades' bounds
    "closure_rate": ((0.6, 0.75, 0.9, 0.97), True),
    "on_time_rate": ((0.6, 0.75, 0.9, 0.97), True),
    "on_time_accept_rate": ((0.6, 0.75, 0.9, 0.97), True),
    "satisfied_share": ((0.6, 0.75, 0.85, 0.95), True),
    "mean_rating": ((3.0, 3.5, 4.0, 4.5), True),
    "in_grid_rate": ((0.5, 0.65, 0.8, 0.9), True),
    "in_community_rate": ((0.7, 0.8, 0.9, 0.97), True),
    "rework_rate": ((0.01, 0.03, 0.06, 0.1), False),
    "extension_rate": ((0.01, 0.03, 0.06, 0.1), False),
    "overdue_now": ((1.0, 3.0, 6.0, 10.0), False),
}
COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")  # worst → best
NO_DATA = "#d9d9d9"
TITLE = {"zh": "综合评价地图", "en": "Evaluation map"}


class EvaluationLayer(FilledLevels):
    """Levels down to the chosen one from the tiles, the chosen one filled by a figure."""

    function = "evaluationMap"
    scripts = (("evaluation", "gridgeo/evaluation.js"),)


def legend(figure: str, label: str, lang: str) -> tuple[str, list[tuple[str, str]], list]:
    """The legend of a figure's five classes (worst first) and of no data."""
    breaks, high_good = SCALES[figure]
    pct = figure.endswith(("_rate", "_share"))

    def show(v: float) -> str:
        return f"{100 * v:g}%" if pct else f"{v:g}"

    bounds = [show(b) for b in breaks]
    ranges = [f"< {bounds[0]}"] + [f"{a}–{b}" for a, b in zip(bounds, bounds[1:], strict=False)]
    ranges.append(f"≥ {bounds[-1]}")
    colours = COLOURS if high_good else COLOURS[::-1]
    rows = list(zip(colours, ranges, strict=True))
    if not high_good:
        rows = rows[::-1]  # worst (highest) first either way
    none = "无数据" if lang == "zh" else "no data"
    return label, [*rows, (NO_DATA, none)], []


def build_evaluation_page(
    levels: Sequence[LevelLayer],
    *,
    level: str,
    parent: str,
    figure: str,
    figure_label: str,
    query: dict[str, str],
    bounds: list[list[float]] | None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    data_url: str = "/evaluation",
    tile_url: str = "/tiles/{z}/{x}/{y}.pbf",
    base_url: str = STATIC_URL,
) -> folium.Map:
    """The map of ``level``'s areas under ``parent`` coloured by ``figure``.

    ``query`` is the period of the figures (``period`` or ``from``/``to``), passed on to
    ``data_url``.

    Raises:
        ValueError: an unknown ``lang``, ``level`` or ``figure``.
    """
    check_lang(lang)
    keys = [lv.key for lv in levels]
    if level not in keys:
        raise ValueError(f"level must be one of {keys}")
    if figure not in SCALES:
        raise ValueError(f"figure must be one of {sorted(SCALES)}")
    shown = levels[: keys.index(level) + 1]
    breaks, high_good = SCALES[figure]
    fmap = new_map(bases=bases, base_url=base_url, bounds=bounds)
    params = {"level": level, "parent": parent, **query}
    # only the levels drawn: the tiles of a street map carry no grids (whose layer, with its
    # households and open incidents, took 1–3 s a tile on a server's first dashboard)
    only = ",".join(lv.key for lv in shown)
    EvaluationLayer(
        {
            "tileUrl": f"{tile_url}{'&' if '?' in tile_url else '?'}levels={only}",
            "dataUrl": f"{data_url}?{urlencode(params)}",
            "lang": lang,
            "parent": parent,
            "figure": figure,
            "figureLabel": figure_label,
            "breaks": list(breaks),
            "colours": list(COLOURS if high_good else COLOURS[::-1]),
            "noData": NO_DATA,
            "hide": keys[len(shown) :],
            "levels": [
                {
                    "key": lv.key,
                    "colour": outline(d)[0],
                    "weight": outline(d)[1],
                    "leaf": lv.key == level,
                }
                for d, lv in enumerate(shown)
            ],  # fmt: skip
        },
        base_url=base_url,
    ).add_to(fmap)
    chosen = shown[-1]
    title = f"{TITLE[lang]} · {chosen.label(lang)} · {figure_label}"
    other = urlencode({**params, "figure": figure, "lang": "en" if lang == "zh" else "zh"})
    return finish(
        fmap,
        title=title,
        lang=lang,
        other_href=f"?{other}",
        legend=legend(figure, figure_label, lang),
        search_url=None,
        bounds=bounds,
        base_url=base_url,
        dashboard=False,
    )
