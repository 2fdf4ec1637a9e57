"""The /maps/grids builder: normalised HTML fragments, no geometry, nothing off-site."""

from __future__ import annotations

import re

import pytest

from maps.grids_page import LevelLayer, build_grids_page, render_page, status_labels

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
    fmap = build_grids_page(LEVELS, bounds=[[36.6, 117.0], [36.7, 117.1]])
    return normalise(render_page(fmap, "zh"))


def test_one_vector_layer_per_level(page):
    for level in ("district", "street", "community", "grid"):
        assert f'L.vectorGrid.protobuf("/tiles/{level}/{{z}}/{{x}}/{{y}}.pbf", {{' in page
        assert f'vectorTileLayerStyles: {{ "{level}":' in page
    assert page.count("rendererFactory: L.svg.tile") == 4
    assert '"grid": gridgeo.gridStyle' in page
    assert 'gridgeo.outlineStyle("district", "#08306b", 4)' in page
    assert page.count("gridgeo.bindGrid(") == 1
    assert 'gridgeo.bindGrid(vector_tile_layer_ID, map_ID, "zh");' in page
    assert '"区 District" : vector_tile_layer_ID' in page


def test_offline_assets_only(page):
    assert '<script src="/static/vectorgrid/Leaflet.VectorGrid.bundled.min.js"></script>' in page
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
    fmap = build_grids_page(LEVELS, bounds=None, lang="en")
    html = normalise(render_page(fmap, "en"))
    assert '<html lang="en">' in html and "gridgeo Grid map" in html
    assert '"Grid 网格" : vector_tile_layer_ID' in html
    assert len(html) < 20_000
    with pytest.raises(ValueError):
        build_grids_page(LEVELS, bounds=None, lang="fr")


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
