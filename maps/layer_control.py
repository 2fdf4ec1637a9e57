"""A layer control that is left out when it would list nothing.

Folium's control is drawn whatever it holds: on a page with one base map and no layer to
switch (the workload map offline) it was an empty white box in the corner (issue 16).
"""

from __future__ import annotations

from typing import Any

import folium
from folium.map import Layer


class ListedLayerControl(folium.LayerControl):
    """``folium.LayerControl`` drawn only when some layer of its map is listed in it."""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Render as Folium does, or not at all when no child layer has ``control``."""
        parent = self._parent
        children = parent._children.values() if parent is not None else ()
        if any(isinstance(item, Layer) and item.control for item in children):
            super().render(**kwargs)
