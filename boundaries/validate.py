"""Checks of single features and of field values, and geometry repair; pure and vectorised.

Every check takes arrays aligned with the file's features (position *i* is feature *i*) and
returns :class:`~boundaries.report.Problem` objects naming the feature, so a planner can find
it in the source file. Checks against the store and between areas live elsewhere
(:mod:`boundaries.grids`, :mod:`boundaries.topology`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

from boundaries.report import ERROR, WARNING, Problem
from boundaries.topology import Metric, point_xy, polygonal
from gridgeo.levels import Hierarchy, LevelSpec

POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_REASON_POINT = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


def as_strings(values: pd.Series) -> np.ndarray:
    """Field values as stripped strings: blanks become ``""``, ``440000.0`` becomes ``"440000"``.

    Numeric columns lose leading zeros in the source format already; strings keep them.
    """
    s = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_float_dtype(s):
        whole = s.notna() & np.isfinite(s) & (s == s.round())
        out = s.astype(str).where(s.notna(), "")
        out[whole] = s[whole].astype("int64").astype(str)
        return np.array(out, dtype=object)
    if pd.api.types.is_integer_dtype(s):
        return np.array(s.astype(str), dtype=object)
    return np.array(s.where(s.notna(), "").astype(str).str.strip(), dtype=object)


def usable_polygons(geoms: np.ndarray) -> np.ndarray:
    """True where a geometry is a non-empty, valid Polygon or MultiPolygon."""
    geoms = np.asarray(geoms, dtype=object)
    kind = shapely.get_type_id(geoms)
    ok = np.isin(kind, POLYGONAL) & ~shapely.is_empty(geoms)
    return ok & shapely.is_valid(geoms)


def geometry_problems(geoms: np.ndarray, codes: np.ndarray) -> list[Problem]:
    """Missing or empty geometry, non-polygons and invalid polygons (with GEOS's reason)."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kind = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(kind, POLYGONAL)
    polys = ~missing & ~wrong
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[polys] = ~shapely.is_valid(geoms[polys])
    problems = [
        Problem(int(i), str(codes[i]), "empty_geometry", "no geometry, or an empty one")
        for i in np.flatnonzero(missing)
    ]
    problems += [
        Problem(
            int(i),
            str(codes[i]),
            "non_polygon",
            f"a {geoms[i].geom_type} is not a boundary; expected Polygon or MultiPolygon",
        )
        for i in np.flatnonzero(wrong)
    ]
    idx = np.flatnonzero(invalid)
    reasons = shapely.is_valid_reason(geoms[idx])
    for i, reason in zip(idx, reasons, strict=True):
        problems.append(
            Problem(
                int(i),
                str(codes[i]),
                "invalid_geometry",
                f"invalid polygon: {reason}",
                ERROR,
                reason_point(reason),
            )
        )
    return sorted(problems, key=lambda p: p.index or 0)


def reason_point(reason: str) -> tuple[float, float] | None:
    """The ``(x, y)`` in a GEOS validity reason such as ``Self-intersection[0.5 0.5]``."""
    m = _REASON_POINT.search(reason or "")
    return (float(m.group(1)), float(m.group(2))) if m else None


def repair_polygons(
    geoms: np.ndarray, codes: np.ndarray, metric: Metric | None = None
) -> tuple[np.ndarray, list[Problem]]:
    """Repair invalid polygons and keep the polygonal parts of collections, with make_valid.

    A repaired geometry is a MultiPolygon of the polygonal parts of ``shapely.make_valid``;
    lines and points that the repair leaves behind are dropped. Valid polygons, empties and
    geometries without polygonal parts are returned unchanged (they are still reported by
    :func:`geometry_problems`).

    Returns:
        The geometries (a new array) and one ``fixed`` warning per repaired feature saying
        what changed.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    kind = shapely.get_type_id(geoms)
    is_poly = np.isin(kind, POLYGONAL)
    todo = np.zeros(len(geoms), dtype=bool)
    todo[present & is_poly] = ~shapely.is_valid(geoms[present & is_poly])
    todo |= present & (kind == shapely.GeometryType.GEOMETRYCOLLECTION)
    idx = np.flatnonzero(todo)
    if not len(idx):
        return geoms, []
    before = geoms[idx]
    after = polygonal(shapely.make_valid(before))
    got = ~shapely.is_empty(after)
    idx, before, after = idx[got], before[got], after[got]
    metric = metric or Metric.around(before)
    area0, area1 = metric.area(before), metric.area(after)
    reasons = shapely.is_valid_reason(before)
    nparts = shapely.get_num_geometries(after)
    geoms[idx] = after
    was_collection = kind[idx] == shapely.GeometryType.GEOMETRYCOLLECTION
    what = np.where(was_collection, "kept the polygons of a GeometryCollection", reasons)
    problems = [
        Problem(
            index=int(i),
            code=str(codes[i]),
            kind="fixed",
            message=f"made valid: {w} → MultiPolygon of {n} part{'s' if n != 1 else ''}, "
            f"area {a0:.1f} m² → {a1:.1f} m²",
            severity=WARNING,
            location=reason_point(str(r)),
        )
        for i, w, r, n, a0, a1 in zip(idx, what, reasons, nparts, area0, area1, strict=True)
    ]
    return geoms, problems


def code_problems(codes: np.ndarray, hierarchy: Hierarchy, spec: LevelSpec) -> list[Problem]:
    """Codes that do not fit the level (empty, not digits, wrong length)."""
    problems = []
    for i, code in enumerate(codes):  # string checks of the hierarchy, no geometry involved
        msg = hierarchy.code_problem(str(code), spec)
        if msg is not None:
            problems.append(Problem(i, str(code), "malformed_code", msg))
    return problems


def duplicate_problems(
    values: np.ndarray, *, kind: str = "duplicate_code", what: str = "code"
) -> list[Problem]:
    """Every repeat of a non-blank value, naming the feature where it first appears."""
    return Repeats(kind=kind, what=what).feed(values, 0)[0]


class Repeats:
    """Repeats of non-blank values over the chunks of a file, in file order.

    Each value seen is kept as a 64-bit hash and the row where it first appeared (16 bytes a
    value: 160 MB for 10,000,000 ids), so a repeat in a later chunk names the right first
    row without keeping the strings. Two different values with the same hash would read as a
    repeat (odds about 3 in a million for 10,000,000 values); a store's unique index stays the
    final word.
    """

    def __init__(self, *, kind: str = "duplicate_code", what: str = "code") -> None:
        self.kind, self.what = kind, what
        self._hashes = np.zeros(0, dtype=np.uint64)  # sorted
        self._first = np.zeros(0, dtype=np.int64)

    def feed(self, values: np.ndarray, offset: int) -> tuple[list[Problem], np.ndarray]:
        """Check one chunk whose first row is ``offset``.

        Returns:
            A problem per repeat, and a mask of the chunk's values seen for the first time.
        """
        vals = np.asarray(values, dtype=object)
        filled = vals != ""
        h = pd.util.hash_array(vals.astype(str).astype(object), categorize=False)
        rows = offset + np.arange(len(vals), dtype=np.int64)
        pos = np.searchsorted(self._hashes, h)
        pos_ok = np.minimum(pos, max(len(self._hashes) - 1, 0))
        before = (pos < len(self._hashes)) & (
            self._hashes[pos_ok] == h if len(self._hashes) else False
        )
        first = np.where(before, self._first[pos_ok] if len(self._first) else -1, -1)
        chunk = pd.Series(h[filled & ~before])
        idx = np.flatnonzero(filled & ~before)
        again = chunk.duplicated(keep="first").to_numpy()
        first_in_chunk = pd.Series(rows[idx][~again], index=chunk[~again].to_numpy())
        first[idx[again]] = first_in_chunk.loc[chunk[again].to_numpy()].to_numpy()
        repeat = filled & (first >= 0)
        new = filled & ~repeat
        if new.any():
            hashes = np.concatenate([self._hashes, h[new]])
            order = np.argsort(hashes, kind="stable")
            self._hashes = hashes[order]
            self._first = np.concatenate([self._first, rows[new]])[order]
        problems = [
            Problem(int(rows[i]), str(vals[i]), self.kind,
                    f"{self.what} '{vals[i]}' repeats feature #{first[i]}")
            for i in np.flatnonzero(repeat)
        ]  # fmt: skip
        return problems, new


def integer_values(
    values: pd.Series,
    labels: np.ndarray,
    *,
    field: str,
    minimum: int,
    blank: int | None,
    maximum: int | None = None,
) -> tuple[np.ndarray, list[Problem]]:
    """Parse whole numbers from ``minimum`` to ``maximum``; blanks become ``blank``.

    ``blank`` None makes a blank an error; ``maximum`` None sets no upper bound.

    Returns:
        The values (0 where wrong) and a ``bad_value`` error per wrong value.
    """
    raw = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        # numbers already (GeoParquet, GeoPackage): no text round trip (0.8 s a million)
        num = np.array(raw.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        is_blank = np.isnan(num)
        text = raw.astype(str).where(~is_blank, "")
    else:
        text = raw.astype(str).str.strip().where(raw.notna(), "")
        num = np.array(pd.to_numeric(text.where(text != "", None), errors="coerce"), dtype=float)
        is_blank = (text == "").to_numpy()
    if blank is not None:
        num[is_blank] = blank
    good = np.isfinite(num) & (num == np.round(num)) & (num >= minimum)
    if maximum is not None:
        good &= num <= maximum
    out = np.where(good, num, 0).astype(np.int64)
    upto = f" and ≤ {maximum}" if maximum is not None else ""
    problems = [
        Problem(
            int(i),
            str(labels[i]),
            "bad_value",
            f"{field} '{text[i]}' is not a whole number ≥ {minimum}{upto}",
        )
        for i in np.flatnonzero(~good)
    ]
    return out, problems


def point_problems(geoms: np.ndarray, labels: np.ndarray) -> list[Problem]:
    """Missing or empty locations, non-points and coordinates outside lon/lat range."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    wrong = ~missing & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
    x, y = point_xy(geoms)
    kinds = {int(i): str(geoms[i].geom_type) for i in np.flatnonzero(wrong)}
    return _point_problems(missing, kinds, x, y, labels)


def point_problems_xy(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> list[Problem]:
    """The checks of :func:`point_problems` for points given by their coordinates.

    For points read straight from WKB without making shapely objects
    (:mod:`boundaries.chunks`): an empty point is NaN, NaN there, as WKB writes it.
    """
    missing = np.isnan(x) & np.isnan(y)
    return _point_problems(missing, {}, x, y, labels)


def _point_problems(
    missing: np.ndarray, kinds: dict[int, str], x: np.ndarray, y: np.ndarray, labels: np.ndarray
) -> list[Problem]:
    wrong = np.zeros(len(missing), dtype=bool)
    wrong[list(kinds)] = True
    points = ~missing & ~wrong
    with np.errstate(invalid="ignore"):
        bad = points & ~((np.abs(x) <= 180) & (np.abs(y) <= 90))
    problems = [
        Problem(
            int(i),
            str(labels[i]),
            "empty_geometry",
            "no location (empty geometry, or blank or non-numeric lon/lat)",
        )
        for i in np.flatnonzero(missing)
    ]
    problems += [
        Problem(
            int(i),
            str(labels[i]),
            "non_point",
            f"a {kinds[int(i)]} is not a household location; expected a Point",
        )
        for i in np.flatnonzero(wrong)
    ]
    problems += [
        Problem(
            int(i),
            str(labels[i]),
            "bad_coordinates",
            f"longitude {x[i]:g}, latitude {y[i]:g} outside -180..180, -90..90",
        )
        for i in np.flatnonzero(bad)
    ]
    return sorted(problems, key=lambda p: p.index or 0)
