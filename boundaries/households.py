"""Import household points from a file: validate and (on commit) write and assign to grids.

Used by the command line and the web API alike. A dry run by default; ``commit=True`` streams
the points into the store with COPY inside a savepoint and then assigns every household to
its leaf grid with set-based SQL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import Connection, text

from boundaries import store_checks as sc
from boundaries.io import read_features, require_fields
from boundaries.report import ImportRejected, ImportReport, Problem
from boundaries.validate import as_strings, duplicate_problems, integer_values, point_problems
from gridgeo.bulk_assign import assign_households
from gridgeo.store import copy_households

# The temporary tables of gridgeo.bulk_assign live until the transaction ends; dropping them
# lets one transaction import several files (each import runs an assignment).
ASSIGN_TEMP_TABLES = "DROP TABLE IF EXISTS pg_temp._leaf_parts, pg_temp._hits, pg_temp._pick"
# The usual names of a field of households per point, detected as lon/lat columns are
# (case and surrounding blanks ignored); --count-field names another.
COUNT_NAMES = ("households", "户数", "household_count")


def detect_count_field(available: list[str]) -> str | None:
    """The field among ``available`` with one of the usual names of a household count."""
    by_name = {name.strip().lower(): name for name in available}
    return next((by_name[n] for n in COUNT_NAMES if n in by_name), None)


def import_households(
    conn: Connection,
    path: str | Path,
    *,
    count_field: str | None = None,
    address_field: str | None = None,
    external_id_field: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    commit: bool = False,
    layer: str | None = None,
    crs: str | None = None,
) -> ImportReport:
    """Validate a file of household points and, with ``commit``, insert and assign them.

    Args:
        conn: a connection in a transaction owned by the caller (who commits it).
        path: GeoJSON, GeoPackage or Shapefile of points, or CSV with lon/lat columns.
        count_field: field of households per point (a whole number ≥ 1); default: a field
            named households, 户数 or household_count if there is one, else 1 each. The
            report's plan says which (``count_field``).
        address_field: optional field of the address.
        external_id_field: optional field of an id from the source system (unique).
        lon_field: CSV column of longitudes (default: detect lon, lng, longitude or x).
        lat_field: CSV column of latitudes (default: detect lat, latitude or y).
        commit: write the points and assign them; otherwise only report (a dry run).
        layer: the layer of a multi-layer file.
        crs: CRS of CSV coordinates or of a file that declares none (default EPSG:4326).

    Returns:
        The report; after a commit ``assignment`` holds the counts of the assignment.

    Raises:
        InvalidInput: unreadable file or missing field, or (as
            :class:`~boundaries.report.ImportRejected`) a commit of a file with errors, in
            which case nothing is written.
    """
    gdf = read_features(path, layer, lon_field=lon_field, lat_field=lat_field, crs=crs)
    available = [str(c) for c in gdf.columns.drop(gdf.geometry.name)]
    if count_field is None:
        count_field = detect_count_field(available)
    fields = {
        "count_field": count_field,
        "address_field": address_field,
        "external_id_field": external_id_field,
    }
    require_fields(path, available, fields)
    n = len(gdf)
    ids = as_strings(gdf[external_id_field]) if external_id_field else np.full(n, "", dtype=object)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    problems: list[Problem] = point_problems(geoms, ids)
    if count_field:
        counts, bad = integer_values(
            gdf[count_field], ids, field=count_field, minimum=1, blank=None
        )
        problems += bad
    else:
        counts = np.ones(n, dtype=np.int64)
    if external_id_field:
        problems += duplicate_problems(ids, kind="duplicate_external_id", what="external id")
        taken = sc.stored_external_ids(conn, sorted(set(ids) - {""}))
        problems += [
            Problem(i, e, "external_id_in_store", f"a household with external id '{e}' is stored")
            for i, e in enumerate(ids)
            if e in taken
        ]
    report = ImportReport(
        source=str(path),
        target="households",
        features=n,
        problems=sorted(problems, key=lambda p: p.index or 0),
        plan={
            "insert": {"households": n},
            "household_count": int(counts.sum()),
            "count_field": count_field,
        },
    )
    if not commit:
        return report
    if report.errors:
        raise ImportRejected(report)
    addresses = as_strings(gdf[address_field]) if address_field else None
    with conn.begin_nested():
        report.written = copy_households(
            conn,
            geoms,
            counts,
            addresses=None if addresses is None else _blank_to_none(addresses),
            external_ids=_blank_to_none(ids) if external_id_field else None,
        )
        conn.execute(text(ASSIGN_TEMP_TABLES))
        done = assign_households(conn)
        conn.execute(text(ASSIGN_TEMP_TABLES))
    report.committed = True
    report.assignment = {
        "households": done.households,
        "assigned": done.assigned,
        "unassigned": done.unassigned,
        "changed": done.changed,
    }
    return report


def _blank_to_none(values: np.ndarray) -> list[str | None]:
    out = np.asarray(values, dtype=object).copy()
    out[out == ""] = None
    return list(out)
