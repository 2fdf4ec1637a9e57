"""Parsing and checking of bounding boxes given as ``minlon,minlat,maxlon,maxlat``."""

from __future__ import annotations

import math

from gridgeo.errors import InvalidInput


def parse_bbox(value: str, field: str = "bbox") -> tuple[float, float, float, float]:
    """Parse ``minlon,minlat,maxlon,maxlat`` in WGS84 degrees.

    Raises:
        InvalidInput: naming what is wrong (count, a non-number, order or range).
    """
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 4:
        raise InvalidInput(
            f"{field} must be 'minlon,minlat,maxlon,maxlat' (4 numbers), got {len(parts)} "
            f"value(s): '{value}'",
            field=field,
        )
    nums = []
    for name, part in zip(("minlon", "minlat", "maxlon", "maxlat"), parts, strict=True):
        try:
            num = float(part)
        except ValueError:
            raise InvalidInput(f"{field}: {name} '{part}' is not a number", field=field) from None
        if not math.isfinite(num):
            raise InvalidInput(f"{field}: {name} must be finite, got '{part}'", field=field)
        nums.append(num)
    minx, miny, maxx, maxy = nums
    for name, v, bound in (
        ("minlon", minx, 180),
        ("maxlon", maxx, 180),
        ("minlat", miny, 90),
        ("maxlat", maxy, 90),
    ):
        if abs(v) > bound:
            raise InvalidInput(f"{field}: {name} {v} is outside [-{bound}, {bound}]", field=field)
    if minx > maxx or miny > maxy:
        raise InvalidInput(
            f"{field}: min must not exceed max (got lon {minx}..{maxx}, lat {miny}..{maxy})",
            field=field,
        )
    return minx, miny, maxx, maxy
