"""What an anonymous reader may see of an incident: no personal data, the place to 50 m.

Open311's public read mode (``GRIDGEO_OPEN311_PUBLIC``) shows incidents to readers without an
account. A report carries personal data — who reported it, who works on it, the notes of the
timeline, the photos, often the resident's own words — so the public view keeps only the
category, the state and its times, the department, and a location rounded to a 50 m lattice
(the snapped point names a block, not a door). The description is kept only where the
category is marked public (``incident_categories.public``, migration 0015).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, text

PUBLIC_STEP_M = 50.0
_M_PER_DEGREE = 111_320.0


def coarsen(lon: float, lat: float, step_m: float = PUBLIC_STEP_M) -> tuple[float, float]:
    """The point moved to the nearest node of a lattice ``step_m`` metres apart.

    The latitude step is fixed; the longitude step is ``step_m`` at the rounded latitude, so
    both axes are rounded to about ``step_m`` anywhere outside the poles.
    """
    dlat = step_m / _M_PER_DEGREE
    rlat = round(lat / dlat) * dlat
    dlon = step_m / (_M_PER_DEGREE * max(math.cos(math.radians(rlat)), 0.01))
    rlon = round(lon / dlon) * dlon
    return round(rlon, 6), round(rlat, 6)


def public_categories(conn: Connection) -> set[str]:
    """The keys of the categories whose descriptions may be shown to anyone."""
    rows = conn.execute(text("SELECT key FROM incident_categories WHERE public")).scalars()
    return set(rows)


def public_view(incident: dict[str, Any], public: set[str]) -> dict[str, Any]:
    """A copy of ``incident`` (as the queries shape it) without personal data.

    Args:
        incident: an incident as :func:`gridgeo.incidents.queries.list_incidents` gives it.
        public: the categories whose descriptions are public (:func:`public_categories`).
    """
    out = dict(incident)
    out["lon"], out["lat"] = coarsen(incident["lon"], incident["lat"])
    out["reporter"] = out["assignee"] = None
    out["last_note"] = None
    out["media_url"] = None
    if incident["category"] not in public:
        out["description"] = ""
    for key in ("original", "candidates", "timeline", "photos"):
        out.pop(key, None)
    return out


def timelines(
    conn: Connection, ids: list[int], *, names: bool, notes: bool = True
) -> dict[int, list[dict[str, Any]]]:
    """The timeline of each incident, oldest first: when, what, the state it led to, the note.

    Args:
        conn: the connection.
        ids: the incidents.
        names: keep who acted (a reader who may see names).
        notes: keep the notes (not for the public: they may name residents).
    """
    rows = conn.execute(
        text(
            "SELECT incident_id, at, actor, action, to_state, note FROM incident_events "
            "WHERE incident_id = ANY(:ids) ORDER BY incident_id, at, id"
        ),
        {"ids": ids},
    ).mappings()
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in rows:
        event = {"at": r["at"], "action": r["action"], "to_state": r["to_state"]}
        if notes:
            event["note"] = r["note"]
        if names:
            event["actor"] = r["actor"]
        out[int(r["incident_id"])].append(event)
    return out
