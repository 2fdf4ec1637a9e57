"""The /maps/grids builder: normalised HTML fragments, no geometry, nothing off-site."""

from __future__ import annotations

import re

import pytest

from maps.area_page import panel_html
from maps.basemaps import resolve
from maps.frame import start_view
from maps.grids_page import LevelLayer, build_grids_page, render_page, status_labels
from maps.incidents_page import build_incidents_page
from maps.workload_page import build_workload_page

LEVELS = [
    LevelLayer("district", "区", "District"),
    LevelLayer("street", "街道", "Street"),
    LevelLayer("community", "社区", "Community"),
    LevelLayer("grid", "网格", "Grid"),
]


def normalise(html: str) -> str:
    """Folium's random ids replaced, JSON \\u escapes decoded, whitespace collapsed."""
    html = re.sub(r"\b([a-z_]+?)_[0-9a-f]{32}", r"\1_ID", html)
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    return re.sub(r"\s+", " ", html).strip()


@pytest.fixture(scope="module")
def page() -> str:
    fmap = build_grids_page(LEVELS, bounds=[[36.6, 117.0], [36.7, 117.1]], band=0.1, standard=300)
    return normalise(render_page(fmap, "zh"))


def test_one_tile_source_and_a_toggle_per_level(page):
    assert page.count("gridgeo.levelTiles(") == 1
    assert 'gridgeo.levelTiles(map_ID, "/tiles/{z}/{x}/{y}.pbf", [' in page
    assert '{"colour": "#08306b", "key": "district", "leaf": false, "weight": 4}' in page
    assert '{"colour": "#6a51a3", "key": "grid", "leaf": true, "weight": 2}' in page
    for level in ("district", "street", "community", "grid"):
        assert f'gridgeo.levelToggle(level_tiles_ID, "{level}")' in page
    assert '"区 District" : level_toggle_ID' in page
    assert '"网格 Grid" : level_toggle_ID' in page
    # the layer control comes last, after every layer it lists
    assert page.index("L.control.layers(") > page.rindex("gridgeo.levelToggle(")


def test_zoom_limits_and_start_view(page):
    assert '"minZoom": 3' in page and '"maxZoom": 19' in page
    assert "center: [36.65, 117.05]" in page and '"zoom": 12' in page


def test_offline_assets_only(page):
    assert '<script src="/static/gridgeo/mvt.js"></script>' in page
    assert '<script src="/static/fullscreen/Control.FullScreen.js"></script>' in page
    assert '<link rel="stylesheet" href="/static/gridgeo/gridmap.css"/>' in page
    assert not re.search(r"(src|href)=\"https?:", page)
    assert "cdn" not in page.lower()


def test_controls_and_language(page):
    assert '<html lang="zh-CN">' in page
    assert "<title>gridgeo 网格地图</title>" in page
    assert (
        r"\u003ch1\u003egridgeo 网格地图\u003c/h1\u003e" in page
        or "<h1>gridgeo 网格地图</h1>" in page
    )
    assert 'href=\\"?lang=en\\"' in page or "href=\\u0022?lang=en" in page or "?lang=en" in page
    assert 'gridgeo.searchControl(map_ID, "/maps/search", "zh");' in page
    assert "L.control.fullscreen(" in page and '"title": "全屏"' in page
    assert "L.control.scale(" in page
    assert "低负荷 &lt; 270 户/人 · Under &lt; 270 per worker" in page
    assert "fitBounds( [[36.6, 117.0], [36.7, 117.1]]" in page.replace(
        "fitBounds([", "fitBounds( ["
    )


def test_english_and_small():
    fmap = build_grids_page(LEVELS, bounds=None, lang="en", band=0.1, standard=300)
    html = normalise(render_page(fmap, "en"))
    assert '<html lang="en">' in html and "gridgeo Grid map" in html
    assert '"Grid 网格" : level_toggle_ID' in html
    assert len(html) < 20_000
    with pytest.raises(ValueError):
        build_grids_page(LEVELS, bounds=None, lang="fr", band=0.1, standard=300)


def test_legend_bands():
    rows = dict((label.split(" ")[0], colour) for colour, label in status_labels(300, 0.1, "zh"))
    assert rows == {
        "低负荷": "#4575b4",
        "达标": "#ffffbf",
        "超负荷": "#d73027",
        "无人员": "#969696",
        "无住户": "#ffffff",
    }
    labels = [label for _, label in status_labels(300, 0.1, "en")]
    assert labels[0] == "Under < 270 per worker · 低负荷 < 270 户/人"
    assert labels[1].startswith("Within 270–330")


def test_controls_every_page_has(page):
    assert 'gridgeo.locateControl(map_ID, "zh");' in page
    assert 'gridgeo.baseTiles({"gcj02": false, "key": "none", "layers": []' in page


