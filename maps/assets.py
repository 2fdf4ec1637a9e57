"""Map pages that work offline: Leaflet is served by gridgeo itself, not from a CDN.

Folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs. The maps
need only Leaflet (1.9.4, BSD-2-Clause, vendored in ``maps/static/leaflet`` from the npm
package), so every map is pointed at the local copy and the rest is dropped.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import folium

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static"


def use_local_assets(fmap: folium.Map, base_url: str = STATIC_URL) -> folium.Map:
    """Point a map at the vendored Leaflet under ``base_url`` instead of CDNs."""
    fmap.default_js = [("leaflet", f"{base_url}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{base_url}/leaflet/leaflet.css")]
    return fmap


def vendored(base_url: str = STATIC_URL) -> dict[str, str]:
    """URLs of the vendored plugins and of gridgeo's own map script and style.

    leaflet.fullscreen 3.0.0 (MIT),
    leaflet.markercluster 1.5.3 (MIT) and leaflet.heat 0.2.0 (BSD-2-Clause), from npm, with
    their licenses next to them, all under ``base_url``.
    """
    return {
        "mvt_js": f"{base_url}/gridgeo/mvt.js",
        "fullscreen_js": f"{base_url}/fullscreen/Control.FullScreen.js",
        "fullscreen_css": f"{base_url}/fullscreen/Control.FullScreen.css",
        "gridmap_js": f"{base_url}/gridgeo/gridmap.js",
        "gridextras_js": f"{base_url}/gridgeo/gridextras.js",
        "gridmap_css": f"{base_url}/gridgeo/gridmap.css",
        "incidents_js": f"{base_url}/gridgeo/incidents.js",
        "markercluster_js": f"{base_url}/markercluster/leaflet.markercluster.js",
        "markercluster_css": f"{base_url}/markercluster/MarkerCluster.css",
        "markercluster_default_css": f"{base_url}/markercluster/MarkerCluster.Default.css",
        "heat_js": f"{base_url}/heat/leaflet-heat.js",
    }


_SCRIPT = re.compile(r'<script src="(?P<url>[^"]+\.js)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="(?P<url>[^"]+\.css)"/>')
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_URL = re.compile(r"url\((?![#/]|data:|https?:)(?P<rel>[^)]+)\)")


@cache
def _asset_text(rel: str) -> str:
    """A vendored file's text (read once per process; the files change only with a release)."""
    return (STATIC_DIR / rel).read_text(encoding="utf-8")


def inline_assets(html: str, base_url: str = STATIC_URL) -> str:
    """The page with its vendored scripts and styles written into it instead of linked.

    Why: a map page linked ~10 files (Leaflet, its CSS, the plugins, gridgeo's scripts); a
    browser opens at most 6 connections to a host over HTTP/1.1, so those requests queued
    with the first tiles, and the first draw waited on the scripts (bench/maps.py's waterfall
    on the 10,000-grid city: the assets ended at ~480 ms of a ~480 ms draw). Inlined, the
    page is one response (~60 kB gzipped) and the connections carry only tiles. Relative
    ``url(…)`` in a stylesheet is rewritten to the file's own folder and its comments dropped; a ``</script>`` inside a
    script would end it early, so it is escaped. Files not under ``base_url`` stay linked.
    """
    prefix = base_url.rstrip("/") + "/"

    def script(m: re.Match[str]) -> str:
        url = m.group("url")
        if not url.startswith(prefix):
            return m.group(0)
        body = _asset_text(url[len(prefix) :]).replace("</script", "<\\/script")
        return f"<script>/* {url} */\n{body}\n</script>"

    def style(m: re.Match[str]) -> str:
        url = m.group("url")
        if not url.startswith(prefix):
            return m.group(0)
        folder = url.rsplit("/", 1)[0]
        css = _CSS_COMMENT.sub("", _asset_text(url[len(prefix) :]))  # they name bug trackers
        body = _CSS_URL.sub(lambda u: f"url({folder}/{u.group('rel')})", css)
        return f"<style>/* {url} */\n{body}\n</style>"

    return _STYLE.sub(style, _SCRIPT.sub(script, html))
