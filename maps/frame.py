"""What every map page shares: base maps, title, legend, search, scale, fullscreen, locate.

The layer control is added last, so that it lists every layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import FitBounds
from jinja2 import Template

from maps.assets import STATIC_URL, use_local_assets, vendored
from maps.basemaps import BLANK, BaseMap, add_base_maps
from maps.controls import SearchControl, legend_control, local_fullscreen, title_control
from maps.layer_control import ListedLayerControl

LANGS = ("zh", "en")
MIN_ZOOM = 3
MAX_ZOOM = 19


class LocateControl(JSCSSMixin, MacroElement):
    """The "locate me" button (browser geolocation, with the accuracy circle)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeo.locateControl({{ this._parent.get_name() }}, {{ this.lang|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, *, lang: str = "zh", base_url: str = STATIC_URL) -> None:
        """Labels in ``lang``."""
        super().__init__()
        self._name = "LocateControl"
        self.lang = lang
        self.default_js = [("gridmap", vendored(base_url)["gridmap_js"])]
        self.default_css = [("gridmap_css", vendored(base_url)["gridmap_css"])]


def check_lang(lang: str) -> None:
    """Refuse a language the pages do not speak.

    Raises:
        ValueError: ``lang`` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")


def start_view(bounds: list[list[float]] | None) -> tuple[list[float] | None, int]:
    """Centre and zoom that show ``bounds`` in a ~1000×700 pixel map.

    The map starts there, so that it asks for no tiles of a view it leaves at once; the
    page's ``fitBounds`` then fits the real size.
    """
    if not bounds:
        return None, 2
    (s, w), (n, e) = bounds
    span_x = max(e - w, 1e-6) / 360.0
    ys = [math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) for lat in (s, n)]
    span_y = max(ys[1] - ys[0], 1e-9) / (2 * math.pi)
    zoom = min(math.log2(1000 / 256 / span_x), math.log2(700 / 256 / span_y))
    return [round((s + n) / 2, 6), round((w + e) / 2, 6)], max(
        MIN_ZOOM, min(MAX_ZOOM, math.floor(zoom))
    )


def new_map(
    *,
    bases: Sequence[BaseMap] = (BLANK,),
    base_url: str = STATIC_URL,
    bounds: list[list[float]] | None = None,
) -> folium.Map:
    """A Folium map on the vendored Leaflet with the configured base maps and a scale bar."""
    location, zoom = start_view(bounds)
    fmap = use_local_assets(
        folium.Map(tiles=None, control_scale=True, zoom_start=zoom, location=location),
        base_url,
    )
    # Without a tile layer of its own Folium does not pass zoom limits to the map; Leaflet
    # would otherwise take them from the first layer that has some.
    fmap.options["minZoom"] = MIN_ZOOM
    fmap.options["maxZoom"] = MAX_ZOOM
    add_base_maps(fmap, bases, base_url=base_url)
    return fmap


def finish(
    fmap: folium.Map,
    *,
    title: str,
    lang: str,
    other_href: str,
    legend: tuple[str, Sequence[tuple[str, str]], Sequence[tuple[str, str, int]]] | None,
    search_url: str | None = "/maps/search",
    bounds: list[list[float]] | None = None,
    base_url: str = STATIC_URL,
    dashboard: bool = True,
) -> folium.Map:
    """Add the controls every page has, then the layer control; fit ``bounds``.

    ``dashboard``: link the title to ``/dashboard`` (a served page that is not part of it).
    """
    title_control(title, lang=lang, other_href=other_href, dashboard=dashboard).add_to(fmap)
    if legend is not None:
        heading, fills, lines = legend
        legend_control(heading, fills, lines).add_to(fmap)
    if search_url:
        SearchControl(search_url, lang=lang, base_url=base_url).add_to(fmap)
    local_fullscreen(lang=lang, base_url=base_url).add_to(fmap)
    LocateControl(lang=lang, base_url=base_url).add_to(fmap)
    ListedLayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().title = title  # type: ignore[attr-defined]
    if bounds:
        # not animated: the map is at its first view at once, so that the tile layers (added
        # right after the page's script) ask for that view only. Animated, a layer added during
        # the 250 ms zoom asked for the provisional view's tiles as well (bench/maps.py).
        fit = FitBounds(bounds)
        fit.options["animate"] = False
        fit.add_to(fmap)
    return fmap


def render_page(fmap: folium.Map, lang: str) -> str:
    """The page's HTML, its ``<html>`` element tagged with the language."""
    html = fmap.get_root().render()
    return html.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
