"""Import grid boundaries from a file: validate, link to parents, and (on commit) write.

The one import core behind the command line and the web API (as mapit's
``add_areas_from_file``): a dry run by default that returns an :class:`ImportReport`; with
``commit=True`` it writes all rows or none, inside a savepoint of the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from boundaries import store_checks as sc
from boundaries.households import import_households
from boundaries.io import read_features, require_fields
from boundaries.report import WARNING, ImportRejected, ImportReport, Problem
from boundaries.topology import (
    MIN_AREA_M2,
    Metric,
    file_overlaps,
    gap_problems,
    outside_parent_problems,
    overlap_problems,
)
from boundaries.validate import (
    as_strings,
    code_problems,
    duplicate_problems,
    geometry_problems,
    integer_values,
    repair_polygons,
    usable_polygons,
)
from gridgeo.errors import Conflict, InvalidInput
from gridgeo.levels import Hierarchy, LevelSpec, load_hierarchy
from gridgeo.store import AreaRecord, insert_areas

__all__ = ["import_grids", "import_households"]


def import_grids(
    conn: Connection,
    path: str | Path,
    level: str,
    *,
    code_field: str = "code",
    name_field: str | None = "name",
    parent_field: str | None = None,
    workers_field: str | None = None,
    commit: bool = False,
    fix: bool = False,
    tolerance_m: float,
    layer: str | None = None,
    min_area_m2: float = MIN_AREA_M2,
) -> ImportReport:
    """Validate a file of areas of one level and, with ``commit``, insert them.

    A feature is linked to its parent by ``parent_field`` when given and not blank, else by
    its code prefix when that parent is stored, else by containment (the stored area of the
    level above that it overlaps most, computed in PostGIS).

    Args:
        conn: a connection in a transaction owned by the caller (who commits it).
        path: GeoJSON, GeoPackage, Shapefile (or zipped Shapefile), or CSV with a WKT column.
        level: the level key of every feature (``district``, ``street``...).
        code_field: field of the hierarchical code.
        name_field: field of the display name; None (or a blank value) uses the code.
        parent_field: optional field of the parent's code.
        workers_field: optional field of the number of workers staffed.
        commit: write the areas; otherwise only report (a dry run).
        fix: repair invalid geometry with make_valid, keeping the polygonal parts.
        tolerance_m: how far a child may reach outside its parent, and how thin an overlap
            may be to count as a sliver (a warning), in metres.
        layer: the layer of a multi-layer file.
        min_area_m2: overlaps, outside parts and gaps smaller than this are not reported.

    Returns:
        The report; ``committed`` and ``written`` say what was stored.

    Raises:
        InvalidInput: unreadable file, unknown level, a missing field, or (as
            :class:`~boundaries.report.ImportRejected`, report in ``detail["report"]``) a
            commit of a file with errors, in which case nothing is written.
        Conflict: the store refused a row written concurrently; nothing is written.
    """
    hierarchy = load_hierarchy(conn)
    spec = hierarchy.get(level)
    parent_spec = hierarchy.parent_of(spec)
    gdf = read_features(path, layer)
    fields = {"code_field": code_field, "name_field": name_field}
    fields |= {"parent_field": parent_field, "workers_field": workers_field}
    require_fields(path, list(gdf.columns.drop(gdf.geometry.name)), fields)
    if parent_field is not None and parent_spec is None:
        raise InvalidInput(f"'{level}' is the top level: it has no parent", field="parent_field")
    n = len(gdf)
    codes = as_strings(gdf[code_field])
    names = as_strings(gdf[name_field]) if name_field else codes.copy()
    names = np.where(names == "", codes, names)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    problems: list[Problem] = []
    if workers_field:
        workers, bad = integer_values(
            gdf[workers_field], codes, field=workers_field, minimum=0, blank=0
        )
        problems += bad
    else:
        workers = np.zeros(n, dtype=np.int64)
    if fix:
        geoms, fixed = repair_polygons(geoms, codes)
        problems += fixed
    problems += geometry_problems(geoms, codes)
    problems += code_problems(codes, hierarchy, spec)
    problems += duplicate_problems(codes)
    usable = usable_polygons(geoms)
    metric = Metric.around(geoms[usable])
    kw = {"tolerance_m": tolerance_m, "min_area_m2": min_area_m2}
    problems += file_overlaps(np.where(usable, geoms, np.array(None)), codes, metric, **kw)
    in_store = sc.stored_codes(conn, [c for c in codes if c])
    problems += [
        Problem(i, c, "duplicate_in_store", f"a current {in_store[c]} with code '{c}' is stored")
        for i, c in enumerate(codes)
        if c in in_store
    ]
    parents, how = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    if parent_spec is not None:
        explicit = as_strings(gdf[parent_field]) if parent_field else np.full(n, "", dtype=object)
        problems += _link(
            conn, hierarchy, spec, parent_spec, codes, explicit, geoms, usable, parents, how
        )
        linked = np.flatnonzero(usable & (parents != ""))
        stored = sc.stored_areas(conn, parent_spec.id, sorted(set(parents[linked])))
        parent_geoms = np.array([stored[p] for p in parents[linked]], dtype=object)
        problems += outside_parent_problems(
            linked, geoms[linked], codes[linked], parent_geoms, parents[linked], metric, **kw
        )
        problems += _gaps(conn, stored, codes, parents, geoms, usable, metric, kw)
    idx = np.flatnonzero(usable)
    hit, other, inter = sc.sibling_overlaps(conn, spec.id, idx, codes[idx], geoms[idx])
    problems += overlap_problems(
        hit, codes[hit], [f"stored {c}" for c in other], inter, metric, **kw
    )
    report = ImportReport(
        source=str(path),
        target="grids",
        features=n,
        level=level,
        problems=sorted(problems, key=lambda p: (p.index is None, p.index or 0)),
        plan={
            "insert": {level: n},
            "linked_by": dict(Counter(h for h in how if h)),
            "parents": dict(sorted(Counter(p for p in parents if p).items())),
        },
    )
    if not commit:
        return report
    if report.errors:
        raise ImportRejected(report)
    records = [
        AreaRecord(str(c), str(nm), level, g, str(p) or None, int(w))
        for c, nm, g, p, w in zip(codes, names, geoms, parents, workers, strict=True)
    ]
    try:
        with conn.begin_nested():
            report.written = insert_areas(conn, hierarchy, records)
    except IntegrityError as exc:
        name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or "a constraint"
        raise Conflict(f"{path}: the store refused the areas ({name}); nothing written") from exc
    report.committed = True
    return report


def _link(
    conn: Connection,
    hierarchy: Hierarchy,
    spec: LevelSpec,
    parent_spec: LevelSpec,
    codes: np.ndarray,
    explicit: np.ndarray,
    geoms: np.ndarray,
    usable: np.ndarray,
    parents: np.ndarray,
    how: np.ndarray,
) -> list[Problem]:
    """Fill ``parents`` and ``how`` in place; return missing-parent errors and prefix warnings."""
    codes_s = pd.Series(codes, dtype=object)
    well_formed = codes_s.str.fullmatch(rf"[0-9]{{{spec.code_length}}}").to_numpy(dtype=bool)
    prefix = np.where(well_formed, codes_s.str[: parent_spec.code_length], "").astype(object)
    wanted = sorted({*explicit, *prefix} - {""})
    known = {c for c, key in sc.stored_codes(conn, wanted).items() if key == parent_spec.key}
    given = explicit != ""
    parents[given] = explicit[given]
    how[given] = "field"
    by_code = ~given & np.isin(prefix, list(known))
    parents[by_code], how[by_code] = prefix[by_code], "code"
    rest = np.flatnonzero(~given & ~by_code & usable)
    for j, code in sc.parents_by_containment(conn, parent_spec.depth, rest, geoms[rest]).items():
        parents[j], how[j] = code, "containment"
    problems = []
    for i in np.flatnonzero(given & ~np.isin(explicit, list(known))):
        problems.append(
            Problem(
                int(i),
                codes[i],
                "missing_parent",
                f"parent '{explicit[i]}' is not a stored {parent_spec.key}",
            )
        )
        parents[i], how[i] = "", ""
    for i in np.flatnonzero(parents == ""):
        if given[i]:
            continue
        tried = (
            f"no stored {parent_spec.key} '{prefix[i]}' (code prefix)"
            if prefix[i]
            else "no code prefix"
        )
        tried += (
            f" and no stored {parent_spec.key} overlaps it"
            if usable[i]
            else " and no usable geometry to search by"
        )
        problems.append(Problem(int(i), codes[i], "missing_parent", tried))
    for i in np.flatnonzero((parents != "") & well_formed):
        msg = hierarchy.code_problem(codes[i], spec, parents[i])
        if msg is not None:
            problems.append(
                Problem(int(i), codes[i], "code_prefix", f"{msg} (linked by {how[i]})", WARNING)
            )
    return problems


def _gaps(
    conn: Connection,
    stored: dict[str, shapely.Geometry],
    codes: np.ndarray,
    parents: np.ndarray,
    geoms: np.ndarray,
    usable: np.ndarray,
    metric: Metric,
    kw: dict[str, float],
) -> list[Problem]:
    """Gap warnings for every parent that the file's features are linked to."""
    keys = sorted(stored)
    if not keys:
        return []
    others = sc.stored_children(conn, keys, [c for c in codes if c])
    mine = usable & (parents != "")
    children = [
        np.concatenate([geoms[mine & (parents == k)], np.array(others.get(k, []), dtype=object)])
        for k in keys
    ]
    parent_geoms = np.array([stored[k] for k in keys], dtype=object)
    return gap_problems(parent_geoms, np.array(keys, dtype=object), children, metric, **kw)
