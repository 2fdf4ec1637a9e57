"""Benchmark: redrawing one shared grid boundary in the 1,000,000-household city.

Run::

    .venv/bin/python bench/plans.py [--grids 10000] [--households 1000000] [--trials 20]
                                    [--data-dir DIR] [--keep]

In one run, on a private durable PostGIS cluster (or ``GRIDGEO_DATABASE_URL``):

(a) the anchor: a full ``assign_households`` + commit (what ``gridgeo assign`` does), median
    of ``--assign-runs``;
(b) for ``--trials`` different pairs of neighbouring leaf grids: open a plan on their
    community, move their shared boundary (``transfer`` of a 30 m strip along it, so both
    neighbours change), then time separately
    - the edit (``apply_edit``: load the draft, compute, store the rows),
    - the preview (``load_draft`` + ``preview``: topology and impact on households), and
    - the commit (``commit_plan`` + COMMIT: versions, reassignment of the changed area's
      households and open incidents), each really committed.

Targets (issue 4): commit p50 ≤ 300 ms, preview p50 ≤ 200 ms. Figures go to
``bench/out/plans.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench.common import (  # noqa: E402
    ensure_city,
    latency_summary,
    median,
    open_bench_database,
    server_facts,
    write_json,
)
from boundaries.plans.commit import commit_plan  # noqa: E402
from boundaries.plans.drafts import load_draft, open_plan  # noqa: E402
from boundaries.plans.edits import apply_edit  # noqa: E402
from boundaries.plans.preview import preview  # noqa: E402
from gridgeo.bulk_assign import assign_households  # noqa: E402
from gridgeo.levels import load_hierarchy  # noqa: E402
from gridgeo.settings import get_settings  # noqa: E402

STRIP_M = 30.0

PAIRS_SQL = """
SELECT a.code, b.code, c.code AS community,
       ST_AsBinary(ST_LineMerge(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))))
FROM grids a
JOIN grids b ON b.parent_id = a.parent_id AND b.code > a.code AND b.valid_to IS NULL
     AND ST_Intersects(a.geom, b.geom)
JOIN grids c ON c.id = a.parent_id
WHERE a.valid_to IS NULL
  AND NOT EXISTS (SELECT 1 FROM grids k WHERE k.parent_id = a.id)
  AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography) > 150
ORDER BY md5(a.code || b.code)
LIMIT :n
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"gridgeo plan benchmark: {args.grids:,} grids, {args.households:,} points")
    db = open_bench_database(args.data_dir)
    result: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        _, facts = ensure_city(db, grids=args.grids, households=args.households, seed=args.seed)
        result["setup"] = facts
        result["server"] = server_facts(db.engine)
        print(f"  city: {facts}")
        result["full_assign"] = bench_full_assign(db.engine, args.assign_runs)
        result["redraw"] = bench_redraw(db.engine, args.trials)
    finally:
        db.close(keep=args.keep)
    summarise(result)
    path = write_json("plans", result)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--grids", type=int, default=10_000)
    p.add_argument("--households", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path, default=None, help="embedded cluster folder (reused)")
    p.add_argument("--keep", action="store_true", help="leave the cluster running with the data")
    p.add_argument("--trials", type=int, default=20, help="boundary redraws, each committed")
    p.add_argument("--assign-runs", type=int, default=2, help="timed full assignments")
    p.add_argument("--seed", type=int, default=20261122)
    return p.parse_args(argv)


def bench_full_assign(engine: Engine, runs: int) -> dict[str, object]:
    print("(a) full assign_households() + commit:")
    times = []
    for _ in range(runs):
        with engine.connect() as conn:
            t0 = time.perf_counter()
            with conn.begin():
                rep = assign_households(conn)
            times.append(time.perf_counter() - t0)
        print(f"    {times[-1]:.2f} s ({rep.households:,} points, {rep.changed:,} changed)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) household_grid"))
    return {"runs_s": [round(t, 3) for t in times], "median_s": median(times)}


