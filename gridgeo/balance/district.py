"""Balance every community of a street or district (reads only; nothing is stored).

The areas balanced are those one level above the leaf grids at or below the given code. Their
buildings are read in one query, then each area is read (:func:`gridgeo.balance.db.area_data`)
and balanced on its own (:func:`gridgeo.balance.db.solve`, pure) as one Dask task per
community, on a LocalCluster of ``jobs`` workers or on the Dask cluster a
:class:`~gridgeo.batch.cluster.ClusterSpec` names: the areas share nothing, so the run is
parallel-safe, and a failure in one area (no households, no workers) is reported for that
area without stopping the others. The answers are gathered in the order of the codes, and each
task solves with the same seeds as a serial run, so the result is the serial one
(``tests/db/test_balance_district_db.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import shapely
from sqlalchemy import Connection, text

from gridgeo.balance.db import BUILDINGS, AreaData, area_data, solve
from gridgeo.batch.cluster import ClusterSpec, dask_client, default_workers
from gridgeo.errors import GridgeoError, NotFound

AREAS = text(
    """
    SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id
    WHERE g.code LIKE :c || '%'
      AND l.depth = (SELECT max(depth) FROM levels) - 1
    ORDER BY g.code
    """
)


def _one(args: tuple[AreaData, dict[str, Any]]) -> tuple[str, dict[str, Any] | str, float]:
    data, opts = args
    start = time.perf_counter()
    try:
        result: dict[str, Any] | str = solve(data, **opts)
    except GridgeoError as exc:
        result = exc.message
    except shapely.errors.GEOSException as exc:  # report the area, go on with the others
        result = f"geometry error: {exc}"
    return data.code, result, time.perf_counter() - start


def _run(items: list[tuple[AreaData, dict[str, Any]]], spec: ClusterSpec | None) -> Iterator[Any]:
    """Each community's answer in the order given: here (``spec`` None) or one Dask task each."""
    if spec is None:
        yield from map(_one, items)
        return
    run = uuid.uuid4().hex[:8]  # task keys unique on a shared scheduler
    with dask_client(spec) as client:
        futures = client.map(
            _one, items, key=[f"balance-{data.code}-{run}" for data, _ in items], pure=False
        )
        try:
            for future in futures:
                yield future.result()
        finally:
            client.cancel(futures)


def propose_all(
    conn: Connection,
    code: str,
    *,
    k: int | None = None,
    target: int | None = None,
    band: float | None = None,
    lines: bool | None = None,
    default_standard: int,
    jobs: int | None = None,
    candidates: int = 3,
    lang: str = "en",
    cluster: ClusterSpec | None = None,
) -> dict[str, Any]:
    """Proposals for every community below ``code`` (a street or district), and totals.

    Args:
        conn: a connection (read only).
        code: a district, street or community.
        k: grids per community (usually None: from target or workers).
        target: households per grid (k = ceil(households / target) per community).
        band: tolerance (default: each area's configuration).
        lines: as :func:`gridgeo.balance.db.solve`.
        default_standard: households per worker where none is configured.
        jobs: LocalCluster workers (default: the CPUs, at most 4; 1 runs in this process).
        candidates: tree-bisection seeds per piece.
        lang: language of the sentences (``zh`` or ``en``).
        cluster: where the tasks run (a scheduler address, or LocalCluster options); its
            ``workers`` give way to ``jobs`` when both are given.

    Returns:
        ``type`` FeatureCollection of every proposed grid (property ``area``), ``areas`` (each
        community's summary, or its ``error``) and ``totals``.

    Raises:
        NotFound: unknown code, or no community at or below it.
    """
    start = time.perf_counter()
    codes = [r[0] for r in conn.execute(AREAS, {"c": code})]
    if not codes:
        if (
            conn.execute(text("SELECT 1 FROM current_grids WHERE code = :c"), {"c": code}).first()
            is None
        ):
            raise NotFound(f"no area has the code '{code}'", field="area")
        raise NotFound(f"no community lies at or below '{code}'", field="area")
    by_area: dict[str, list[Any]] = {c: [] for c in codes}
    width = {len(c) for c in codes}
    for r in conn.execute(BUILDINGS, {"c": code}):
        for w in width:
            if r.code[:w] in by_area:
                by_area[r.code[:w]].append(r)
                break
    opts = {"k": k, "target": target, "lines": lines, "candidates": candidates, "lang": lang}
    items = [
        (area_data(conn, c, band=band, default_standard=default_standard, rows=by_area[c]), opts)
        for c in codes
    ]
    read_s = time.perf_counter() - start
    spec = cluster or ClusterSpec()
    if spec.local:
        jobs = jobs if jobs is not None else spec.workers or default_workers()
        spec = ClusterSpec(workers=jobs, processes=spec.processes, memory_limit=spec.memory_limit)
    features: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    serial = spec.local and (jobs == 1 or len(items) <= 1)
    for area, result, took in _run(items, None if serial else spec):
        if isinstance(result, str):
            areas.append({"area": area, "error": result, "seconds": round(took, 3)})
            continue
        for f in result["features"]:
            f["properties"]["area"] = area
        features += result["features"]
        areas.append(result["summary"] | {"seconds": round(took, 3)})
    return {
        "type": "FeatureCollection",
        "features": features,
        "areas": areas,
        "totals": _totals(
            code, areas, read_s, time.perf_counter() - start, 1 if serial else spec.workers or 0
        )
        | {"scheduler": "serial" if serial else spec.scheduler or "local"},
    }


def _totals(
    code: str, areas: list[dict[str, Any]], read_s: float, total_s: float, jobs: int
) -> dict[str, Any]:
    done = [a for a in areas if "error" not in a]
    lengths = [a["line_share"] for a in done if a.get("line_share") is not None]
    return {
        "area": code,
        "communities": len(areas),
        "balanced": len(done),
        "failed": len(areas) - len(done),
        "within_band": sum(1 for a in done if a["within_band"]),
        "every_grid_within_band": sum(1 for a in done if a.get("every_grid_within_band")),
        "exact": sum(1 for a in done if a.get("method") == "exact"),
        "proved_infeasible": sum(1 for a in done if a.get("status") == "infeasible"),
        "time_limit": sum(1 for a in done if a.get("status") == "time_limit"),
        "split_buildings": sum(len(a.get("split_buildings") or ()) for a in done),
        "feasible": sum(1 for a in done if a["feasible"]),
        "households": sum(a["households"] for a in done),
        "grids": sum(a["k_effective"] for a in done),
        "moved_households": sum(a["moved_households"] for a in done),
        "max_abs_deviation_balanced": max(
            (a["max_abs_deviation_balanced"] for a in done), default=0.0
        ),
        "mean_line_share": round(sum(lengths) / len(lengths), 4) if lengths else None,
        "read_seconds": round(read_s, 2),
        "seconds": round(total_s, 2),
        "jobs": jobs,
    }
