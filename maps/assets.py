"""Map pages that work offline: Leaflet is served by gridgeo itself, not from a CDN.

Folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs. The maps
need only Leaflet (1.9.4, BSD-2-Clause, vendored in ``maps/static/leaflet`` from the npm
package), so every map is pointed at the local copy and the rest is dropped.
"""

from __future__ import annotations

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
