"""The synthetic road and river network of the demo city, in a local metric projection.

Main roads and two meandering rivers cut the district into super-blocks; minor streets cut
those into blocks. The faces of the noded network are the atomic blocks every level is built of.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import geopandas
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from gridgeo.demo import names as names

CENTER_LON, CENTER_LAT = 119.13, 36.70
LOCAL_CRS = (
    f"+proj=tmerc +lat_0={CENTER_LAT} +lon_0={CENTER_LON} +k=1 +x_0=0 +y_0=0 "
    "+ellps=GRS80 +units=m +no_defs"
)
HALF_WIDTH, HALF_HEIGHT = 5000.0, 4000.0  # metres: the district is about 10 km x 8 km


def outline(rng: np.random.Generator) -> Polygon:
    """A rounded, slightly irregular district outline (a noisy superellipse)."""
    t = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    r = (np.abs(c) ** 4 / HALF_WIDTH**4 + np.abs(s) ** 4 / HALF_HEIGHT**4) ** -0.25
    phase = rng.uniform(0, 2 * np.pi, 2)
    r = r * (1 + 0.03 * np.sin(3 * t + phase[0]) + 0.02 * np.sin(7 * t + phase[1]))
    return Polygon(np.column_stack([r * c, r * s]))


def _wobbly_road(rng: np.random.Generator, base: float, reach: float) -> np.ndarray:
    """Stations along a road and its offsets across: a tilted line with a random walk."""
    t = np.linspace(-reach, reach, 12)
    walk = np.cumsum(rng.normal(0.0, 35.0, len(t)))
    offset = base + rng.uniform(-0.03, 0.03) * t + walk - walk.mean()
    return np.column_stack([t, offset])


def _river(rng: np.random.Generator, west: np.ndarray, east: np.ndarray) -> np.ndarray:
    """A north-south meander between two roads (stations, x); it never reaches either."""
    y = np.linspace(-4700.0, 4700.0, 240)
    xw, xe = np.interp(y, west[:, 0], west[:, 1]), np.interp(y, east[:, 0], east[:, 1])
    ph = rng.uniform(0, 2 * np.pi, 2)
    wave = 0.65 * np.sin(2 * np.pi * y / 2600 + ph[0]) + 0.35 * np.sin(2 * np.pi * y / 900 + ph[1])
    return np.column_stack([y, (xw + xe) / 2 + 0.28 * (xe - xw) * wave])


def main_lines(rng: np.random.Generator) -> list[tuple[str, str, LineString]]:
    """Main roads (6 north-south, 5 east-west) and two rivers as (name, kind, line)."""
    ns_bases = np.linspace(-3750, 3750, 6) + rng.uniform(-120, 120, 6)
    ew_bases = np.linspace(-2800, 2800, 5) + rng.uniform(-100, 100, 5)
    ns = [_wobbly_road(rng, b, 4700.0) for b in ns_bases]
    ew = [_wobbly_road(rng, b, 5700.0) for b in ew_bases]
    lines = [(names.NORTH_SOUTH_ROADS[i], "road", LineString(r[:, ::-1])) for i, r in enumerate(ns)]
    lines += [(names.EAST_WEST_ROADS[i], "road", LineString(r)) for i, r in enumerate(ew)]
    for name, west in zip(names.RIVERS, (1, 3), strict=True):
        lines.append((name, "river", LineString(_river(rng, ns[west], ns[west + 1])[:, ::-1])))
    return lines


def faces(lines: Sequence[shapely.Geometry], outline: Polygon) -> np.ndarray:
    """The faces of the noded lines and outline ring that lie inside the outline."""
    noded = shapely.union_all(np.array([*lines, outline.exterior], dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.contains(outline, shapely.point_on_surface(faces))]


def _parallel_lines(
    poly: shapely.Geometry, angle: float, spacing: float, rng: np.random.Generator, drop: float
) -> list[LineString]:
    """Roughly evenly spaced streets across ``poly`` at ``angle``, overshooting its edge by 2 m.

    The overshoot makes each street cross the road it ends on; polygonize drops the stubs.
    """
    u, n = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    xy = shapely.get_coordinates(poly)
    c = xy.mean(axis=0)
    across, along = (xy - c) @ n, (xy - c) @ u
    start = across.min() + rng.uniform(0.5, 1.0) * spacing
    offsets = np.arange(start, across.max() - 0.4 * spacing, spacing)
    offsets = offsets + rng.uniform(-0.15, 0.15, len(offsets)) * spacing
    offsets = offsets[rng.random(len(offsets)) >= drop]
    if len(offsets) == 0:
        return []
    ends = (along.min() - 50.0, along.max() + 50.0)
    lines = [LineString([c + n * o + u * ends[0], c + n * o + u * ends[1]]) for o in offsets]
    clipped = shapely.intersection(
        np.array(lines, dtype=object), poly.buffer(2.0, join_style="mitre")
    )
    parts = shapely.get_parts(clipped)
    return [p for p in parts if p.geom_type == "LineString" and p.length > 5.0]


def minor_lines(supers: np.ndarray, rng: np.random.Generator) -> list[LineString]:
    """Minor streets in each super-block: long streets, then staggered cross streets per strip.

    Cross streets are drawn strip by strip, so they do not line up: T junctions, no lattice.
    """
    out: list[LineString] = []
    for sb in supers:
        ring = shapely.get_coordinates(shapely.oriented_envelope(sb))
        edges = np.diff(ring[:3], axis=0)
        longest = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
        angle = float(np.arctan2(longest[1], longest[0])) + rng.normal(0.0, 0.05)
        first = _parallel_lines(sb, angle, rng.uniform(150, 230), rng, drop=0.0)
        out += first
        for strip in faces(first, sb):
            cross = angle + np.pi / 2 + rng.normal(0.0, 0.06)
            out += _parallel_lines(strip, cross, rng.uniform(170, 280), rng, drop=0.15)
    return out


def roads(
    main: list[tuple[str, str, LineString]], minor: list[LineString], outline: Polygon
) -> geopandas.GeoDataFrame:
    """The road and river lines inside the district, in EPSG:4326."""
    clipped = shapely.intersection(np.array([g for *_, g in main], dtype=object), outline)
    rows = [(n, k) for n, k, _ in main] + [(names.lane_name(i), "road") for i in range(len(minor))]
    geoms = shapely.transform(np.concatenate([clipped, np.array(minor, dtype=object)]), to_wgs84)
    return geopandas.GeoDataFrame(
        {"name": [r[0] for r in rows], "kind": [r[1] for r in rows]}, geometry=geoms, crs=4326
    )


@lru_cache(maxsize=1)
def _transformer() -> Transformer:
    return Transformer.from_crs(LOCAL_CRS, "EPSG:4326", always_xy=True)


def to_wgs84(coords: np.ndarray) -> np.ndarray:
    """Local metric coordinates (n, 2) to lon/lat; the same input always maps the same way."""
    lon, lat = _transformer().transform(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])
