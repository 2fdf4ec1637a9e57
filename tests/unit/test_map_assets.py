"""The map page's inlined assets and its early tile requests (issue 19), without a browser."""

from __future__ import annotations

import re

from maps.assets import inline_assets
from maps.frame import render_page
from maps.grids_page import build_grids_page
from maps.vector_layer import LevelLayer

LEVELS = [LevelLayer("district", "区", "District"), LevelLayer("grid", "网格", "Grid")]
BOUNDS = [[36.6, 119.0], [36.8, 119.3]]


def _page() -> str:
    fmap = build_grids_page(LEVELS, bounds=BOUNDS, standard=300, band=0.1)
    return render_page(fmap, "zh")


def test_scripts_and_styles_are_written_into_the_page():
    page = inline_assets(_page())
    assert re.findall(r'<script src="/static/[^"]+"', page) == []
    assert re.findall(r'<link rel="stylesheet" href="/static/[^"]+"', page) == []
    assert "/* /static/leaflet/leaflet.js */" in page and "/* /static/gridgeo/mvt.js */" in page
    # a stylesheet's relative url() now names the file's own folder
    assert "url(/static/leaflet/images/layers.png)" in page
    assert "url(/static/fullscreen/icon-fullscreen.svg)" in page
    assert "url(images/" not in page
    # the page's own scripts (Folium's) run after the inlined Leaflet
    assert page.index("/* /static/leaflet/leaflet.js */") < page.index("L.map(")


def test_a_script_outside_the_static_folder_stays_linked():
    html = (
        '<script src="https://example.org/x.js"></script><link rel="stylesheet" href="/y/z.css"/>'
    )
    assert inline_assets(html) == html


def test_the_first_tiles_are_asked_for_before_leaflet_loads():
    page = _page()
    early = page.index("gridgeoEarlyTiles(")
    assert early < page.index('<script src="/static/leaflet/leaflet.js">')
    call = page[page.index("gridgeoEarlyTiles([[") :].split(";", 1)[0]
    assert (
        call
        == 'gridgeoEarlyTiles([[36.6, 119.0], [36.8, 119.3]], "/tiles/{z}/{x}/{y}.pbf", 3, 19, 17)'
    )


def test_no_early_tiles_without_bounds():
    fmap = build_grids_page(LEVELS, bounds=None, standard=300, band=0.1)
    assert "gridgeoEarlyTiles(" not in render_page(fmap, "zh")
