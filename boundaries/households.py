"""Import household points from a file: validate and (on commit) write and assign to grids.

Used by the command line and the web API alike. A dry run by default; ``commit=True`` writes
inside a savepoint and then assigns every household to its leaf grid with set-based SQL.

The file is read chunk by chunk (:mod:`boundaries.chunks`): each chunk is validated with the
checks of :mod:`boundaries.validate` (row numbers counted over the whole file; repeats of an
external id found across chunks) and, on a commit, its good rows go straight into COPY
(:mod:`gridgeo.bulk_load`). Once a chunk has an error nothing more is written, the rest of the
file is still checked so that the report is complete, and the savepoint is rolled back: all
rows or none. Memory is that of one chunk plus 16 bytes per external id.

Reading and checking the next chunk in a thread while the database writes this one was
tried and dropped: at 1,000,000 rows (load average ~10) the import took 33-39 s with the
thread against ~19 s without it. The thread's Python work (pandas, ``str.join``) holds the
GIL, the COPY feeding the socket waits for it, and the server idles.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
from sqlalchemy import Connection, text

from boundaries import store_checks as sc
from boundaries.chunks import XY, open_chunks
from boundaries.io import require_fields
from boundaries.report import ERROR, ImportRejected, ImportReport, Problem
from boundaries.topology import point_xy
from boundaries.validate import (
    Repeats,
    as_strings,
    integer_values,
    point_problems,
    point_problems_xy,
)
from gridgeo.bulk_assign import assign_households
from gridgeo.bulk_load import (
    CHUNK_ROWS,
    HouseholdChunk,
    copy_household_chunk,
    copy_text,
    households_bulk,
)
from gridgeo.errors import Conflict

# The temporary tables of gridgeo.bulk_assign live until the transaction ends; dropping them
# lets one transaction import several files (each import runs an assignment).
ASSIGN_TEMP_TABLES = "DROP TABLE IF EXISTS pg_temp._leaf_parts, pg_temp._hits, pg_temp._pick"
# The usual names of a field of households per point, detected as lon/lat columns are
# (case and surrounding blanks ignored); --count-field names another.
COUNT_NAMES = ("households", "户数", "household_count")
#: Household counts are stored as 4-byte integers.
MAX_COUNT = 2**31 - 1


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
    chunk_rows: int = CHUNK_ROWS,
    assign: bool = True,
) -> ImportReport:
    """Validate a file of household points and, with ``commit``, insert and assign them.

    Args:
        conn: a connection in a transaction owned by the caller (who commits it).
        path: GeoParquet, GeoJSON, GeoPackage or Shapefile of points, or CSV with lon/lat
            columns.
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
        chunk_rows: features read, checked and written at a time.
        assign: after a commit, assign every household of the store to its grid (the
            benchmark of loading turns it off to time the load alone).

    Returns:
        The report; after a commit ``assignment`` holds the counts of the assignment.

    Raises:
        InvalidInput: unreadable file or missing field, or (as
            :class:`~boundaries.report.ImportRejected`) a commit of a file with errors, in
            which case nothing is written.
        Conflict: the store refused a row (e.g. an external id written meanwhile by
            another import); nothing is written.
    """
    chunks = open_chunks(
        path, layer, lon_field=lon_field, lat_field=lat_field, crs=crs, chunk_rows=chunk_rows
    )
    available = chunks.columns
    if count_field is None:
        count_field = detect_count_field(available)
    fields = {
        "count_field": count_field,
        "address_field": address_field,
        "external_id_field": external_id_field,
    }
    require_fields(path, available, fields)
    repeats = Repeats(kind="duplicate_external_id", what="external id")
    checked = (_check_chunk(gdf, offset, fields, repeats, encode=commit) for offset, gdf in chunks)
    problems: list[Problem] = []
    n = total = written = 0
    bulk = False
    with ExitStack() as stack:
        if commit:
            stack.enter_context(conn.begin_nested())
            bulk = stack.enter_context(households_bulk(conn, chunks.estimated_rows or 0))
        try:
            failed = False  # once a row is bad nothing more is written
            for c in checked:
                found = c.problems + _in_store(conn, c)
                problems += found
                failed = failed or any(p.severity == ERROR for p in found)
                n += len(c.rows)
                total += int(c.rows.counts.sum())
                if commit and not failed:
                    written += copy_household_chunk(conn, c.payload)
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            what = getattr(diag, "constraint_name", None) or getattr(diag, "message_primary", "")
            raise Conflict(
                f"{path}: the store refused the households ({what}); nothing written"
            ) from exc
        report = ImportReport(
            source=str(path),
            target="households",
            features=n,
            problems=sorted(problems, key=lambda p: p.index or 0),
            plan={
                "insert": {"households": n},
                "household_count": total,
                "count_field": count_field,
            },
        )
        if not commit:
            return report
        if report.errors:
            raise ImportRejected(report)  # the savepoint is rolled back on the way out
    report.written = written
    report.plan["bulk"] = bulk
    if assign:
        conn.execute(text(ASSIGN_TEMP_TABLES))
        done = assign_households(conn)
        conn.execute(text(ASSIGN_TEMP_TABLES))
        report.assignment = {
            "households": done.households,
            "assigned": done.assigned,
            "unassigned": done.unassigned,
            "changed": done.changed,
        }
    report.committed = True
    return report


@dataclass
class _Checked:
    """One chunk after the checks that need no database: its rows and COPY text."""

    offset: int
    problems: list[Problem]
    rows: HouseholdChunk
    new_ids: np.ndarray  # external ids seen for the first time in the file (a mask)
    payload: bytes


def _check_chunk(
    gdf: gpd.GeoDataFrame,
    offset: int,
    fields: dict[str, str | None],
    repeats: Repeats,
    *,
    encode: bool,
) -> _Checked:
    """The problems of one chunk (rows numbered from ``offset``), its rows and their COPY text."""
    n = len(gdf)
    count_field, address_field, ext_field = (
        fields["count_field"], fields["address_field"], fields["external_id_field"],
    )  # fmt: skip
    ids = as_strings(gdf[ext_field]) if ext_field else np.full(n, "", dtype=object)
    if XY in gdf.attrs:  # GeoParquet points read as coordinates (boundaries.chunks)
        x, y = gdf.attrs[XY]
        problems: list[Problem] = point_problems_xy(x, y, ids)
    else:
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        problems = point_problems(geoms, ids)
        x, y = point_xy(geoms)
    if count_field:
        counts, bad = integer_values(
            gdf[count_field], ids, field=count_field, minimum=1, blank=None, maximum=MAX_COUNT
        )
        problems += bad
    else:
        counts = np.ones(n, dtype=np.int64)
    problems = [_shift(p, offset) for p in problems]
    new = np.zeros(n, dtype=bool)
    if ext_field:
        repeated, new = repeats.feed(ids, offset)
        problems += repeated
    addresses = as_strings(gdf[address_field]) if address_field else None
    rows = HouseholdChunk(
        x, y, counts,
        None if addresses is None else _blank_to_none(addresses),
        _blank_to_none(ids) if ext_field else None,
    )  # fmt: skip
    good = not any(p.severity == ERROR for p in problems)
    return _Checked(offset, problems, rows, new, copy_text(rows) if encode and good else b"")


def _in_store(conn: Connection, c: _Checked) -> list[Problem]:
    """External ids of the chunk that are already stored.

    Only ids new to the file are asked for: earlier chunks of this import may be written.
    """
    if c.rows.external_ids is None:
        return []
    ids = np.asarray(c.rows.external_ids, dtype=object)
    taken = sc.stored_external_ids(conn, sorted({str(e) for e in ids[c.new_ids]}))
    return [
        Problem(c.offset + int(i), str(ids[i]), "external_id_in_store",
                f"a household with external id '{ids[i]}' is stored")
        for i in np.flatnonzero(c.new_ids)
        if ids[i] in taken
    ]  # fmt: skip


def _shift(p: Problem, offset: int) -> Problem:
    return p if p.index is None or not offset else replace(p, index=p.index + offset)


def _blank_to_none(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    out[out == ""] = None
    return out
