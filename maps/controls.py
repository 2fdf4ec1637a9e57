"""Page controls of the map pages: title with a language switch, legend, search, fullscreen."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen
from jinja2 import Template

from maps.assets import STATIC_URL, vendored


class HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (built and escaped in Python).

    Args:
        html: the control's inner HTML.
        css_class: class of the control's box.
        position: Leaflet control position.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var c = L.control({position: {{ this.position|tojson }}});
            c.onAdd = function () {
                var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, css_class: str, position: str = "topright") -> None:
        """See the class docstring."""
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.css_class = css_class
        self.position = position


DASHBOARD = {"zh": "综合评价", "en": "Evaluation"}


def title_control(title: str, *, lang: str, other_href: str, dashboard: bool = True) -> HtmlControl:
    """The map's title, a link to the same page in the other language and to the dashboard."""
    other = "English" if lang == "zh" else "中文"
    html = f"<h1>{escape(title)}</h1>"
    if other_href:  # a standalone file has no other language (nor server) to go to
        html += (
            f'<a class="gridgeo-lang" hreflang="{"en" if lang == "zh" else "zh-CN"}" '
            f'href="{escape(other_href)}">{other}</a>'
        )
        if dashboard:
            suffix = "?lang=en" if lang == "en" else ""
            html += (
                f' · <a class="gridgeo-dashboard" href="/dashboard{suffix}">{DASHBOARD[lang]}</a>'
            )
    return HtmlControl(html, css_class="gridgeo-title leaflet-bar", position="topleft")


def legend_control(
    heading: str,
    fills: Sequence[tuple[str, str]],
    lines: Sequence[tuple[str, str, int]],
) -> HtmlControl:
    """A legend: filled swatches ``(colour, label)`` then line swatches ``(colour, label, px)``."""
    rows = [f"<h4>{escape(heading)}</h4>"]
    rows += [
        f'<div data-swatch="fill"><i style="background:{escape(c)}"></i>{escape(label)}</div>'
        for c, label in fills
    ]
    rows += [
        f'<div data-swatch="line"><i class="line" style="border-top-color:{escape(c)};'
        f'border-top-width:{int(w)}px"></i>{escape(label)}</div>'
        for c, label, w in lines
    ]
    return HtmlControl(
        "".join(rows), css_class="gridgeo-legend leaflet-bar", position="bottomright"
    )


class SearchControl(JSCSSMixin, MacroElement):
    """A search box by code or name over ``url?q=…`` (see ``gridgeo.searchControl``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeo.searchControl({{ this._parent.get_name() }}, {{ this.url|tojson }}, {{ this.lang|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, *, lang: str = "zh", base_url: str = STATIC_URL) -> None:
        """Search through ``url`` with labels in ``lang``."""
        super().__init__()
        self._name = "SearchControl"
        self.url = url
        self.lang = lang
        self.default_js = [("gridmap", vendored(base_url)["gridmap_js"])]


def local_fullscreen(*, lang: str = "zh", base_url: str = STATIC_URL) -> Fullscreen:
    """Folium's Fullscreen control pointed at the vendored leaflet.fullscreen 3.0.0."""
    zh = lang == "zh"
    control = Fullscreen(
        position="topleft",
        title="全屏" if zh else "Full screen",
        title_cancel="退出全屏" if zh else "Exit full screen",
    )
    links = vendored(base_url)
    control.default_js = [("Control.Fullscreen.js", links["fullscreen_js"])]
    control.default_css = [("Control.FullScreen.css", links["fullscreen_css"])]
    return control
