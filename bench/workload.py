"""Benchmark: the workload report of every level, from the kept sums against summing them.

Run::

    .venv/bin/python bench/workload.py --data-dir DIR [--runs 3]

On a city already loaded and assigned (a cluster of bench/city_scale.py, or any database in
``GRIDGEO_DATABASE_URL``), for each level of the hierarchy: ``gridgeo.workload.workload_report``
(households per grid read from ``grid_households``, kept by triggers: migration 0029) against
the anchor, the same report summing ``households.household_count`` over ``household_grid``
for the request (what every count did before), interleaved run by run, medians. Both answers
are compared area by area. Figures go to ``bench/out/workload.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import median, open_bench_database, write_json  # noqa: E402
from gridgeo import workload  # noqa: E402
from gridgeo.levels import load_hierarchy  # noqa: E402

KEPT = """
    SELECT g.code, s.households AS n
    FROM grid_households s JOIN current_grids g ON g.id = s.grid_id"""
SUMMED = """
    SELECT g.code, s.n FROM (
        SELECT a.grid_id, sum(h.household_count)::bigint AS n
        FROM household_grid a JOIN households h ON h.id = a.household_id GROUP BY a.grid_id
    ) s JOIN current_grids g ON g.id = s.grid_id"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None, help="embedded cluster folder (reused)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--keep", action="store_true", help="leave the cluster running")
    # accepted so that bench/city_scale.py can pass its common arguments
    p.add_argument("--grids", type=int, default=0)
    p.add_argument("--households", type=int, default=0)
    args = p.parse_args(argv)
    if KEPT not in workload.REPORT:
        raise SystemExit("gridgeo.workload.REPORT no longer reads grid_households as this expects")
    anchor_sql = workload.REPORT.replace(KEPT, SUMMED)
    db = open_bench_database(args.data_dir)
    out: dict[str, object] = {"load_average_start": os.getloadavg(), "levels": {}}
    levels: dict[str, dict[str, object]] = out["levels"]  # type: ignore[assignment]
    try:
        with db.engine.connect() as conn:
            hierarchy = load_hierarchy(conn)
            out["households"] = conn.execute(text("SELECT count(*) FROM households")).scalar()
            for spec in hierarchy.levels:
                kept_s: list[float] = []
                summed_s: list[float] = []
                same = True
                for _ in range(args.runs):
                    t = time.perf_counter()
                    kept = workload.workload_report(
                        conn, hierarchy, level=spec.key, default_standard=300
                    )
                    kept_s.append(time.perf_counter() - t)
                    original = workload.REPORT
                    workload.REPORT = anchor_sql
                    try:
                        t = time.perf_counter()
                        summed = workload.workload_report(
                            conn, hierarchy, level=spec.key, default_standard=300
                        )
                        summed_s.append(time.perf_counter() - t)
                    finally:
                        workload.REPORT = original
                    same &= [(r.code, r.households) for r in kept] == [
                        (r.code, r.households) for r in summed
                    ]
                levels[spec.key] = {
                    "areas": len(kept),
                    "median_s": median(kept_s),
                    "anchor_median_s": median(summed_s),
                    "ratio": median(kept_s) / median(summed_s) if median(summed_s) else None,
                    "runs_s": [round(x, 4) for x in kept_s],
                    "anchor_runs_s": [round(x, 4) for x in summed_s],
                    "same_households": same,
                }
                print(
                    f"  {spec.key:10} {len(kept):6,} areas: {1000 * median(kept_s):8.1f} ms"
                    f"  (summing the households: {1000 * median(summed_s):8.1f} ms; same: {same})",
                    flush=True,
                )
    finally:
        db.close(keep=args.keep or args.data_dir is not None)
    out["load_average_end"] = os.getloadavg()
    print(write_json("workload", out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
