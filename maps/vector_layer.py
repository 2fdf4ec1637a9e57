"""The levels of the hierarchy as one canvas layer over gridgeo's MVT tiles (``mvt.js``).

One tile source (``/tiles/{z}/{x}/{y}.pbf``, an MVT layer per level) is drawn on canvas in
512-pixel tiles; each level gets an entry in the layer control (:class:`LevelToggle`) that shows
or hides it within the shared layer. The leaf level is filled (by workload status unless a fill
function is given) and carries the popup and tooltip; coarser levels are outlines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.assets import STATIC_DIR, STATIC_URL, vendored

# Outline colour and weight per depth: coarse levels bold and dark.
OUTLINES = [("#08306b", 4), ("#2171b5", 3), ("#6a51a3", 2)]


@dataclass(frozen=True)
class LevelLayer:
    """A level shown on a page: its key and labels."""

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


def outline(depth: int) -> tuple[str, int]:
    """``(colour, weight)`` of the outline of a level at ``depth``."""
    return OUTLINES[min(depth, len(OUTLINES) - 1)]


class LevelTiles(JSCSSMixin, MacroElement):
    """The shared vector-tile layer of all levels (see ``gridgeo.levelTiles``).

    Args:
        url: tile URL template with ``{z}``, ``{x}``, ``{y}``.
        levels: the levels, top first; the last is the leaf (filled, interactive).
        lang: ``zh`` or ``en`` for the popup.
        fill_js: a JavaScript expression for the leaf style function (default: by status).
        popup_js: a JavaScript expression ``function (props, lang) -> html`` for the popup.
        base_url: where the vendored scripts are served.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridgeo.levelTiles({{ this._parent.get_name() }},
            {{ this.url|tojson }}, {{ this.levels|tojson }},
            {lang: {{ this.lang|tojson }}, fill: {{ this.fill_js }}, popup: {{ this.popup_js }}});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        levels: Sequence[LevelLayer],
        *,
        lang: str = "zh",
        fill_js: str = "null",
        popup_js: str = "null",
        base_url: str = STATIC_URL,
    ) -> None:
        """See the class docstring."""
        super().__init__()
        self._name = "LevelTiles"
        self.url = url
        last = len(levels) - 1
        self.levels = [
            {
                "key": lv.key,
                "colour": outline(d)[0],
                "weight": outline(d)[1],
                "leaf": d == last,
            }
            for d, lv in enumerate(levels)
        ]
        self.lang = lang
        self.fill_js = fill_js
        self.popup_js = popup_js
        links = vendored(base_url)
        self.default_js = [
            ("mvt", links["mvt_js"]),
            ("gridmap", links["gridmap_js"]),
            ("gridextras", links["gridextras_js"]),
        ]
        self.default_css = [("gridmap_css", links["gridmap_css"])]


class LevelToggle(Layer):
    """The layer-control entry of one level of a :class:`LevelTiles` layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridgeo.levelToggle({{ this.tiles.get_name() }}, {{ this.key|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, tiles: LevelTiles, key: str, *, name: str, show: bool = True) -> None:
        """Toggle level ``key`` of ``tiles``, labelled ``name``."""
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LevelToggle"
        self.tiles = tiles
        self.key = key


def add_levels(
    fmap: MacroElement,
    url: str,
    levels: Sequence[LevelLayer],
    *,
    lang: str = "zh",
    fill_js: str = "null",
    popup_js: str = "null",
    base_url: str = STATIC_URL,
) -> LevelTiles:
    """Add the shared level layer and one toggle per level to ``fmap``."""
    tiles = LevelTiles(
        url, levels, lang=lang, fill_js=fill_js, popup_js=popup_js, base_url=base_url
    )
    tiles.add_to(fmap)
    for level in levels:
        LevelToggle(tiles, level.key, name=level.label(lang)).add_to(fmap)
    return tiles


class FilledLevels(JSCSSMixin, MacroElement):
    """Levels down to a chosen one from the vector tiles, the chosen one filled by figures.

    A subclass names the page script's function (``gridgeo.<function>(map, config)``) and any
    script of its own; the tiles and the grid-map scripts are shared.
    """

    function = ""  # gridgeo.<function> draws the layer
    scripts: tuple[tuple[str, str], ...] = ()  # (name, path under the static URL)

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeo.{{ this.function }}({{ this._parent.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, object], base_url: str = STATIC_URL) -> None:
        """See the page script's ``gridgeo.<function>`` for ``config``."""
        super().__init__()
        self._name = type(self).__name__
        self.config = config
        links = vendored(base_url)
        self.default_js = [("mvt", links["mvt_js"]), ("gridmap", links["gridmap_js"])]
        self.default_js += [("gridextras", links["gridextras_js"])]
        self.default_js += [(name, f"{base_url}/{path}") for name, path in self.scripts]
        self.default_css = [("gridmap_css", links["gridmap_css"])]


@cache
def _early_js() -> str:
    """``early.js`` without its header comment (it is inlined in every page that uses it)."""
    src = (STATIC_DIR / "gridgeo" / "early.js").read_text(encoding="utf-8")
    return re.sub(r"^/\*.*?\*/\s*", "", src, count=1, flags=re.S)


def early_tiles(
    fmap: MacroElement,
    url: str,
    bounds: list[list[float]] | None,
    *,
    min_zoom: int,
    max_zoom: int,
    max_native_zoom: int = 17,
) -> None:
    """Ask for the first view's tiles from the page's ``<head>``, before any script loads.

    For a page whose map fills the window and ends on ``fitBounds(bounds)``: ``early.js``
    works out that view for the window's size and fetches its tiles, which ``mvt.js`` then
    takes instead of asking again. Measured on the 10,000-grid city (bench/maps.py): the tiles
    were otherwise first asked for after the scripts had loaded and run.
    """
    if not bounds:
        return
    call = (
        f"gridgeoEarlyTiles({json.dumps(bounds)}, {json.dumps(url)}, {min_zoom}, {max_zoom},"
        f" {max_native_zoom});"
    )
    script = f"<script>{_early_js()}{call}</script>"
    root = fmap.get_root()
    root.header.add_child(Element(script), name="gridgeo_early", index=1)  # type: ignore[attr-defined]
