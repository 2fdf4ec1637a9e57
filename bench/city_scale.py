"""Benchmark: a city at several sizes in one run, each figure beside its anchor, and the shape
of growth.

Run::

    .venv/bin/python bench/city_scale.py [--sizes 100000 1000000 10000000]
        [--cache-dir bench/out/city_scale] [--runs 3] [--locate 5000] [--page]
        [--incidents] [--evaluation]

For each size (households; grids: 10,000 up to 1,000,000 households, 30,000 above, or
``--grids``) one durable embedded PostGIS cluster is kept under ``--cache-dir`` (the synthetic
city of bench/city.py, generated and loaded once, reused by later runs: generating and loading
10,000,000 households takes minutes). On it, in this order, each as its own process (the
benchmarks' own code, so that a figure here is the figure there):

* bench/assign.py: the load (timed when the cache was made), bulk assignment + commit by the
  in-memory join and by the SQL statements against ``geopandas.sjoin``, interleaved run by
  run, every household compared with sjoin and the SQL rule (above ``--check-up-to``: the
  in-memory join and sjoin only); ``locate()`` and ``GET /locate`` (5 % of the points outside
  every grid);
* bench/maps.py ``--tiles-only`` (or the whole of it with ``--page``: ``/maps/grids`` drawn in
  Chromium against the naive Folium page): uncached z12 and z14 tiles;
* bench/workload.py: the workload report of every level from the kept sums per grid
  (``grid_households``) against summing the households for the request;
* at the largest size only, with ``--load``: bench/load.py (the streaming import of the
  city's households from GeoParquet against a ``psql \\copy`` into an unindexed table);
  with ``--incidents``: bench/incidents_load.py (``POST /incidents``
  against the one-statement anchor; its own demo city), and with ``--evaluation``:
  bench/evaluation.py (a month's evaluation over 1,000,000 incidents; its own city).

It prints one table of every figure with its anchor and ratio, and "the shape of growth": bulk
assign, locate and a tile at each size, with the factor per tenfold. Everything goes to
``bench/out/city_scale.json`` (``--out``); each benchmark's own JSON is kept in
``bench/out/city_scale/<size>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PY = sys.executable


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge:
        return merge(args)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(args.cache_dir, 0o755)
    result: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}, "sizes": {}}
    result["load_average_start"] = os.getloadavg()
    sizes: dict[str, dict[str, object]] = result["sizes"]  # type: ignore[assignment]
    for households in sorted(args.sizes):
        grids = args.grids or (10_000 if households <= 1_000_000 else 30_000)
        key = f"{households}"
        data_dir = args.cache_dir / f"h{households}_g{grids}"
        data_dir.mkdir(exist_ok=True)
        os.chmod(data_dir, 0o755)
        print(f"\n=== {households:,} households, {grids:,} grids ({data_dir}) ===", flush=True)
        entry: dict[str, object] = {"grids": grids, "load_average": os.getloadavg()}
        common = [
            "--grids",
            str(grids),
            "--households",
            str(households),
            "--data-dir",
            str(data_dir),
        ]
        entry["assign"] = run(
            "assign",
            [
                *common,
                *("--runs", str(args.runs), "--locate", str(args.locate)),
                *(["--methods", "memory", "--no-check"] if households > args.check_up_to else []),
            ],
            key,
        )
        setup = entry["assign"].get("setup", {}) if entry["assign"] else {}
        load_file = data_dir / "city-scale-load.json"
        if isinstance(setup, dict) and not setup.get("reused") and "load_s" in setup:
            load_file.write_text(json.dumps({"load_s": setup["load_s"], "at": time.time()}))
        if load_file.exists():
            entry["load"] = json.loads(load_file.read_text())
        maps_args = [*common, "--tile-runs", str(args.tile_runs), "--runs", str(args.page_runs)]
        if not args.page:
            maps_args.append("--tiles-only")
        entry["maps"] = run("maps", maps_args, key)
        entry["workload"] = run("workload", ["--data-dir", str(data_dir)], key)
        sizes[key] = entry
    top = str(max(args.sizes))
    if args.incidents:
        reuse = ["--data-dir", str(args.incidents_data_dir)] if args.incidents_data_dir else []
        sizes[top]["incidents_load"] = run(
            "incidents_load",
            ["--runs", str(args.runs), "--seconds", "8", "--incidents", "1000000", *reuse],
            top,
        )
    if args.evaluation:
        reuse = ["--data-dir", str(args.evaluation_data_dir)] if args.evaluation_data_dir else []
        sizes[top]["evaluation"] = run("evaluation", ["--runs", "3", *reuse], top)
    if args.load:  # bench/load.py: the streaming import of a GeoParquet file vs psql \copy
        sizes[top]["load_stream"] = run("load", ["--households", top, "--runs", "1"], top)
    result["load_average_end"] = os.getloadavg()
    result["table"] = figures(sizes)
    result["growth"] = growth(sizes)
    print_tables(result)
    path = args.out
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {path}")
    return 0


def merge(args: argparse.Namespace) -> int:
    """Print one table from the JSON of several runs (e.g. sizes run one after another)."""
    sizes: dict[str, dict[str, object]] = {}
    for path in args.merge:
        sizes.update(json.loads(Path(path).read_text())["sizes"])
    sizes = dict(sorted(sizes.items(), key=lambda kv: int(kv[0])))
    result: dict[str, object] = {"merged": [str(p) for p in args.merge], "sizes": sizes}
    result["table"] = figures(sizes)
    result["growth"] = growth(sizes)
    print_tables(result)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--grids", type=int, default=0, help="grids at every size (default by size)")
    p.add_argument("--cache-dir", type=Path, default=OUT / "city_scale")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--locate", type=int, default=5000)
    p.add_argument("--tile-runs", type=int, default=100)
    p.add_argument("--page", action="store_true", help="draw /maps/grids in Chromium too")
    p.add_argument("--page-runs", type=int, default=3)
    p.add_argument("--incidents", action="store_true", help="run bench/incidents_load.py")
    p.add_argument("--evaluation", action="store_true", help="run bench/evaluation.py")
    p.add_argument("--incidents-data-dir", type=Path, default=None,
                   help="a data folder bench/incidents_load.py keeps its 1,000,000 incidents in")  # fmt: skip
    p.add_argument("--evaluation-data-dir", type=Path, default=None,
                   help="a data folder bench/evaluation.py keeps its city in")  # fmt: skip
    p.add_argument("--load", action="store_true", help="run bench/load.py at the largest size")
    p.add_argument("--out", type=Path, default=OUT / "city_scale.json")
    p.add_argument("--check-up-to", type=int, default=1_000_000,
                   help="above this size: time only the in-memory join, skip the SQL one and the "
                   "household-by-household comparison (minutes each at 10,000,000)")  # fmt: skip
    p.add_argument("--merge", type=Path, nargs="+", help="only print the tables of these runs")
    return p.parse_args(argv)


def run(name: str, argv: list[str], size: str) -> dict[str, object]:
    """Run ``bench/<name>.py``; its JSON is kept as ``bench/out/city_scale/<size>/<name>.json``."""
    print(f"--- bench/{name}.py {' '.join(argv)}", flush=True)
    folder = OUT / "city_scale" / size
    env = os.environ | {"GRIDGEO_BENCH_OUT": str(folder)}
    started = time.perf_counter()
    proc = subprocess.run(
        [PY, str(ROOT / "bench" / f"{name}.py"), *argv], cwd=ROOT, env=env, check=False
    )
    took = round(time.perf_counter() - started, 1)
    out = folder / f"{name}.json"
    if proc.returncode != 0 or not out.exists():
        print(f"    bench/{name}.py failed (exit {proc.returncode})")
        return {"failed": proc.returncode, "wall_s": took}
    data = json.loads(out.read_text())
    data["wall_s"] = took
    return data


def _get(node: object, *keys: str) -> float | None:
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node if isinstance(node, int | float) else None


Row = tuple[str, str, float | None, str, float | None, str]


def figures(sizes: dict[str, dict[str, object]]) -> list[Row]:
    """(size, work, gridgeo, unit, anchor, goal) for every figure measured."""
    rows: list[Row] = []
    for size, e in sizes.items():
        a = e.get("assign", {})
        m = e.get("maps", {})
        n = f"{int(size):,}"
        rows.append(
            (
                n,
                "load households (at cache creation)",
                _get(e, "load", "load_s"),
                "s",
                None,
                "10M: <= 40 s",
            )
        )
        rows.append(
            (
                n,
                "bulk assign + commit (memory) vs sjoin",
                _get(a, "bulk", "median_s"),
                "s",
                _get(a, "sjoin", "median_s"),
                "<= 1.5x",
            )
        )
        pair = _paired_ratio(a, "bulk")
        if pair is not None:
            rows.append((n, "  the same, median of run-by-run ratios", pair, "x", 1.0, "<= 1.5x"))
        rows.append(
            (
                n,
                "bulk assign + commit (SQL) vs sjoin",
                _get(a, "bulk_sql", "median_s"),
                "s",
                _get(a, "sjoin", "median_s"),
                "",
            )
        )
        rows.append(
            (
                n,
                "locate() p99 all vs inside only",
                _get(a, "locate_db", "all", "p99"),
                "ms",
                _get(a, "locate_db", "inside", "p99"),
                "<= 1 ms",
            )
        )
        rows.append(
            (n, "GET /locate p99", _get(a, "locate_http", "all", "p99"), "ms", None, "<= 3 ms")
        )
        for z in (12, 14):
            rows.append(
                (
                    n,
                    f"z{z} grid tile uncached p50",
                    _get(m, "tiles", f"z{z}_uncached_ms", "p50"),
                    "ms",
                    None,
                    "",
                )
            )
            rows.append(
                (
                    n,
                    f"z{z} all-levels tile uncached p50",
                    _get(m, "tiles", f"z{z}_all_levels_gzip_uncached_ms", "p50"),
                    "ms",
                    None,
                    "",
                )
            )
        rows.append(
            (
                n,
                "/maps/grids warm vs naive Folium",
                _get(m, "draw_ms", "maps_grids_median"),
                "ms",
                _get(m, "draw_ms", "anchor_median"),
                "<= 0.2x",
            )
        )
        rows.append(
            (
                n,
                "/maps/grids cold vs naive Folium",
                _get(m, "draw_ms", "maps_grids_cold_cache"),
                "ms",
                _get(m, "draw_ms", "anchor_median"),
                "<= 0.4x",
            )
        )
        w = e.get("workload", {})
        for level in ("district", "street", "community", "grid"):
            rows.append(
                (
                    n,
                    f"workload report, every {level} (kept sums vs summing households)",
                    _ms(_get(w, "levels", level, "median_s")),
                    "ms",
                    _ms(_get(w, "levels", level, "anchor_median_s")),
                    "",
                )
            )
        again = _get(a, "bulk", "again_median_s")
        if again is not None:
            rows.append((n, "bulk assign again over its answer (0 changed)", again, "s", None, ""))
        ev = e.get("evaluation")
        if isinstance(ev, dict):
            q = ev.get("queries", {})
            d = ev.get("dashboard", {})
            for work, ours, theirs, goal in (
                ("evaluation: month of every community vs plain GROUP BY",
                 _get(q, "month_ours", "median_ms"), _get(q, "month_anchor", "median_ms"),
                 "<= 300 ms"),
                ("evaluation: a year's trend (settled months kept) vs GROUP BY",
                 _get(q, "trend_ours", "median_ms"), _get(q, "trend_anchor", "median_ms"),
                 "<= 500 ms"),
                ("evaluation: the very first year's trend",
                 _get(q, "trend_ours", "first_ms"), _get(q, "trend_anchor", "median_ms"),
                 "<= 500 ms"),
                ("/dashboard drawn, the server's first load",
                 _get(d, "first_ms"), _get(q, "month_anchor", "median_ms"), "<= 2000 ms"),
                ("/dashboard drawn, first after a restart",
                 _get(d, "restarted", "first_ms"), _get(q, "month_anchor", "median_ms"),
                 "<= 2000 ms"),
                ("/dashboard drawn, later loads (median)",
                 _get(d, "median_ms"), _get(q, "month_anchor", "median_ms"), "<= 2000 ms"),
            ):  # fmt: skip
                rows.append((n, work, ours, "ms", theirs, goal))
        ld = e.get("load_stream")
        if isinstance(ld, dict):
            rows.append((n, "import households (GeoParquet) vs psql \\copy floor",
                         _get(ld, "import_median_s"), "s", _get(ld, "floor_median_s"),
                         "10M: <= 40 s"))  # fmt: skip
        inc = e.get("incidents_load")
        if isinstance(inc, dict):
            for w in ("1", "2"):
                rows.append(
                    (
                        n,
                        f"POST /incidents req/s, {w} worker(s), vs minimal",
                        _get(inc, "medians", w, "closed", "product", "rps"),
                        "req/s",
                        _get(inc, "medians", w, "closed", "minimal", "rps"),
                        ">= 1.0x",
                    )
                )
    return rows  # fmt: skip


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 1)


def _paired_ratio(a: object, key: str) -> float | None:
    """The median over runs of (gridgeo run i) / (sjoin run i): the runs are interleaved, so
    each pair shared the machine's load of its moment."""
    if not isinstance(a, dict):
        return None
    ours = a.get(key, {}).get("runs_s") if isinstance(a.get(key), dict) else None
    theirs = a.get("sjoin", {}).get("runs_s") if isinstance(a.get("sjoin"), dict) else None
    if not ours or not theirs or len(ours) != len(theirs):
        return None
    return round(statistics.median(o / t for o, t in zip(ours, theirs, strict=True)), 3)


