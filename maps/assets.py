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
