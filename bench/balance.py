"""Balancing benchmark: our partitioner against GerryChain's recursive_tree_part (anchor).

Case A: a synthetic community of 3,000 households in 600 buildings (Voronoi units around the
buildings) into 10 grids of 300 ±10 %. Case B: one Providence ward (census blocks as units,
households = round(TOTPOP / 2.5)) into 15 grids. Both methods run on the same unit graph;
figures are the median time of 5 runs, worst |deviation| from the equal share, mean
Polsby–Popper, and whether every grid is contiguous.

    .venv/bin/python bench/balance.py      # figures also in bench/out/balance.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridgeo.balance import balance  # noqa: E402
from gridgeo.balance_units import Units, build_units, polsby_popper, union_parts  # noqa: E402

PROVIDENCE = ROOT.parent / "shared" / "data" / "providence" / "Providence_blocks.zip"
RUNS = 5
MAX_ATTEMPTS = 500


def community(seed: int = 7, n: int = 600, total: int = 3000) -> Units:
    rng = np.random.default_rng(seed)
    xy = rng.uniform([0, 0], [1200, 900], size=(n, 2))
    hh = rng.multinomial(total - n, np.ones(n) / n) + 1
    cur = [f"g{int(x // 300)}{int(y // 300)}" for x, y in xy]
    return build_units(xy, hh, shapely.box(0, 0, 1200, 900), cur)


def providence_wards() -> dict[int, Units]:
    import geopandas as gpd

    from gridgeo.balance_units import units_from_polygons

    blocks = gpd.read_file(PROVIDENCE)
    blocks = blocks.to_crs(blocks.estimate_utm_crs())
    out = {}
    for ward, group in blocks.groupby("WARD"):
        hh = (group["TOTPOP"] / 2.5).round().astype(int).to_numpy()
        out[int(ward)] = units_from_polygons(list(group.geometry), hh)
    return out


def figures(units: Units, assignment: list[int], k: int) -> dict[str, object]:
    pop = units.households
    share = pop.sum() / k
    sizes = np.bincount(assignment, weights=pop, minlength=k)
    shapes = union_parts(units.cells, assignment, k)
    contiguous = all(
        nx.is_connected(units.graph.subgraph([u for u, p in enumerate(assignment) if p == i]))
        for i in range(k)
        if i in set(assignment)
    )
    return {
        "max_dev": float(np.max(np.abs(sizes / share - 1))),
        "mean_pp": float(np.mean([polsby_popper(s) for s in shapes])),
        "contiguous": contiguous,
    }


def ours(units: Units, k: int, band: float) -> tuple[float, dict[str, object]]:
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        p = balance(units, k, band)
        times.append(time.perf_counter() - t)
    out = figures(units, p.assignment, len(p.parts))
    out["moved"] = p.moved_households
    out["own_building_grids"] = sum(q.own_building for q in p.parts)
    return statistics.median(times), out


def anchor(units: Units, k: int, band: float) -> tuple[float | None, dict[str, object]]:
    try:
        from gerrychain import Graph
        from gerrychain.partition import recursive_tree_part
        from gerrychain.tree import bipartition_tree
    except ImportError:
        return None, {"error": "gerrychain not installed"}
    nxg = nx.Graph(units.graph)
    for u in nxg.nodes:
        nxg.nodes[u]["hh"] = int(units.households[u])
    graph = Graph.from_networkx(nxg)
    # capped (default 100,000 attempts): a ward with a block above the band never succeeds
    split = partial(bipartition_tree, max_attempts=MAX_ATTEMPTS, warn_attempts=10**9)
    target = float(units.households.sum()) / k
    times, result, errors = [], None, 0
    for seed in range(RUNS):
        t = time.perf_counter()
        try:
            result = recursive_tree_part(
                graph, range(k), target, "hh", band, bipartition_tree_fn=split, rng=seed
            )
        except Exception as exc:  # noqa: BLE001 - report the anchor's failure, keep going
            errors += 1
            err = f"{type(exc).__name__}: {str(exc)[:80]}"
            times.append(time.perf_counter() - t)
            break  # a failure repeats with other seeds; one is enough to time it
        times.append(time.perf_counter() - t)
    if result is None:
        return statistics.median(times), {"error": err, "failures": errors}
    assignment = [int(result[u]) for u in range(len(units))]
    out = figures(units, assignment, k)
    out["failures"] = errors
    return statistics.median(times), out


def case(name: str, units: Units, k: int, band: float) -> dict[str, object]:
    t_ours, f_ours = ours(units, k, band)
    t_gc, f_gc = anchor(units, k, band)
    print(f"\n{name}: {len(units)} units, {int(units.households.sum()):,} households, k={k}")
    print(f"{'method':<28} {'time s':>8} {'max dev':>8} {'mean PP':>8}  contiguous")
    for label, t, f in (
        ("ours (tree split + refine)", t_ours, f_ours),
        ("GerryChain rtp", t_gc, f_gc),
    ):
        if "max_dev" in f:
            print(
                f"{label:<28} {t or 0:>8.3f} {f['max_dev']:>8.1%} {f['mean_pp']:>8.3f}  {f['contiguous']}"
            )
        else:
            print(f"{label:<28} {t or 0:>8.3f}  failed: {f.get('error')}")
    if t_gc and "max_dev" in f_gc:
        print(
            f"ratio time ours/anchor {t_ours / t_gc:.2f}×; ours moved {f_ours['moved']:,} households"
        )
    return {"k": k, "ours": {"time_s": t_ours, **f_ours}, "anchor": {"time_s": t_gc, **f_gc}}


def main() -> None:
    warnings.simplefilter("ignore")
    results = {"community_3000_600_10": case("community", community(), 10, 0.10)}
    if PROVIDENCE.exists():
        wards = providence_wards()
        share = {w: u.households.sum() / 15 for w, u in wards.items()}
        lumpy = 1 if 1 in wards else min(wards)
        smooth = min(w for w, u in wards.items() if u.households.max() <= share[w] * 1.05)
        for w in (lumpy, smooth):
            big = int(wards[w].households.max())
            name = f"Providence ward {w} (largest block {big} households)"
            results[f"providence_ward_{w}"] = case(name, wards[w], 15, 0.10)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "balance.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
