"""``gridgeo batch validate``: the import report of many boundary files, in parallel, one table.

Each file is one Dask task that runs the import's own dry run
(:func:`boundaries.importer.import_grids` with ``commit=False``, in a transaction rolled back)
against the store the planners would import into, so a province's files are checked exactly as
``gridgeo import grids FILE --level L`` checks one: geometry, codes, duplicates, overlaps
within the file and with the store, parents, outside parts and gaps. The tasks share nothing
but the database (read only), so they run on any worker that can reach it; a file that cannot
be read at all is reported as such, without stopping the others.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridgeo.errors import GridgeoError

if TYPE_CHECKING:
    from distributed import Client

COLUMNS = ("file", "level", "features", "ok", "errors", "warnings", "kinds", "seconds")


@dataclass(frozen=True)
class Options:
    """The import's field mapping and tolerances, the same for every file.

    Attributes:
        level: the level of every file's features.
        code_field, name_field, parent_field, workers_field: the fields (as the import).
        tolerance_m: metres a child may stick out of its parent.
        fix: repair invalid polygons before the checks.
    """

    level: str
    code_field: str = "code"
    name_field: str | None = "name"
    parent_field: str | None = None
    workers_field: str | None = None
    tolerance_m: float = 1.0
    fix: bool = False


def validate_one(url: str, path: str, opts: Options) -> dict[str, Any]:
    """The import report of one file against the store at ``url`` (nothing is written).

    Returns:
        ``file``, ``level``, ``features``, ``ok``, ``errors``, ``warnings``, ``kinds`` (count
        per kind of problem), ``seconds``, ``problems`` (each as the import reports it) and,
        when the file could not be checked at all, ``failure``.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from boundaries.importer import import_grids

    start = time.perf_counter()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, poolclass=NullPool)  # nothing kept open on the worker
    row: dict[str, Any] = {"file": path, "level": opts.level}
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                report = import_grids(
                    conn,
                    path,
                    opts.level,
                    code_field=opts.code_field,
                    name_field=opts.name_field,
                    parent_field=opts.parent_field,
                    workers_field=opts.workers_field,
                    tolerance_m=opts.tolerance_m,
                    fix=opts.fix,
                    commit=False,
                )
                d = report.to_dict()
                row |= {
                    "features": d["features"],
                    "ok": d["ok"],
                    "errors": d["errors"],
                    "warnings": d["warnings"],
                    "kinds": dict(sorted(Counter(p["kind"] for p in d["problems"]).items())),
                    "problems": d["problems"],
                }
            except GridgeoError as exc:
                row |= {"features": 0, "ok": False, "errors": 1, "warnings": 0}
                row |= {"kinds": {"unreadable": 1}, "problems": [], "failure": exc.message}
            finally:
                trans.rollback()
    finally:
        engine.dispose()
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def validate_files(
    client: Client | None, url: str, paths: list[str], opts: Options
) -> list[dict[str, Any]]:
    """Every file's report, in the order given: one Dask task each (``client`` None: here)."""
    if client is None:
        return [validate_one(url, p, opts) for p in paths]
    futures = client.map(validate_one, [url] * len(paths), paths, [opts] * len(paths), pure=False)
    try:
        return list(client.gather(futures))
    finally:
        client.cancel(futures)


def as_text(rows: list[dict[str, Any]]) -> str:
    """One line per file, then the totals."""
    width = max([len(r["file"]) for r in rows] + [4])
    lines = [
        f"{'file':<{width}}  {'level':<10} {'features':>8} {'errors':>6} {'warnings':>8}  kinds"
    ]
    for r in rows:
        kinds = r.get("failure") or ", ".join(f"{n} {k}" for k, n in r["kinds"].items()) or "-"
        lines.append(
            f"{r['file']:<{width}}  {r['level']:<10} {r['features']:>8} {r['errors']:>6} "
            f"{r['warnings']:>8}  {kinds}"
        )
    bad = sum(1 for r in rows if not r["ok"])
    lines.append(
        f"{len(rows)} files, {sum(r['features'] for r in rows)} features: {bad} with errors, "
        f"{sum(r['errors'] for r in rows)} errors, {sum(r['warnings'] for r in rows)} warnings"
    )
    return "\n".join(lines)


def as_csv(rows: list[dict[str, Any]]) -> str:
    """The table as CSV: one row per file, ``kinds`` as ``kind=n;kind=n``."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        kinds = ";".join(f"{k}={n}" for k, n in r["kinds"].items())
        w.writerow([r["file"], r["level"], r["features"], r["ok"], r["errors"], r["warnings"],
                    kinds, r["seconds"]])  # fmt: skip
    return buf.getvalue()


def as_json(rows: list[dict[str, Any]]) -> str:
    """The whole reports (every problem) as JSON."""
    return json.dumps(rows, ensure_ascii=False, indent=1)
