"""Benchmark: a synthetic province assigned on a Dask LocalCluster, against a geopandas anchor.

Run::

    .venv/bin/python bench/batch.py                 # 4 cities, 2,000,000 households (minutes)
    .venv/bin/python bench/batch.py --size big      # 8 cities, 24,000,000 households
    .venv/bin/python bench/batch.py --households N --cities K --per-file M --workers W

In one run:

(a) the province's households are generated as Dask tasks, one GeoParquet file of
    ``--per-file`` households each (never all in one process), over ``--cities`` lattice
    cities (:mod:`gridgeo.batch.synthetic`: ~6,400 grids of every level a city, ~0.5 % of the
    points outside every grid, a fifth on shared edges and vertices);
(b) :func:`gridgeo.batch.assign.batch_assign` on a LocalCluster of ``--workers`` processes
    (one thread each): read, Hilbert spatial shuffle, join, GeoParquet write; from Dask's task
    stream the worker-seconds in reading, shuffling, joining, writing and idle (the
    scheduler's share and waiting), the peak memory of each worker, and throughput;
(c) the anchor, in this process: ``geopandas.sjoin(points, leaf grids, predicate="within")``
    of one partition (one file), and :func:`gridgeo.batch.join.assign_frame` of the same
    partition, each the median of ``--runs``;
(d) ``--balance`` communities of each city (synthetic buildings in them) balanced as one Dask
    task each by the runner of ``gridgeo balance --all``, and serially as the anchor;
(e) from the measured per-point costs, the hours for 500,000,000 households on N workers.

Figures go to ``bench/out/batch.json``. The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from pyproj import Transformer  # noqa: E402

from gridgeo.balance.db import AreaData  # noqa: E402
from gridgeo.balance.district import _run  # noqa: E402
from gridgeo.batch.assign import batch_assign  # noqa: E402
from gridgeo.batch.cluster import ClusterSpec, dask_client  # noqa: E402
from gridgeo.batch.join import GridIndex, assign_frame, leaf_of  # noqa: E402
from gridgeo.batch.synthetic import City, households, province  # noqa: E402

OUT = ROOT / "bench" / "out"
SIZES = {"default": (2_000_000, 4), "big": (24_000_000, 8)}
LAYOUT = {"streets": 4, "communities": 4, "grids": 4, "cell": 2}  # 16 x 16 x 16 cells
MARGIN = 0.0012  # ~0.5 % of the uniform points fall outside the city
NATION = 500_000_000
CLUSTER_SIZES = (8, 32, 128, 512, 2048)
SCHEDULER_TASK_S = 0.001  # Dask's documented order of overhead per task at the scheduler
NETWORK_BPS = 100e6  # bytes per second a worker sends and receives (1 Gbit/s)


def write_file(city: City, n: int, seed: int, path: str) -> int:
    """One GeoParquet file of ``n`` households of ``city`` (a task of its own)."""
    h = households(city, n, seed=seed, prefix=city.district + "-", margin=MARGIN)
    pts = shapely.points(h["lon"].to_numpy(), h["lat"].to_numpy())
    gpd.GeoDataFrame(h[["external_id", "household_count"]], geometry=pts, crs=4326).to_parquet(path)
    return n


def community_areas(cities: list[City], per_city: int, seed: int = 0) -> list[AreaData]:
    """``per_city`` communities of each city as the balancer reads them from a store.

    Buildings (30-60 a community, 20-200 households each) at random in the community, their
    current grid found by the batch join, coordinates in the UTM zone, no lines, workers at
    the 300 standard rounded up: what :func:`gridgeo.balance.db.area_data` would give.
    """
    rng = np.random.default_rng(seed)
    out = []
    for city in cities:
        areas = city.areas()
        index = GridIndex.from_frame(areas[areas["depth"] == 3])
        communities = areas[areas["depth"] == 2].head(per_city)
        for code, outline in zip(communities["code"], communities["geometry"], strict=True):
            x0, y0, x1, y1 = outline.bounds
            n = int(rng.integers(30, 61))
            lon, lat = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
            labels = index.codes[leaf_of(index, shapely.points(lon, lat)).grid]
            epsg = 32600 + int((lon.mean() + 180) // 6) + 1
            fwd = Transformer.from_crs(4326, epsg, always_xy=True)
            xy = np.column_stack(fwd.transform(lon, lat))
            ring = shapely.transform(outline, lambda a, f=fwd: np.column_stack(f.transform(*a.T)))
            households = rng.integers(20, 201, n)
            workers = int(np.ceil(households.sum() / 300))
            out.append(
                AreaData(code, epsg, ring, xy, households, list(labels), [], workers, 300, 0.1)
            )
    return out


def balance_stage(cities: list[City], per_city: int, spec: ClusterSpec) -> dict[str, float | int]:
    """Every community a task on the cluster (the runner of ``gridgeo balance --all``), and
    the same communities serially in this process, as the anchor."""
    items = [(a, {"target": 300, "lines": False}) for a in community_areas(cities, per_city)]
    start = time.perf_counter()
    dask_out = list(_run(items, spec))
    dask_s = time.perf_counter() - start
    start = time.perf_counter()
    serial = list(_run(items, None))
    serial_s = time.perf_counter() - start
    same = [a[1] for a in dask_out] == [b[1] for b in serial]
    failed = sum(1 for _, r, _ in serial if isinstance(r, str))
    return {
        "communities": len(items),
        "failed": failed,
        "dask_seconds": round(dask_s, 2),
        "serial_seconds": round(serial_s, 2),
        "task_seconds_median": round(statistics.median(t for _, _, t in dask_out), 3),
        "identical_to_serial": same,
    }


def _median_time(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _phases(summary: dict[str, object]) -> dict[str, float]:
    """Worker-seconds by what they did: read, shuffle, join, write, idle (scheduler)."""
    raw: dict[str, float] = summary["phases"]  # type: ignore[assignment]
    join_task = raw.get("join_partition", 0.0)
    write = float(summary["write_seconds"])  # type: ignore[arg-type]
    read = sum(v for k, v in raw.items() if k.startswith("read"))
    idle = raw.get("idle", 0.0)
    shuffle = sum(raw.values()) - join_task - read - idle
    return {
        "read": read,
        "shuffle": shuffle,
        "join": join_task - write,
        "write": write,
        "idle": idle,
    }


def estimate(per_point_s: float, idle_share: float, points_per_task: int) -> list[dict[str, float]]:
    """Hours for the nation's households on N workers, from the costs measured here.

    Assumptions: the work per point (read, shuffle, join, write: worker-seconds measured here)
    does not depend on N (each partition's join touches only its own households and the
    grids, which every worker holds: a nation's ~1.5 million grids are ~0.5 GB of WKB); the
    workers stay idle the share they were idle here (waiting for the scheduler and for the
    shuffle's barrier); the scheduler spends ``SCHEDULER_TASK_S`` per task, serially, on 4
    tasks per partition (read, shuffle transfer and unpack, join); the shuffle moves every
    household once across the network (~100 bytes each), at ``NETWORK_BPS`` per worker.
    """
    tasks = 4 * NATION / points_per_task
    rows = []
    for n in CLUSTER_SIZES:
        compute = NATION * per_point_s / n / max(0.05, 1.0 - idle_share)
        scheduler = tasks * SCHEDULER_TASK_S
        network = NATION * 100 / n / NETWORK_BPS
        rows.append(
            {
                "workers": n,
                "compute_h": round(compute / 3600, 2),
                "scheduler_h": round(scheduler / 3600, 3),
                "network_h": round(network / 3600, 3),
                "hours": round((compute + scheduler + network) / 3600, 2),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="default")
    ap.add_argument("--households", type=int, default=None)
    ap.add_argument("--cities", type=int, default=None)
    ap.add_argument("--per-file", type=int, default=250_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1.5GB", help="per worker")
    ap.add_argument("--runs", type=int, default=3, help="runs of the in-process anchor")
    ap.add_argument("--dir", type=Path, default=None, help="keep the files here")
    ap.add_argument("--balance", type=int, default=4, help="communities a city to balance")
    args = ap.parse_args()
    total, cities_n = SIZES[args.size]
    total = args.households or total
    cities = province(args.cities or cities_n, **LAYOUT)
    work = args.dir or Path(tempfile.mkdtemp(prefix="gridgeo-batch-bench-"))
    (work / "households").mkdir(parents=True, exist_ok=True)
    out = work / "assigned"
    shutil.rmtree(out, ignore_errors=True)
    areas = pd.concat([c.areas() for c in cities], ignore_index=True)
    grids = gpd.GeoDataFrame(
        areas[["code", "depth"]], geometry=areas["geometry"].to_numpy(), crs=4326
    )
    files = max(1, total // args.per_file)
    spec = ClusterSpec(workers=args.workers, memory_limit=args.memory_limit)
    print(
        f"{total:,} households of {len(cities)} cities ({len(grids):,} grids of every level) "
        f"in {files} files; LocalCluster of {args.workers} workers x 1 thread; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    with dask_client(spec) as client:
        start = time.perf_counter()
        sizes = [args.per_file] * files
        paths = [str(work / "households" / f"part-{i:05d}.parquet") for i in range(files)]
        futures = client.map(
            write_file, [cities[i % len(cities)] for i in range(files)], sizes, range(files), paths
        )
        client.gather(futures)
        gen_s = time.perf_counter() - start
        print(f"generated in {gen_s:.1f} s (as Dask tasks)")
        summary = batch_assign(client, grids, paths, out)
    balance = balance_stage(cities, args.balance, spec) if args.balance else {}
    if balance:
        print(
            f"balanced {balance['communities']} communities, one task each: "
            f"{balance['dask_seconds']:.1f} s on the LocalCluster (its start included), "
            f"{balance['serial_seconds']:.1f} s serially here; identical answers: "
            f"{balance['identical_to_serial']}"
        )
    points = int(summary["points"])
    wall = float(summary["seconds"])
    workers = int(summary["workers"])
    phases = _phases(summary)
    busy = sum(phases.values())
    share = {k: round(v / busy, 3) for k, v in phases.items()}
    memory = {a: round(m / 2**20) for a, m in summary["peak_memory_bytes"].items()}
    print(
        f"assigned {points:,} points in {wall:.1f} s: {points / wall:,.0f} points/s, "
        f"{points / wall / workers:,.0f} points/s per worker; outside {summary['outside_points']:,}"
    )
    print("worker time: " + ", ".join(f"{k} {v:.0%}" for k, v in share.items()))
    print("peak memory per worker (MiB): " + ", ".join(str(v) for v in memory.values()))

    # the anchor: one partition in this process
    part = gpd.read_parquet(paths[0])
    leaves = grids[grids["depth"] == grids["depth"].max()][["code", "geometry"]]
    index = GridIndex.from_frame(grids)
    sjoin_s = _median_time(lambda: gpd.sjoin(part, leaves, predicate="within"), args.runs)
    ours_s = _median_time(lambda: assign_frame(index, part), args.runs)
    read_s = _median_time(lambda: gpd.read_parquet(paths[0]), args.runs)
    n = len(part)
    print(
        f"one partition ({n:,} points) in this process: geopandas sjoin {sjoin_s:.2f} s "
        f"({n / sjoin_s:,.0f}/s); the batch join {ours_s:.2f} s ({n / ours_s:,.0f}/s, "
        f"{ours_s / sjoin_s:.1f}x the anchor: covers, the leaf order, the nearest for the "
        f"points outside); reading the file {read_s:.2f} s"
    )
    per_point = (busy - phases["idle"]) / points
    table = estimate(per_point, share["idle"], args.per_file)
    print(
        f"estimate for {NATION:,} households (per point {per_point * 1e6:.1f} busy worker-µs, "
        f"idle share {share['idle']:.0%}):"
    )
    print(f"  {'workers':>7} {'compute h':>10} {'scheduler h':>12} {'network h':>10} {'hours':>8}")
    for row in table:
        print(
            f"  {row['workers']:>7} {row['compute_h']:>10.2f} {row['scheduler_h']:>12.3f} "
            f"{row['network_h']:>10.3f} {row['hours']:>8.2f}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    result = {
        "households": points,
        "cities": len(cities),
        "grids": len(grids),
        "files": files,
        "workers": workers,
        "load_average": os.getloadavg()[0],
        "generate_seconds": round(gen_s, 1),
        "assign_seconds": wall,
        "points_per_second": round(points / wall),
        "points_per_second_per_worker": round(points / wall / workers),
        "worker_seconds": {k: round(v, 2) for k, v in phases.items()},
        "share": share,
        "peak_memory_mib": memory,
        "anchor": {
            "partition_points": n,
            "sjoin_seconds": round(sjoin_s, 3),
            "batch_join_seconds": round(ours_s, 3),
            "read_seconds": round(read_s, 3),
            "ratio_to_sjoin": round(ours_s / sjoin_s, 2),
        },
        "per_point_worker_us": round(per_point * 1e6, 2),
        "estimate": table,
        "balance": balance,
        "summary": summary,
    }
    (OUT / "batch.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"written to {OUT / 'batch.json'}")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
