"""The /maps/incidents page: incidents as clusters and a heat map, filterable, overdue marked.

The page embeds no incidents: it fetches ``/maps/incidents/data`` with the filter (the same
query parameters as the page) and again whenever the filter form is applied. A click on an
incident loads its timeline from ``/incidents/{id}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
from branca.element import JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from gridgeo.incidents.policy import STATE_WORDS
from maps.assets import STATIC_URL, vendored
from maps.basemaps import BLANK, BaseMap
from maps.frame import check_lang, finish, new_map
from maps.vector_layer import LevelLayer, add_levels

TITLE = {"zh": "事件地图", "en": "Incident map"}
STATE_COLOURS = {
    "reported": "#fd8d3c",
    "accepted": "#fecc5c",
    "dispatched": "#9e9ac8",
    "in_progress": "#6baed6",
    "resolved": "#74c476",
    "verified": "#31a354",
    "closed": "#969696",
}
# the policy's words (the desk and the phone say the same), the legend's colours
STATE_LABELS = {
    state: (zh, en.capitalize(), STATE_COLOURS[state]) for state, (zh, en) in STATE_WORDS.items()
}
OVERDUE_COLOUR = "#d7191c"


class _ScriptLayer(JSCSSMixin, Layer):
    """An overlay made by a ``gridgeo.*`` factory in incidents.js."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridgeo.{{ this.factory }}();
        {% endmacro %}
        """
    )

    def __init__(self, factory: str, *, name: str, show: bool, base_url: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "IncidentLayer"
        self.factory = factory
        links = vendored(base_url)
        self.default_js = [
            ("markercluster", links["markercluster_js"]),
            ("heat", links["heat_js"]),
            ("gridmap", links["gridmap_js"]),
            ("incidents", links["incidents_js"]),
        ]
        self.default_css = [
            ("markercluster_css", links["markercluster_css"]),
            ("markercluster_default_css", links["markercluster_default_css"]),
            ("gridmap_css", links["gridmap_css"]),
        ]


class IncidentLoader(MacroElement):
    """The filter form and the loader that fills the cluster and heat layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gridgeo.incidentMap({{ this._parent.get_name() }}, {{ this.clusters.get_name() }},
            {{ this.heat.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, clusters: Layer, heat: Layer, config: dict[str, object]) -> None:
        """Fill ``clusters`` and ``heat`` as ``config`` says (see ``gridgeo.incidentMap``)."""
        super().__init__()
        self._name = "IncidentLoader"
        self.clusters = clusters
        self.heat = heat
        self.config = config


def legend_rows(lang: str) -> list[tuple[str, str]]:
    """Legend rows ``(colour, label)``: one per state, then overdue."""
    rows = [
        (colour, f"{zh} · {en}" if lang == "zh" else f"{en} · {zh}")
        for zh, en, colour in STATE_LABELS.values()
    ]
    rows.append((OVERDUE_COLOUR, "超期（红圈） · Overdue (red ring)" if lang == "zh" else
                 "Overdue (red ring) · 超期"))  # fmt: skip
    return rows


def build_incidents_page(
    *,
    filters: dict[str, str],
    categories: Sequence[dict[str, str]],
    levels: Sequence[LevelLayer] = (),
    bounds: list[list[float]] | None = None,
    lang: str = "zh",
    bases: Sequence[BaseMap] = (BLANK,),
    data_url: str = "/maps/incidents/data",
    detail_url: str = "/incidents/",
    tile_url: str = "/tiles/{z}/{x}/{y}.pbf",
    other_href: str = "?lang=en",
    base_url: str = STATIC_URL,
    shell_js: str | None = None,
) -> folium.Map:
    """Build the incident map page.

    Args:
        filters: the initial filter as query parameters (state, category, grid, from, to,
            overdue), already checked.
        categories: ``{key, zh, en}`` per incident category (for the filter form).
        levels: levels drawn as context under the incidents (none: no grid outlines).
        bounds: ``[[south, west], [north, east]]`` to show first.
        lang: ``zh`` or ``en``.
        bases: base maps, the first shown.
        data_url: the incident data endpoint.
        detail_url: prefix of one incident's URL (its timeline).
        tile_url: the all-levels tile URL pattern.
        other_href: link of the language switch.
        base_url: where the vendored scripts are served.
        shell_js: the browser pages' shell script, which says the notes the system wrote on a
            timeline in the page's language (None, as in a standalone file: as stored).

    Raises:
        ValueError: an unknown ``lang``.
    """
    check_lang(lang)
    fmap = new_map(bases=bases, base_url=base_url, bounds=bounds)
    if shell_js:
        root = fmap.get_root()
        root.header.add_child(JavascriptLink(shell_js), name="gridgeo_shell")  # type: ignore[attr-defined]
    if levels:
        add_levels(fmap, tile_url, levels, lang=lang, fill_js="gridgeo.plainGrid",
                   base_url=base_url)  # fmt: skip
    zh = lang == "zh"
    clusters = _ScriptLayer(
        "incidentClusters", name="事件聚合 Clusters" if zh else "Clusters 事件聚合",
        show=True, base_url=base_url,
    )  # fmt: skip
    heat = _ScriptLayer(
        "incidentHeat", name="热力图 Heat map" if zh else "Heat map 热力图", show=False,
        base_url=base_url,
    )  # fmt: skip
    clusters.add_to(fmap)
    heat.add_to(fmap)
    config = {
        "dataUrl": data_url,
        "detailUrl": detail_url,
        "filter": dict(filters),
        "categories": list(categories),
        "lang": lang,
        "fit": bool(filters.get("grid")) or bounds is None,
        "updateUrl": True,
    }
    IncidentLoader(clusters, heat, config).add_to(fmap)
    heading = "事件状态 Incident state" if zh else "Incident state 事件状态"
    return finish(
        fmap,
        title=f"gridgeo {TITLE[lang]}",
        lang=lang,
        other_href=other_href,
        legend=(heading, legend_rows(lang), []),
        bounds=bounds,
        base_url=base_url,
    )