def test_base_maps_in_the_layer_control():
    bases = resolve("amap,tianditu,none", "K")
    html = normalise(
        render_page(
            build_grids_page(LEVELS, bounds=None, bases=bases, band=0.1, standard=300), "zh"
        )
    )
    assert html.count("gridgeo.baseTiles(") == 3
    assert '"gcj02": true, "key": "amap"' in html
    assert '"key": "tianditu", "layers": [["https://t{s}.tianditu.gov.cn/vec_w/wmts?' in html
    assert '高德地图 AMap" : base_tiles_ID' in html or '"高德地图 AMap" : base_tiles_ID' in html
    # only the first is added to the map at first
    assert html.count("base_tiles_ID.addTo(map_ID)") == 1


def test_incidents_page_builder():
    cats = [{"key": "sanitation", "zh": "环境卫生", "en": "Sanitation"}]
    fmap = build_incidents_page(
        filters={"grid": "370705001", "overdue": "true"}, categories=cats, levels=LEVELS,
        bounds=[[36.6, 117.0], [36.7, 117.1]],
    )  # fmt: skip
    html = normalise(render_page(fmap, "zh"))
    assert '"filter": {"grid": "370705001", "overdue": "true"}' in html
    assert '"dataUrl": "/maps/incidents/data"' in html and '"fit": true' in html
    assert "var incident_layer_ID = gridgeo.incidentClusters();" in html
    assert "var incident_layer_ID = gridgeo.incidentHeat();" in html
    assert '"事件聚合 Clusters" : incident_layer_ID' in html
    assert '"热力图 Heat map" : incident_layer_ID' in html
    assert html.count("incident_layer_ID.addTo(map_ID)") == 1  # the heat map starts hidden
    assert "超期（红圈） · Overdue (red ring)" in html
    assert '<script src="/static/markercluster/leaflet.markercluster.js"></script>' in html
    assert not re.search(r"(src|href)=\"https?:", html)


def test_workload_page_builder():
    fmap = build_workload_page(LEVELS, level="street", bounds=None, band=0.1, standard=300)
    html = normalise(render_page(fmap, "zh"))
    assert '"dataUrl": "/maps/workload/data?level=street"' in html
    assert '"hide": ["community", "grid"]' in html
    assert '"key": "street", "leaf": true' in html
    assert '<b aria-current=\\"page\\" data-level=\\"street\\">街道</b>' in html
    with pytest.raises(ValueError, match="level must be one of"):
        build_workload_page(LEVELS, level="planet", bounds=None, band=0.1, standard=300)


def test_area_panel_escapes_and_links():
    html = panel_html(
        {"code": "370705001001001", "name": "<b>网格</b>"},
        {"households": 630, "workers": 2, "load": 315.0, "deviation": 0.05, "status": "within"},
        lang="zh", workers=[{"name": "张三", "role_zh": "专职网格员", "role_en": "Grid worker"}],
        open_incidents=3, parent="370705001001",
    )  # fmt: skip
    assert "&lt;b&gt;网格&lt;/b&gt;" in html and "<b>网格</b>" not in html
    assert '<td data-field="偏差">+5.0 %</td>' in html and '<td data-field="状态">达标</td>' in html
    assert 'href="/maps/incidents?grid=370705001001001"' in html
    assert 'href="/maps/grids/370705001001"' in html and "张三（专职网格员）" in html


def test_start_view_fits_the_bounds():
    centre, zoom = start_view([[36.6, 117.0], [36.7, 117.1]])
    assert centre == [36.65, 117.05] and zoom == 12
    assert start_view(None) == (None, 2)


def test_evaluation_page_builder():
    from maps.evaluation_page import build_evaluation_page, legend

    fmap = build_evaluation_page(
        LEVELS, level="community", parent="370705001", figure="on_time_rate",
        figure_label="按期结案率", query={"period": "2026-11"}, bounds=None,
    )  # fmt: skip
    html = normalise(render_page(fmap, "zh"))
    assert '"dataUrl": "/evaluation?level=community&parent=370705001&period=2026-11"' in html
    assert '"figure": "on_time_rate"' in html and '"breaks": [0.6, 0.75, 0.9, 0.97]' in html
    assert '"hide": ["grid"]' in html and "gridgeo/evaluation.js" in html
    assert "gridgeo-dashboard" not in html  # it is the dashboard's own map
    _, rows, _ = legend("rework_rate", "返工率", "en")
    assert rows[0] == ("#d7191c", "≥ 10%") and rows[-1][1] == "no data"  # worst first
    with pytest.raises(ValueError, match="figure must be one of"):
        build_evaluation_page(LEVELS, level="grid", parent="", figure="colour", figure_label="",
                              query={}, bounds=None)  # fmt: skip