def strip_edit(a: str, b: str, shared_wkb: bytes) -> dict[str, object]:
    """Move the boundary: ``b`` gives ``a`` a strip of STRIP_M along their shared edge."""
    edge = shapely.from_wkb(shared_wkb)
    piece = shapely.orient_polygons(shapely.buffer(edge, STRIP_M / 111_320, cap_style="flat"))
    if piece.geom_type == "MultiPolygon":
        piece = max(piece.geoms, key=lambda g: g.area)
    return {"op": "transfer", "from": b, "to": a, "geometry": shapely.geometry.mapping(piece)}


def bench_redraw(engine: Engine, trials: int) -> dict[str, object]:
    print(f"(b) redraw one shared boundary, {trials} trials (edit, preview, commit):")
    with engine.connect() as conn:
        hierarchy = load_hierarchy(conn)
        pairs = conn.execute(text(PAIRS_SQL), {"n": trials * 3}).all()
    used: set[str] = set()
    edit_ns, preview_ns, commit_ns = [], [], []
    settings = get_settings()
    snap_m, standard = settings.boundaries.plan_snap_m, settings.workload.households_per_worker
    moved, considered, skipped = [], [], []
    for a, b, community, shared in pairs:
        if len(edit_ns) >= trials:
            break
        if a in used or b in used:
            continue
        with engine.connect() as conn:
            try:
                with conn.begin():
                    pid = int(open_plan(conn, community, f"bench {a}/{b}", "bench")["id"])
                    t0 = time.perf_counter_ns()
                    edit = strip_edit(a, b, bytes(shared))
                    apply_edit(conn, hierarchy, pid, edit, "bench", snap_m=snap_m)
                    t1 = time.perf_counter_ns()
                    draft = load_draft(conn, hierarchy, pid, snap_m=snap_m, households=False)
                    out = preview(conn, draft, standard=standard, tolerance_m=snap_m)
                    t2 = time.perf_counter_ns()
                    if not out["ok"]:
                        raise ValueError(out["problems"][0]["message"])
            except Exception as exc:  # noqa: BLE001 - a pair whose strip is not clean
                skipped.append(f"{a}/{b}: {exc}"[:160])
                continue
            t3 = time.perf_counter_ns()
            with conn.begin():
                done = commit_plan(
                    conn, hierarchy, pid, "bench", "bench: move a boundary", snap_m=snap_m
                )
            t4 = time.perf_counter_ns()
        used |= {a, b}
        edit_ns.append(t1 - t0)
        preview_ns.append(t2 - t1)
        commit_ns.append(t4 - t3)
        moved.append(out["impact"]["households_moved"])
        considered.append(done["households_considered"])
        print(
            f"    {a}/{b}: edit {(t1 - t0) / 1e6:.0f} ms, preview {(t2 - t1) / 1e6:.0f} ms, "
            f"commit {(t4 - t3) / 1e6:.0f} ms; {out['impact']['households_moved']} households "
            f"moved, {done['households_considered']} points re-evaluated"
        )
    return {
        "edit_ms": latency_summary(edit_ns),
        "preview_ms": latency_summary(preview_ns),
        "commit_ms": latency_summary(commit_ns),
        "households_moved_median": float(np.median(moved)) if moved else None,
        "points_reevaluated_median": float(np.median(considered)) if considered else None,
        "skipped": skipped,
    }


def summarise(r: dict[str, object]) -> None:
    full = r["full_assign"]["median_s"] * 1000  # type: ignore[index]
    red = r["redraw"]  # type: ignore[assignment]
    print("\nsummary (medians):")
    print(f"  full assign + commit:  {full:,.0f} ms (anchor)")
    for key, target in (("edit_ms", None), ("preview_ms", 200), ("commit_ms", 300)):
        s = red[key]  # type: ignore[index]
        if not s:
            continue
        verdict = "" if target is None else (" met" if s["p50"] <= target else " MISSED")
        tgt = "" if target is None else f" (target p50 ≤ {target} ms:{verdict})"
        print(
            f"  {key[:-3]:<8} p50 {s['p50']:>7.1f} ms, p90 {s['p90']:>7.1f} ms "
            f"= {s['p50'] / full:.2%} of a full assign{tgt}"
        )
    print(
        f"  households moved per redraw: {red['households_moved_median']}, points re-evaluated: "  # type: ignore[index]
        f"{red['points_reevaluated_median']}; skipped pairs: {len(red['skipped'])}"  # type: ignore[index]
    )


if __name__ == "__main__":
    raise SystemExit(main())