def growth(sizes: dict[str, dict[str, object]]) -> dict[str, dict[str, float | None]]:
    """Bulk assign, locate and tiles at each size (the shape of growth)."""
    out: dict[str, dict[str, float | None]] = {}
    for size, e in sizes.items():
        a, m = e.get("assign", {}), e.get("maps", {})
        out[size] = {
            "bulk_assign_s": _get(a, "bulk", "median_s"),
            "sjoin_s": _get(a, "sjoin", "median_s"),
            "locate_p50_ms": _get(a, "locate_db", "all", "p50"),
            "locate_p99_ms": _get(a, "locate_db", "all", "p99"),
            "z14_tile_p50_ms": _get(m, "tiles", "z14_uncached_ms", "p50"),
            "z12_tile_p50_ms": _get(m, "tiles", "z12_uncached_ms", "p50"),
        }
    return out


def print_tables(result: dict[str, object]) -> None:
    rows: list[Row] = result["table"]  # type: ignore[assignment]
    print("\n" + "-" * 110)
    print(
        f"{'households':>11}  {'work':52} {'gridgeo':>10} {'anchor':>10} {'unit':6} {'ratio':>7}  goal"
    )
    for size, work, ours, unit, anchor, goal in rows:
        if ours is None and anchor is None:
            continue
        ratio = f"{ours / anchor:.2f}" if ours and anchor else ""
        shown = "n/a" if ours is None else f"{ours:,.2f}"
        shown_a = "" if anchor is None else f"{anchor:,.2f}"
        print(f"{size:>11}  {work:52} {shown:>10} {shown_a:>10} {unit:6} {ratio:>7}  {goal}")
    print("-" * 110)
    g: dict[str, dict[str, float | None]] = result["growth"]  # type: ignore[assignment]
    keys = list(next(iter(g.values())).keys()) if g else []
    print("\nthe shape of growth (medians):")
    print(f"{'households':>11}  " + "  ".join(f"{k:>16}" for k in keys))
    for size, row in g.items():
        print(
            f"{int(size):>11,}  "
            + "  ".join(f"{'n/a' if row[k] is None else f'{row[k]:,.3f}':>16}" for k in keys)
        )
    sizes = sorted(g, key=int)
    for lo, hi in zip(sizes, sizes[1:], strict=False):
        f = int(hi) / int(lo)
        parts = []
        for k in keys:
            a, b = g[lo][k], g[hi][k]
            if a and b:
                parts.append(f"{k} x{b / a:.2f}")
        print(f"  {int(lo):,} -> {int(hi):,} (x{f:g}): " + ", ".join(parts))


if __name__ == "__main__":
    raise SystemExit(main())
