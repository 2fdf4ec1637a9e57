"""A level of the hierarchy as a toggleable Leaflet.VectorGrid layer over gridgeo's MVT tiles."""

from __future__ import annotations

import json

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.assets import STATIC_URL, vendored


class VectorTileLayer(JSCSSMixin, Layer):
    """One MVT layer (``/tiles/{level}/{z}/{x}/{y}.pbf``) drawn as SVG.

    The leaf level is filled by workload status and gets the popup and tooltip of
    ``gridgeo.bindGrid``; coarser levels are outlines only (not interactive).

    Args:
        url: tile URL template with ``{z}``, ``{x}``, ``{y}``.
        level: the level key (the MVT layer name).
        name: label in the layer control.
        colour: outline colour (outline levels).
        weight: outline weight (outline levels).
        grid: True for the leaf level (filled, interactive).
        lang: ``zh`` or ``en`` for the popup.
        base_url: where the vendored scripts are served.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            rendererFactory: L.svg.tile,
            interactive: {{ this.grid|tojson }},
            maxNativeZoom: 16,
            pane: {{ this.pane|tojson }},
            getFeatureId: function (f) { return f.properties.code; },
            vectorTileLayerStyles: {
                {{ this.level|tojson }}: {{ this.style_js }}
            }
        });
        {%- if this.grid %}
        gridgeo.bindGrid({{ this.get_name() }}, {{ this._parent.get_name() }}, {{ this.lang|tojson }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        *,
        level: str,
        name: str,
        colour: str = "#08306b",
        weight: int = 1,
        grid: bool = False,
        lang: str = "zh",
        base_url: str = STATIC_URL,
    ) -> None:
        """See the class docstring."""
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "VectorTileLayer"
        self.url = url
        self.level = level
        self.grid = grid
        self.lang = lang
        self.pane = "overlayPane" if grid else "gridgeoOutlines"
        if grid:
            self.style_js = "gridgeo.gridStyle"
        else:
            self.style_js = (
                f"gridgeo.outlineStyle({json.dumps(level)}, {json.dumps(colour)}, {int(weight)})"
            )
        links = vendored(base_url)
        self.default_js = [
            ("vectorgrid", links["vectorgrid_js"]),
            ("gridmap", links["gridmap_js"]),
        ]
        self.default_css = [("gridmap_css", links["gridmap_css"])]


class OutlinePane(MacroElement):
    """A map pane above the filled grids for the outline levels (clicks pass through)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.createPane('gridgeoOutlines');
        {{ this._parent.get_name() }}.getPane('gridgeoOutlines').style.zIndex = 450;
        {{ this._parent.get_name() }}.getPane('gridgeoOutlines').style.pointerEvents = 'none';
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        """A pane named ``gridgeoOutlines``."""
        super().__init__()
        self._name = "OutlinePane"
