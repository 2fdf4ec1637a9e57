"""Spatial checks between areas, measured in metres: overlaps, parts outside a parent, gaps.

Pure functions over arrays of shapely geometries in EPSG:4326. Areas and tolerances are in
metres in a Lambert azimuthal equal-area projection centred on the data, so areas are exact
and distances near the centre are true to well under 0.1 % across a city.

A strip thinner than the tolerance (it vanishes when buffered inwards by half the tolerance)
is digitising noise along a shared edge: an overlap of that kind is a warning, a wider one an
error, and overlaps smaller than ``min_area_m2`` are not reported at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from boundaries.report import ERROR, WARNING, Problem

MIN_AREA_M2 = 0.01
EMPTY = shapely.from_wkt("MULTIPOLYGON EMPTY")


@lru_cache(maxsize=64)
def _transformers(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    """Forward and inverse transformers of the projection centred on ``(lon0, lat0)``.

    Building one costs ~15 ms; plan previews ask for the same centre again and again.
    """
    proj = f"+proj=laea +lat_0={lat0} +lon_0={lon0} +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    return (
        Transformer.from_crs("EPSG:4326", proj, always_xy=True),
        Transformer.from_crs(proj, "EPSG:4326", always_xy=True),
    )


class Metric:
    """A local equal-area projection for measuring geometries given in EPSG:4326."""

    def __init__(self, lon0: float, lat0: float) -> None:
        """Centre the projection on ``(lon0, lat0)``."""
        self._fwd, self._inv = _transformers(lon0, lat0)

    @classmethod
    def around(cls, *arrays: np.ndarray) -> Metric:
        """A projection centred on the bounds of all the given geometries."""
        found = [shapely.bounds(np.asarray(a, dtype=object)) for a in arrays if len(a)]
        bounds = np.vstack(found) if found else np.full((1, 4), np.nan)
        if np.isnan(bounds).all():
            return cls(0.0, 0.0)
        minx, miny = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        maxx, maxy = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        return cls(float((minx + maxx) / 2), float((miny + maxy) / 2))

    def forward(self, geoms: np.ndarray) -> np.ndarray:
        """Project lon/lat geometries to metres."""
        return shapely.transform(
            np.asarray(geoms, dtype=object), self._fwd.transform, interleaved=False
        )

    def inverse(self, geoms: np.ndarray) -> np.ndarray:
        """Project metric geometries back to lon/lat."""
        return shapely.transform(
            np.asarray(geoms, dtype=object), self._inv.transform, interleaved=False
        )

    def area(self, geoms: np.ndarray) -> np.ndarray:
        """Areas in m² of lon/lat geometries."""
        return np.asarray(shapely.area(self.forward(geoms)), dtype=float)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal parts of each geometry as a MultiPolygon (empty when there are none)."""
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    parts2, idx2 = shapely.get_parts(parts, return_index=True)  # collections nest multiparts
    idx = idx[idx2]
    keep = shapely.get_type_id(parts2) == shapely.GeometryType.POLYGON
    out = np.empty(len(geoms), dtype=object)
    out[:] = EMPTY
    if keep.any():
        shapely.multipolygons(parts2[keep], indices=idx[keep], out=out)
    return out


def lonlat_points(points: np.ndarray) -> list[tuple[float, float] | None]:
    """``(lon, lat)`` tuples of points (None for missing or empty ones)."""
    xs, ys = point_xy(points)
    return [None if np.isnan(x) else (float(x), float(y)) for x, y in zip(xs, ys, strict=True)]


