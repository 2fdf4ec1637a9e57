"""Base maps of the map pages: none (offline), OpenStreetMap, Tianditu (天地图) and AMap (高德).

``GRIDGEO_MAP_TILES`` names one base map or several, comma-separated: the first is shown, the
others can be picked in the layer control. Names: ``none`` (or empty: a blank base that needs
no internet; the tests and the offline demo use it), ``osm``/``OpenStreetMap``, ``tianditu``
(vector map with Chinese labels), ``tianditu-img`` (imagery with labels), ``amap`` (AMap road
map), ``amap-img`` (AMap imagery), or an ``https://…{z}/{x}/{y}…`` template of your own.

Tianditu needs a key (``GRIDGEO_TIANDITU_KEY``); its ``_w`` tiles are Web Mercator on
CGCS2000, which is within centimetres of WGS84, so the grids line up unshifted. AMap's tiles
are drawn in GCJ-02, 300–700 m away from WGS84 in China: those layers are shifted back by the
GCJ-02 offset at the centre of the view (``gridgeo.gcjTileLayer`` in ``gridmap.js``; the offset
varies by well under a metre across a city view), so that our WGS84 data stays as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.assets import STATIC_URL, vendored

log = logging.getLogger(__name__)

TIANDITU = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> GS(2024)0568号'
AMAP = "https://webrd0{{s}}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={{x}}&y={{y}}&z={{z}}"
AMAP_IMG = "https://webst0{{s}}.is.autonavi.com/appmaptile?style=6&x={{x}}&y={{y}}&z={{z}}"
AMAP_ATTR = '&copy; <a href="https://www.amap.com/">高德地图 AMap</a>'
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
NONE_NAMES = ("", "none", "blank", "offline")


@dataclass(frozen=True)
class BaseMap:
    """One base map: its label and tile layers (URL, attribution, subdomains).

    Attributes:
        key: the setting's name for it.
        label: shown in the layer control.
        layers: ``(url, attribution)`` per stacked tile layer (Tianditu has a label layer).
        subdomains: Leaflet ``{s}`` values.
        gcj02: the tiles are in GCJ-02 and must be shifted to line up with WGS84 data.
        max_zoom: highest zoom the provider serves.
    """

    key: str
    label: str
    layers: tuple[tuple[str, str], ...] = ()
    subdomains: str = "abc"
    gcj02: bool = False
    max_zoom: int = 18

    @property
    def offline(self) -> bool:
        """True for the blank base that loads nothing."""
        return not self.layers


BLANK = BaseMap("none", "无底图 No base map")


def _one(name: str, tianditu_key: str) -> BaseMap | None:
    key = name.strip()
    low = key.lower()
    if low in NONE_NAMES:
        return BLANK
    if low in ("osm", "openstreetmap"):
        return BaseMap("osm", "OpenStreetMap", ((OSM, OSM_ATTR),), max_zoom=19)
    if low in ("tianditu", "tianditu-img"):
        if not tianditu_key:
            log.warning("GRIDGEO_MAP_TILES names %s but GRIDGEO_TIANDITU_KEY is empty", key)
            return None
        base, notes = ("vec", "cva") if low == "tianditu" else ("img", "cia")
        layers = tuple(
            (TIANDITU.format(layer=lay, key=tianditu_key), TIANDITU_ATTR) for lay in (base, notes)
        )
        label = "天地图 Tianditu" if low == "tianditu" else "天地图影像 Tianditu imagery"
        return BaseMap(low, label, layers, subdomains="01234567")
    if low in ("amap", "amap-img"):
        url = (AMAP if low == "amap" else AMAP_IMG).format()
        label = "高德地图 AMap" if low == "amap" else "高德影像 AMap imagery"
        return BaseMap(low, label, ((url, AMAP_ATTR),), subdomains="1234", gcj02=True)
    if low.startswith(("https://", "http://")) and "{z}" in key:
        return BaseMap("custom", "底图 Base map", ((key, ""),))
    log.warning("unknown base map %r in GRIDGEO_MAP_TILES; it is left out", key)
    return None


def resolve(setting: str | None, tianditu_key: str = "") -> list[BaseMap]:
    """The base maps named by ``setting`` (first shown), never empty.

    Unknown names, and Tianditu without a key, are left out with a warning; when nothing is
    left the blank (offline) base is used.
    """
    found = [b for name in (setting or "").split(",") if (b := _one(name, tianditu_key))]
    unique: list[BaseMap] = []
    for b in found:
        if b.key not in [u.key for u in unique] or b.key == "custom":
            unique.append(b)
    return unique or [BLANK]


class BaseTiles(JSCSSMixin, Layer):
    """A base map as one Leaflet layer (stacked tile layers, GCJ-02 ones shifted).

    Args:
        base: the base map.
        show: shown on opening (the first base map).
        control: listed in the layer control (when there is a choice).
        base_url: where the vendored scripts are served.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridgeo.baseTiles({{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self, base: BaseMap, *, show: bool, control: bool, base_url: str = STATIC_URL
    ) -> None:
        """See the class docstring."""
        super().__init__(name=base.label, overlay=False, control=control, show=show)
        self._name = "BaseTiles"
        self.spec = {
            "key": base.key,
            "layers": [list(layer) for layer in base.layers],
            "subdomains": base.subdomains,
            "gcj02": base.gcj02,
            "maxZoom": base.max_zoom,
        }
        self.default_js = [("gridmap", vendored(base_url)["gridmap_js"])]


def add_base_maps(
    fmap: folium.Map, bases: Sequence[BaseMap], *, base_url: str = STATIC_URL
) -> folium.Map:
    """Add ``bases`` to a map made with ``tiles=None``; the first is shown."""
    for i, base in enumerate(bases):
        BaseTiles(base, show=i == 0, control=len(bases) > 1, base_url=base_url).add_to(fmap)
    return fmap
