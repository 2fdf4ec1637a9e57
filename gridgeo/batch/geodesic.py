"""Metres from a point to a polygon, computed as PostGIS computes ``ST_Distance(geography)``.

``gridgeo_nearest`` (migration 0012) measures ``ST_Distance(part::geography, pt::geography)``
with the spheroid. PostGIS (liblwgeom, ``circ_tree_distance_tree``) does it in two steps: it
finds the point of the polygon's edges closest to the point *on the sphere* (each edge a
great-circle arc; ``edge_distance_to_point``), then measures the geodesic on the WGS84
spheroid between the point and that closest point (GeographicLib's ``geod_inverse``). Both steps
are repeated here, vectorised over many (point, polygon) pairs, with the same formulas
(``robust_cross_product``, ``sphere_distance``, ``edge_point_in_cone``) and pyproj's
GeographicLib for the second step, so the metres agree with the database to well under a
millimetre (``tests/db/test_batch_assign.py`` measures the largest difference).

PostGIS then rounds the metres to 1e-8 m; so does :func:`metres_to_polygons`: the grids of
every level that share the nearest edge are then equally near, and the leaf key picks the
deepest, as ``gridgeo_nearest`` does.

A plain geodesic to the planar closest point would differ by up to a few centimetres on a
kilometre-long edge (a great circle sags away from a parallel), enough to swap two grids that
are almost equally near.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
INVMINDIST = 1.0e8  # PostGIS rounds geography distances to 1e-8 m


def segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every edge of every ring of each polygon, in degrees, and where each polygon's start.

    Returns:
        ``seg`` of shape (edges, 4): start lon, start lat, end lon, end lat (degrees); and
        ``offsets`` of length len(geoms) + 1: the edges of polygon i are
        ``seg[offsets[i]:offsets[i + 1]]``.
    """
    parts, part_of_geom = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    rings, ring_of_part = shapely.get_rings(parts, return_index=True)
    ring_of_geom = part_of_geom[ring_of_part]
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    same = ring_of_coord[1:] == ring_of_coord[:-1]
    start = coords[:-1][same]
    end = coords[1:][same]
    geom_of_seg = ring_of_geom[ring_of_coord[:-1][same]]
    seg = np.column_stack([start, end])
    counts = np.bincount(geom_of_seg, minlength=len(geoms))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return seg, offsets


