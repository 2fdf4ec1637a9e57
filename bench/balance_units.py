"""Cases E and F of ``bench/balance.py``: one worker per grid (300 households), by unit and exactly.

E: the demo district (65 communities, its buildings and units from migration 0018) at target
300 through :func:`gridgeo.balance.district.propose_all` (2 processes, median of
``DISTRICT_RUNS``); then, in this process on the same atoms of each community (the finest
level: every building by unit), GerryChain's ``recursive_tree_part`` (one seed, capped
attempts), and the tree method on whole buildings only (the method before units; no exact
step). F: every Providence ward into grids of about 300 households, census blocks as atoms:
:func:`gridgeo.balance.ladder.settle` against GerryChain on the same graph.

A grid is within the band when it holds ``lo..hi`` households (±10 % around households / k).
"""

from __future__ import annotations

import statistics
import time
import warnings
from functools import partial
from typing import Any

import networkx as nx
import numpy as np
from sqlalchemy import text

from gridgeo.balance.exact import band_limits
from gridgeo.balance.units import Units

TARGET = 300
DISTRICT_RUNS = 2
GC_ATTEMPTS = 200
PROVIDENCE_LIMIT_S = 10.0


def gerrychain_on(units: Units, k: int, band: float) -> dict[str, Any]:
    """GerryChain's recursive_tree_part on the atoms: time, worst deviation or its failure."""
    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part
    from gerrychain.tree import bipartition_tree

    total = int(units.households.sum())
    lo, hi = band_limits(total, k, band)
    g = nx.Graph(units.graph)
    for u in g.nodes:
        g.nodes[u]["hh"] = int(units.households[u])
    split = partial(bipartition_tree, max_attempts=GC_ATTEMPTS, warn_attempts=10**9)
    t = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = recursive_tree_part(
                Graph.from_networkx(g), range(k), total / k, "hh", band,
                bipartition_tree_fn=split, rng=0,
            )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the anchor's failure is a figure
        return {"time_s": time.perf_counter() - t, "within": False, "error": type(exc).__name__}
    took = time.perf_counter() - t
    sizes = np.bincount([int(found[u]) for u in range(len(units))],
                        weights=units.households, minlength=k)  # fmt: skip
    return {
        "time_s": took,
        "within": bool(((sizes >= lo) & (sizes <= hi)).all()),
        "max_dev": float(np.max(np.abs(sizes / (total / k) - 1))),
    }


