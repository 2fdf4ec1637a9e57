"""The map pages' download links by role, and the layer control left out when empty (issue 16)."""

from __future__ import annotations

import folium

from maps.exports import tool_links, tools_control
from maps.layer_control import ListedLayerControl


def _classes(links):
    return [css for css, _, _ in links]


def test_links_follow_what_each_role_may_download():
    where = {"lang": "zh", "level": "grid", "area": "370705001001", "balance": True}
    planner = tool_links(role="planner", **where)
    assert _classes(planner) == [
        "gridgeo-export-geojson", "gridgeo-export-gpkg", "gridgeo-export-shp",
        "gridgeo-export-xlsx", "gridgeo-balance",
    ]  # fmt: skip
    assert planner[0][2] == "/export/grids?level=grid&area=370705001001&format=geojson"
    assert planner[3][2] == "/workload?format=xlsx&parent=370705001001"
    assert planner[4][2] == "/plans/editor?area=370705001001&balance=1"
    assert _classes(tool_links(role="viewer", **where)) == ["gridgeo-export-xlsx"]
    assert tool_links(role="patrol", **where) == [] and tool_links(role=None, **where) == []
    en = tool_links(role="admin", lang="en", level="street", workload_level="street")
    assert en[-1][2] == "/workload?format=xlsx&level=street" and "gridgeo-balance" not in _classes(
        en
    )
    assert tools_control([], lang="zh") is None
    assert "导出" in tools_control(en, lang="zh").html


def test_layer_control_only_when_something_is_listed():
    empty = folium.Map(tiles=None)
    ListedLayerControl().add_to(empty)
    assert "L.control.layers" not in empty.get_root().render()
    listed = folium.Map(tiles=None)
    folium.FeatureGroup(name="grids").add_to(listed)
    ListedLayerControl().add_to(listed)
    assert "L.control.layers" in listed.get_root().render()