def point_xy(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of points; NaN for missing, empty or non-point geometries."""
    points = np.asarray(points, dtype=object)
    xs, ys = np.full(len(points), np.nan), np.full(len(points), np.nan)
    ok = ~shapely.is_missing(points) & ~shapely.is_empty(points)
    xs[ok], ys[ok] = shapely.get_x(points[ok]), shapely.get_y(points[ok])
    return xs, ys


def measure(
    geoms: np.ndarray, metric: Metric, tolerance_m: float
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float] | None]]:
    """Area (m²), thinness (narrower than the tolerance) and a lon/lat point inside each."""
    m = metric.forward(geoms)
    area = np.asarray(shapely.area(m), dtype=float)
    thin = shapely.is_empty(shapely.buffer(m, -tolerance_m / 2)) if tolerance_m > 0 else area == 0
    return area, np.asarray(thin, dtype=bool), lonlat_points(shapely.point_on_surface(geoms))


def overlap_problems(
    index: np.ndarray,
    codes: np.ndarray,
    other_label: Sequence[str],
    overlaps: np.ndarray,
    metric: Metric,
    *,
    tolerance_m: float,
    min_area_m2: float = MIN_AREA_M2,
) -> list[Problem]:
    """Problems for overlaps already computed (``overlaps[k]`` belongs to feature ``index[k]``).

    Args:
        index: the feature each overlap is reported on.
        codes: the code of each of those features.
        other_label: what each feature overlaps, e.g. ``"#3 440000001"`` or ``"stored 440000001"``.
        overlaps: the intersections, in EPSG:4326 (non-polygonal parts are ignored).
        metric: the projection to measure in.
        tolerance_m: overlaps thinner than this are warnings.
        min_area_m2: overlaps smaller than this are ignored.
    """
    shapes = polygonal(overlaps)
    area, thin, points = measure(shapes, metric, tolerance_m)
    problems = []
    for k in np.flatnonzero(area >= min_area_m2):
        kind, sev = ("sliver_overlap", WARNING) if thin[k] else ("overlap", ERROR)
        width = f" (a strip thinner than {tolerance_m:g} m)" if thin[k] else ""
        problems.append(
            Problem(
                index=int(index[k]),
                code=str(codes[k]),
                kind=kind,
                message=f"overlaps {other_label[int(k)]} by {area[k]:.2f} m²{width}",
                severity=sev,
                location=points[k],
                area_m2=round(float(area[k]), 3),
            )
        )
    return problems


def file_overlaps(
    geoms: np.ndarray,
    codes: np.ndarray,
    metric: Metric,
    *,
    tolerance_m: float,
    min_area_m2: float = MIN_AREA_M2,
) -> list[Problem]:
    """Overlaps between features of one file (None entries are skipped).

    Each overlapping pair is reported once, on the later feature.
    """
    geoms = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inner = shapely.relate_pattern(geoms[left], geoms[right], "T********")
    left, right = left[inner], right[inner]
    inter = shapely.intersection(geoms[left], geoms[right])
    labels = [f"#{i} {codes[i]}" for i in left]
    return overlap_problems(
        right, codes[right], labels, inter, metric, tolerance_m=tolerance_m, min_area_m2=min_area_m2
    )


def outside_parent_problems(
    index: np.ndarray,
    geoms: np.ndarray,
    codes: np.ndarray,
    parent_geoms: np.ndarray,
    parent_codes: np.ndarray,
    metric: Metric,
    *,
    tolerance_m: float,
    min_area_m2: float = MIN_AREA_M2,
) -> list[Problem]:
    """Features that reach outside their parent by more than ``tolerance_m``.

    The part outside is the child minus the parent buffered by the tolerance; it is reported
    (as an error) when its area is at least ``min_area_m2``.
    """
    parent_geoms = np.asarray(parent_geoms, dtype=object)
    shapely.prepare(parent_geoms)
    cand = np.flatnonzero(~shapely.covered_by(np.asarray(geoms, dtype=object), parent_geoms))
    if not len(cand):
        return []
    uniq, first, inv = np.unique(parent_codes[cand], return_index=True, return_inverse=True)
    grown = shapely.buffer(metric.forward(parent_geoms[cand][first]), tolerance_m)
    outside = polygonal(shapely.difference(metric.forward(geoms[cand]), grown[inv]))
    area = np.asarray(shapely.area(outside), dtype=float)
    child_area = np.asarray(shapely.area(metric.forward(geoms[cand])), dtype=float)
    points = lonlat_points(metric.inverse(shapely.point_on_surface(outside)))
    problems = []
    for k in np.flatnonzero(area >= min_area_m2):
        share = 100 * area[k] / child_area[k] if child_area[k] else 100.0
        problems.append(
            Problem(
                index=int(index[cand[k]]),
                code=str(codes[cand[k]]),
                kind="outside_parent",
                message=f"{area[k]:.2f} m² ({share:.2f} %) lies outside parent {uniq[inv[k]]} "
                f"beyond the {tolerance_m:g} m tolerance",
                severity=ERROR,
                location=points[k],
                area_m2=round(float(area[k]), 3),
            )
        )
    return problems


def gap_problems(
    parent_geoms: np.ndarray,
    parent_codes: np.ndarray,
    children: Sequence[np.ndarray],
    metric: Metric,
    *,
    tolerance_m: float,
    min_area_m2: float = MIN_AREA_M2,
) -> list[Problem]:
    """Warnings for parents that their children (``children[k]`` of parent ``k``) leave uncovered.

    Parts of the parent within ``tolerance_m`` of its boundary, and gaps smaller than
    ``min_area_m2``, are ignored; slivers thinner than the tolerance are counted apart.
    """
    problems = []
    inner = shapely.buffer(metric.forward(parent_geoms), -tolerance_m)
    for k, kids in enumerate(children):  # one union per parent, not per row
        covered = shapely.union_all(metric.forward(kids))
        parts = shapely.get_parts(polygonal(np.array([shapely.difference(inner[k], covered)])))
        area = np.asarray(shapely.area(parts), dtype=float)
        parts, area = parts[area >= min_area_m2], area[area >= min_area_m2]
        if not len(parts):
            continue
        thin = shapely.is_empty(shapely.buffer(parts, -tolerance_m / 2))
        wide = np.flatnonzero(~thin)
        sliver = (
            f"{int(thin.sum())} slivers thinner than {tolerance_m:g} m, {area[thin].sum():.2f} m²"
        )
        if len(wide):
            big = wide[np.argmax(area[wide])]
            where = lonlat_points(metric.inverse(shapely.point_on_surface(parts[big : big + 1])))[0]
            msg = (
                f"its children leave {area[wide].sum():.2f} m² uncovered in {len(wide)} parts "
                f"(largest {area[big]:.2f} m²)" + (f"; and {sliver}" if thin.any() else "")
            )
        else:
            where = lonlat_points(metric.inverse(shapely.point_on_surface(parts[:1])))[0]
            msg = f"its children leave {sliver} uncovered"
        problems.append(
            Problem(
                None, str(parent_codes[k]), "gap", msg, WARNING, where, round(float(area.sum()), 3)
            )
        )
    return problems