def one_worker_case() -> dict[str, Any]:
    """Case E: the demo district at one worker per grid."""
    from bench.common import open_bench_database
    from gridgeo.balance.atoms import area_levels
    from gridgeo.balance.db import BUILDINGS, area_data
    from gridgeo.balance.district import AREAS, propose_all
    from gridgeo.balance.ladder import settle
    from gridgeo.demo.city import load_demo

    db = open_bench_database(None)
    try:
        with db.engine.begin() as conn:
            if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids)")).scalar():
                load_demo(conn)
        times, out = [], {}
        with db.engine.connect() as conn:
            district = conn.execute(text("SELECT min(code) FROM grids")).scalar()
            for _ in range(DISTRICT_RUNS):
                t = time.perf_counter()
                out = propose_all(conn, district, target=TARGET, jobs=2, default_standard=TARGET)
                times.append(time.perf_counter() - t)
            codes = [r[0] for r in conn.execute(AREAS, {"c": district})]
            rows: dict[str, list[Any]] = {c: [] for c in codes}
            for r in conn.execute(BUILDINGS, {"c": district}):
                rows[r.code[: len(codes[0])]].append(r)
            data = [area_data(conn, c, default_standard=TARGET, rows=rows[c]) for c in codes]
    finally:
        db.close(keep=False)
    areas = [a for a in out["areas"] if "error" not in a]
    gc, whole = [], []
    for d in data:
        k = -(-int(d.households.sum()) // TARGET)
        lv = area_levels(d.xy, d.households, d.labels, d.outline, d.lines, k, d.band, d.housing)
        finest = lv.levels[-1]()
        gc.append(gerrychain_on(finest, k, d.band))
        coarse = lv.levels[:-2] if d.housing is not None else lv.levels
        t = time.perf_counter()
        w = settle(coarse, k, d.band, exact=False)
        whole.append({"time_s": time.perf_counter() - t, "within": w.status == "within_band"})
    t = out["totals"]
    res = {
        "median_s": statistics.median(times),
        "runs_s": times,
        "communities": len(out["areas"]),
        "every_grid_within": t["every_grid_within_band"],
        "by_exact": t["exact"],
        "proved_infeasible": t["proved_infeasible"],
        "time_limit": t["time_limit"],
        "split_buildings": t["split_buildings"],
        "median_community_s": statistics.median(a["seconds"] for a in areas),
        "gerrychain_within": sum(g["within"] for g in gc),
        "gerrychain_failed": sum("error" in g for g in gc),
        "gerrychain_median_s": statistics.median(g["time_s"] for g in gc),
        "whole_buildings_within": sum(w["within"] for w in whole),
        "whole_buildings_median_s": statistics.median(w["time_s"] for w in whole),
        "not_within": [
            {"area": a["area"], "status": a["status"], "reason": a["status_reason"]}
            for a in areas
            if a["status"] != "within_band"
        ],
        "totals": t,
    }
    print(
        f"\ndemo district at one worker per grid (target {TARGET}): {res['communities']} "
        f"communities, {t['households']:,} households -> {t['grids']} grids"
    )
    print(f"{'method':<36} {'every grid in band':>18} {'median s/comm.':>14}")
    print(
        f"{'ours (buildings→units, tree+exact)':<36} {res['every_grid_within']:>14}/65 "
        f"{res['median_community_s']:>14.2f}"
    )
    print(
        f"{'tree, whole buildings only':<36} {res['whole_buildings_within']:>14}/65 "
        f"{res['whole_buildings_median_s']:>14.2f}"
    )
    print(
        f"{'GerryChain rtp (finest atoms)':<36} {res['gerrychain_within']:>14}/65 "
        f"{res['gerrychain_median_s']:>14.2f}  ({res['gerrychain_failed']} failed)"
    )
    print(
        f"whole district: median {res['median_s']:.1f} s over {len(times)} runs, 2 processes "
        f"(target <= 30 s); {t['exact']} by the exact method, {t['proved_infeasible']} proved "
        f"impossible, {t['time_limit']} out of time; {t['split_buildings']} buildings split"
    )
    for a in res["not_within"]:
        print(f"  {a['area']}: {a['status']}: {a['reason']}")
    return res


def providence_case(wards: dict[int, Units]) -> dict[str, Any]:
    """Case F: every Providence ward into grids of about 300 households."""
    from gridgeo.balance.ladder import settle
    from gridgeo.balance.words import say

    rows = []
    print(f"\nProvidence wards into grids of ~{TARGET} households (census blocks as atoms)")
    print(
        f"{'ward':>4} {'blocks':>6} {'k':>3} {'ours s':>7} {'worst':>6}  {'GC s':>6} {'worst':>7}  status"
    )
    for w, units in sorted(wards.items()):
        total = int(units.households.sum())
        k = -(-total // TARGET)
        t = time.perf_counter()
        done = settle([lambda u=units: u], k, 0.10, time_limit=PROVIDENCE_LIMIT_S)
        took = time.perf_counter() - t
        share = total / k
        worst = max(abs(q.households / share - 1) for q in done.proposal.parts)
        gc = gerrychain_on(units, k, 0.10)
        reason = "" if done.reason is None else say(done.reason, "en")
        rows.append(
            {
                "ward": w, "blocks": len(units), "k": k, "time_s": took, "max_dev": worst,
                "method": done.method, "status": done.status, "reason": reason, "gerrychain": gc,
            }
        )  # fmt: skip
        gcw = f"{gc['max_dev']:>7.1%}" if "max_dev" in gc else f"{gc.get('error', '')[:7]:>7}"
        print(
            f"{w:>4} {len(units):>6} {k:>3} {took:>7.2f} {worst:>6.1%}  {gc['time_s']:>6.2f} "
            f"{gcw}  {done.method}/{done.status} {reason[:70]}"
        )
    summary = {
        "wards": len(rows),
        "within": sum(r["status"] == "within_band" for r in rows),
        "proved_infeasible": sum(r["status"] == "infeasible" for r in rows),
        "time_limit": sum(r["status"] == "time_limit" for r in rows),
        "median_s": statistics.median(r["time_s"] for r in rows),
        "median_max_dev": statistics.median(r["max_dev"] for r in rows),
        "gerrychain_within": sum(bool(r["gerrychain"]["within"]) for r in rows),
        "gerrychain_failed": sum("error" in r["gerrychain"] for r in rows),
        "gerrychain_median_s": statistics.median(r["gerrychain"]["time_s"] for r in rows),
    }
    print(
        f"ours: {summary['within']}/{summary['wards']} within, {summary['proved_infeasible']} "
        f"proved impossible, {summary['time_limit']} out of time; median {summary['median_s']:.2f}"
        f" s, median worst deviation {summary['median_max_dev']:.1%}. GerryChain: "
        f"{summary['gerrychain_within']} within, {summary['gerrychain_failed']} failed, median "
        f"{summary['gerrychain_median_s']:.2f} s"
    )
    return {"summary": summary, "wards": rows}
