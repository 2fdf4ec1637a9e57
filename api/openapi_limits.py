"""Limits the core enforces, stated in the OpenAPI schema so clients and the docs tell the truth.

The core checks its input and answers 400 naming the field (``gridgeo.errors.InvalidInput``);
these helpers only *describe* those limits (``json_schema_extra``), so the status a caller gets
stays the core's and no rule is checked in two places. Schemathesis reads them to generate
requests the API accepts (``tests/api/test_fuzz.py``).
"""

from __future__ import annotations

from typing import Any

_LON = r"\s*-?(180(\.0+)?|(1[0-7][0-9]|[0-9]{1,2})(\.[0-9]+)?)\s*"
_LAT = r"\s*-?(90(\.0+)?|[0-8]?[0-9](\.[0-9]+)?)\s*"
# minlon,minlat,maxlon,maxlat in degrees (the order min <= max is checked, not stated)
BBOX_PATTERN = f"^{_LON},{_LAT},{_LON},{_LAT}$"
LON = {"minimum": -180, "maximum": 180}
LAT = {"minimum": -90, "maximum": 90}


def stated(**schema: Any) -> dict[str, Any]:
    """``json_schema_extra`` for ``Field``/``Query``/``Path``: ``schema`` added to the OpenAPI.

    Args:
        schema: JSON Schema keywords (``minimum``, ``maxLength``, ``pattern``, ``enum`` …).
    """
    return schema


def answers(*media_types: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers ``status`` in these media types too."""
    return {status: {"content": {m: {} for m in media_types}}}


GEOJSON = "application/geo+json"
XML = "text/xml"