def pair_edges(poly: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (i, poly[i]): the pair of each edge row and the edge's index in ``seg``."""
    counts = offsets[poly + 1] - offsets[poly]
    pair = np.repeat(np.arange(len(poly)), counts)
    first = np.repeat(offsets[poly] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return pair, first + np.arange(len(pair))


def planar_to_polygons(
    x: np.ndarray,
    y: np.ndarray,
    poly: np.ndarray,
    seg: np.ndarray,
    offsets: np.ndarray,
    xscale: np.ndarray | None = None,
) -> np.ndarray:
    """Planar distance from point i to the edges of polygon ``poly[i]`` (outside it).

    As PostGIS's ``lw_dist2d_pt_seg``; with ``xscale``, x of both multiplied first (ST_Scale).

    Args:
        x: the points' longitudes (degrees).
        y: their latitudes.
        poly: for each point, its polygon (index into the arrays given to :func:`segments`).
        seg: the edges, from :func:`segments`.
        offsets: where each polygon's edges start, from :func:`segments`.
        xscale: per point, the factor on x.
    """
    pair, edge = pair_edges(poly, offsets)
    px, py = x[pair], y[pair]
    ax, ay, bx, by = seg[edge, 0], seg[edge, 1], seg[edge, 2], seg[edge, 3]
    if xscale is not None:
        f = xscale[pair]
        px, ax, bx = px * f, ax * f, bx * f
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    r = np.where(den > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(den > 0, den, 1.0), 0.0)
    cx = np.where(r <= 0, ax, np.where(r >= 1, bx, ax + r * dx))
    cy = np.where(r <= 0, ay, np.where(r >= 1, by, ay + r * dy))
    d = np.hypot(px - cx, py - cy)
    out = np.full(len(poly), np.inf)
    np.minimum.at(out, pair, d)
    return out


def inside_sphere(
    lon: np.ndarray, lat: np.ndarray, poly: np.ndarray, seg: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """True where point i lies inside polygon ``poly[i]`` with its edges taken as great circles.

    A crossing count along the point's meridian, northward: an edge whose longitudes span the
    point's (half-open, so a vertex on the meridian counts once) is crossed when its great
    circle passes north of the point there. Polygons that hold a pole or have edges longer
    than 180 degrees of longitude are not grids and are not handled.

    Args:
        lon: the points' longitudes (radians).
        lat: their latitudes (radians).
        poly: for each point, its polygon (index into the arrays given to :func:`segments`).
        seg: the edges, from :func:`segments` (degrees).
        offsets: where each polygon's edges start.
    """
    if len(poly) == 0:
        return np.zeros(0, dtype=bool)
    pair, edge = pair_edges(poly, offsets)
    e = _rad(seg[edge])
    alon, alat, blon, blat = e[:, 0], e[:, 1], e[:, 2], e[:, 3]
    x = lon[pair]
    spans = ((alon <= x) & (x < blon)) | ((blon <= x) & (x < alon))
    d = np.where(spans, np.sin(blon - alon), 1.0)
    tan_gc = (np.tan(alat) * np.sin(blon - x) + np.tan(blat) * np.sin(x - alon)) / d
    north = spans & (np.arctan(tan_gc) > lat[pair])
    return np.bincount(pair[north], minlength=len(poly)) % 2 == 1


def _rad(deg: np.ndarray) -> np.ndarray:
    """Liblwgeom's deg2rad, ``M_PI * d / 180.0`` (np.radians rounds differently)."""
    return np.pi * np.asarray(deg, dtype=np.float64) / 180.0


def _deg(rad: np.ndarray) -> np.ndarray:
    """spheroid_distance's ``r * 180.0 / M_PI``."""
    return np.asarray(rad, dtype=np.float64) * 180.0 / np.pi


def _cart(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def _normalize(v: np.ndarray) -> np.ndarray:
    d = np.sqrt((v * v).sum(axis=-1, keepdims=True))
    return np.where(d <= 1e-12, 0.0, v / np.where(d == 0, 1.0, d))


def _sphere_distance(
    lon_s: np.ndarray, lat_s: np.ndarray, lon_e: np.ndarray, lat_e: np.ndarray
) -> np.ndarray:
    d_lon = lon_e - lon_s
    cos_d_lon = np.cos(d_lon)
    cos_lat_e, sin_lat_e = np.cos(lat_e), np.sin(lat_e)
    cos_lat_s, sin_lat_s = np.cos(lat_s), np.sin(lat_s)
    a1 = (cos_lat_e * np.sin(d_lon)) ** 2
    a2 = (cos_lat_s * sin_lat_e - sin_lat_s * cos_lat_e * cos_d_lon) ** 2
    b = sin_lat_s * sin_lat_e + cos_lat_s * cos_lat_e * cos_d_lon
    return np.arctan2(np.sqrt(a1 + a2), b)


def _robust_cross(
    lon_p: np.ndarray, lat_p: np.ndarray, lon_q: np.ndarray, lat_q: np.ndarray
) -> np.ndarray:
    lon_qpp = (lon_q + lon_p) / -2.0
    lon_qmp = (lon_q - lon_p) / 2.0
    s_minus = np.sin(lat_p - lat_q)
    s_plus = np.sin(lat_p + lat_q)
    x = s_minus * np.sin(lon_qpp) * np.cos(lon_qmp) - s_plus * np.cos(lon_qpp) * np.sin(lon_qmp)
    y = s_minus * np.cos(lon_qpp) * np.cos(lon_qmp) + s_plus * np.sin(lon_qpp) * np.sin(lon_qmp)
    z = np.cos(lat_p) * np.cos(lat_q) * np.sin(lon_q - lon_p)
    return np.stack([x, y, z], axis=-1)


def edge_closest(
    lon: np.ndarray, lat: np.ndarray, seg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (point, edge) row: the sphere distance and the closest point of the edge.

    Args:
        lon: the points' longitudes, radians.
        lat: their latitudes, radians.
        seg: the edges, one row per point (start lon, start lat, end lon, end lat; radians).

    Returns:
        Radians on the unit sphere, and the closest point's lon and lat (radians).
    """
    slon, slat, elon, elat = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
    n = _normalize(_robust_cross(slon, slat, elon, elat))
    p = _cart(lon, lat)
    k = _normalize(p - n * (p * n).sum(axis=-1, keepdims=True))
    klon = np.arctan2(k[:, 1], k[:, 0])
    klat = np.arcsin(np.clip(k[:, 2], -1.0, 1.0))
    # edge_point_in_cone: k lies between start and end when it is at least as close to their
    # middle as the start is
    vs, ve = _cart(slon, slat), _cart(elon, elat)
    vcp = _normalize(vs + ve)
    vs_dot = (vs * vcp).sum(axis=-1)
    vk_dot = (_cart(klon, klat) * vcp).sum(axis=-1)
    inside = (vk_dot > vs_dot) | (np.abs(vk_dot - vs_dot) < 2e-16)
    degenerate = (slon == elon) & (slat == elat)
    d1 = np.where(inside & ~degenerate, _sphere_distance(lon, lat, klon, klat), np.inf)
    d2 = _sphere_distance(lon, lat, slon, slat)
    d3 = _sphere_distance(lon, lat, elon, elat)
    best = d1.copy()
    blon, blat = klon.copy(), klat.copy()
    use2 = d2 < best
    best[use2], blon[use2], blat[use2] = d2[use2], slon[use2], slat[use2]
    use3 = d3 < best
    best[use3], blon[use3], blat[use3] = d3[use3], elon[use3], elat[use3]
    return best, blon, blat


def metres_to_polygons(
    lon_deg: np.ndarray,
    lat_deg: np.ndarray,
    poly: np.ndarray,
    seg: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """Geodesic metres from point i to polygon ``poly[i]`` (a point outside it), as PostGIS.

    Args:
        lon_deg: the points' longitudes (degrees).
        lat_deg: their latitudes.
        poly: for each point, the index of its polygon in the arrays given to :func:`segments`.
        seg: the edges, from :func:`segments` (degrees).
        offsets: where each polygon's edges start, from :func:`segments`.
    """
    if len(poly) == 0:
        return np.zeros(0)
    pair, edge = pair_edges(poly, offsets)
    lon, lat = _rad(lon_deg), _rad(lat_deg)
    d, clon, clat = edge_closest(lon[pair], lat[pair], _rad(seg[edge]))
    # the edge closest on the sphere, per pair (the first on a tie, as the tree walk keeps it)
    order = np.lexsort((d, pair))
    firsts = order[np.flatnonzero(np.r_[True, pair[order][1:] != pair[order][:-1]])]
    out = np.zeros(len(poly))
    has = pair[firsts]
    same = (lon[has] == clon[firsts]) & (lat[has] == clat[firsts])
    _, _, metres = WGS84.inv(_deg(lon[has]), _deg(lat[has]), _deg(clon[firsts]), _deg(clat[firsts]))
    out[has] = np.where(same, 0.0, metres)
    # a point outside the planar polygon can be inside the geography one: a long east-west
    # edge is a great circle that bulges poleward of its parallel (by 0.45 m on a 5.6 km edge
    # at 36.5 N); PostGIS finds the point inside (circ_tree_contains_point) and answers 0
    out[inside_sphere(lon, lat, poly, seg, offsets)] = 0.0
    # geography_distance: "knock off any funny business at the nanometer level" (PostGIS
    # ticket #2168): round(d * 1e8) / 1e8. Two grids sharing an edge are then exactly as far,
    # and the leaf key decides, as in the database.
    return np.floor(out * INVMINDIST + 0.5) / INVMINDIST
