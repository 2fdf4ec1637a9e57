"""The public map of residents' matters (``GRIDGEO_PUBLIC_MAP_OF_MATTERS``, off by default).

As FixMyStreet shows reports to everyone: the matters a dispatcher accepted (or merged into an
incident), by category and state, at the place rounded to the public lattice
(:func:`gridgeo.incidents.public.coarsen`, 50 m). No description, note, name, phone or tracking
number: nothing that identifies anyone. A matter still waiting, or rejected, is not shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridgeo.incidents.public import coarsen

MAP_SQL = """
SELECT i.id, i.category, c.label_zh, c.label_en, i.state, ST_X(i.location) AS lon,
    ST_Y(i.location) AS lat
FROM incidents i JOIN incident_categories c ON c.key = i.category
WHERE EXISTS (SELECT FROM resident_matters m WHERE m.incident_id = i.id
              AND m.state IN ('accepted', 'merged'))
ORDER BY i.id LIMIT :n
"""


def matters_map(conn: Connection, limit: int = 5000) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of accepted matters: category, its labels and the state."""
    features = []
    for r in conn.execute(text(MAP_SQL), {"n": limit}).mappings():
        lon, lat = coarsen(r["lon"], r["lat"])
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"category": r["category"], "label_zh": r["label_zh"],
                           "label_en": r["label_en"], "state": r["state"]},
        })  # fmt: skip
    return {"type": "FeatureCollection", "features": features}
