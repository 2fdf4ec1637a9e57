"""Benchmark: bulk assignment and single-point locate against a geopandas anchor.

Run::

    .venv/bin/python bench/assign.py [--grids 10000] [--households 1000000]
                                     [--data-dir DIR] [--keep]

In one run, on a private durable PostGIS cluster (or ``GRIDGEO_DATABASE_URL``):

(a) ``gridgeo.bulk_assign.assign_households`` + commit for every household, starting from
    unassigned (before each run: empty household_grid, VACUUM, CHECKPOINT), median of
    ``--runs``; both methods: the in-memory join (the default) and the SQL statements; the
    in-memory join once more over its own stored answer (a re-run, or a redraw that moves
    few: only changed rows are written);
(b) the anchor: ``geopandas.sjoin(points, leaf grids, predicate="within")``, median;
    (a) and (b) are interleaved run by run, so the shared machine's noise falls on both;
(c) ``gridgeo.assign.locate`` for 10,000 random points (5 % outside every grid) on one
    connection, and ``GET /locate`` on a real uvicorn server with one keep-alive client, each
    request followed by ``GET /bench/hello`` (the stack's floor, the anchor); p50/p99 of inside
    and outside points apart and together, free and pinned (client on one core, the backend
    and uvicorn on the other, as ``taskset`` pins, at real-time priority as ``chrt -f 1``
    gives: out of the CPU queue of the shared machine), in alternating rounds, with the load
    average of each round (``--locate-only`` runs (c) alone).

The database's answers are checked against sjoin (points on a shared edge, which ``within``
leaves out, are checked against the covers rule: smallest code). Figures go to
``bench/out/assign.json``.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import geopandas  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import Connection, Engine, event, text  # noqa: E402

from bench.city import City  # noqa: E402
from bench.common import (  # noqa: E402
    BenchDatabase,
    api_key,
    api_server,
    ensure_city,
    latency_summary,
    median,
    open_bench_database,
    server_facts,
    wait_for_file,
    write_json,
)
from gridgeo.assign import locate  # noqa: E402
from gridgeo.bulk_assign import PICK_SQL, assign_households  # noqa: E402

RESET_SQL = "TRUNCATE household_grid"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"gridgeo assignment benchmark: {args.grids:,} grids, {args.households:,} points")
    db = open_bench_database(args.data_dir)
    result: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        city, facts = ensure_city(
            db, grids=args.grids, households=args.households, seed=args.seed, order=args.order
        )
        result["setup"] = facts
        result["server"] = server_facts(db.engine)
        print(f"  city: {facts}; server: {result['server']}")
        if not args.locate_only:
            methods = tuple(m for m in ("sql", "memory") if m in args.methods)
            bulk, expected = bench_bulk(db.engine, city, args.runs, methods, not args.no_check)
            result["sjoin"] = bulk["sjoin"]
            result["bulk"] = bulk.get("memory") or bulk["sql"]
            if "sql" in bulk and "memory" in bulk:
                result["bulk_sql"] = bulk["sql"]
            if expected is not None:
                # the last run written: compare it with sjoin + the edge rule, then let the SQL
                # rule re-evaluate it (nothing may change)
                result["agreement_bulk"] = check_bulk(db.engine, city, expected)
                with db.engine.begin() as conn:
                    again = assign_households(conn, method="sql")
                result["agreement_bulk"]["sql_rule_changes_after_memory"] = again.changed
                print(f"    the SQL rule over the last answer changes {again.changed} households")
            if args.explain:
                result["explain_pick"] = explain_pick(db.engine)
        lon, lat, inside = locate_points(city, args.locate, args.seed + 1)
        result["locate_db"], answers = bench_locate_db(db.engine, lon, lat, inside)
        result["agreement_locate"] = check_locate(city, lon, lat, answers)
        if not args.no_http:
            result["locate_http"] = bench_locate_http(db, lon, lat, inside, answers, args.http_wait)
    finally:
        db.close(keep=args.keep)
        if args.keep and db.cluster is not None:
            print(f"  kept the cluster in {db.data_dir}: {db.url}")
    summarise(result)
    path = write_json("assign", result)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--grids", type=int, default=10_000)
    p.add_argument("--households", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path, default=None, help="embedded cluster folder (reused)")
    p.add_argument("--keep", action="store_true", help="leave the cluster running with the data")
    p.add_argument("--runs", type=int, default=3, help="timed runs of (a) and (b)")
    p.add_argument("--locate", type=int, default=10_000, help="points for (c)")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--order", choices=("random", "spatial"), default="random",
                   help="household row order as loaded (random: as geocoded imports arrive)")  # fmt: skip
    p.add_argument("--no-http", action="store_true", help="skip GET /locate through the API")
    p.add_argument("--locate-only", action="store_true", help="only (c): no bulk assignment")
    p.add_argument("--methods", nargs="+", choices=("sql", "memory"), default=["sql", "memory"],
                   help="bulk assignment methods to time (the SQL one takes minutes at 10M)")  # fmt: skip
    p.add_argument("--no-check", action="store_true",
                   help="skip comparing every household with sjoin and the SQL rule")  # fmt: skip
    p.add_argument("--explain", action="store_true", help="store EXPLAIN ANALYZE of the join")
    p.add_argument("--http-wait", type=float, default=1800, help="seconds to wait for api/app.py")
    return p.parse_args(argv)


# --- (a) bulk assignment ------------------------------------------------------------------


def reset(engine: Engine) -> dict[str, object]:
    """Unassign every household, then VACUUM and CHECKPOINT so each run starts alike."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(RESET_SQL))
        conn.execute(text("VACUUM (ANALYZE) households"))
        try:
            conn.execute(text("CHECKPOINT"))
            return {"checkpoint": True}
        except Exception:  # noqa: BLE001 - needs pg_checkpoint on a shared server
            return {"checkpoint": False}


def bench_bulk(
    engine: Engine,
    city: City,
    runs: int,
    methods: tuple[str, ...] = ("sql", "memory"),
    check: bool = True,
) -> tuple[dict[str, dict[str, object]], np.ndarray | None]:
    """(a) both methods of assign_households and (b) the sjoin anchor, interleaved per run
    (the machine is shared: alternating puts the same noise on all three)."""
    print(
        "(a) assign_households() + commit, from unassigned, and (b) geopandas.sjoin, interleaved:"
    )
    grids = city.leaves_frame()
    points = city.households_frame()
    runs_of: dict[str, list[tuple[float, float, object, dict[str, float]]]] = {
        m: [] for m in methods
    }
    sjoin_s: list[float] = []
    again_s: list[tuple[float, object]] = []
    joined = None
    state: dict[str, object] = {}
    for i in range(runs):
        for method in methods:
            state = reset(engine)
            with engine.connect() as conn, statement_timer(conn) as spent:
                t0 = time.perf_counter()
                trans = conn.begin()
                rep = assign_households(conn, method=method)
                t1 = time.perf_counter()
                trans.commit()
                t2 = time.perf_counter()
            runs_of[method].append((t2 - t0, t2 - t1, rep, dict(spent)))
            top = ", ".join(
                f"{k[:28]} {v:.1f}" for k, v in sorted(spent.items(), key=lambda x: -x[1])[:3]
            )
            print(
                f"  run {i + 1} {method:6}: {t2 - t0:7.2f} s  (commit {1000 * (t2 - t1):.0f} ms; {top})"
            )
            if method == "memory":  # again over the stored answer: nothing changes, no rewrite
                with engine.connect() as conn:
                    t0 = time.perf_counter()
                    trans = conn.begin()
                    rep = assign_households(conn, method=method)
                    trans.commit()
                    again_s.append((time.perf_counter() - t0, rep))
                print(f"  run {i + 1} again : {again_s[-1][0]:7.2f} s  (changed {rep.changed:,})")
        joined = None
        gc.collect()
        t0 = time.perf_counter()
        joined = geopandas.sjoin(points, grids, predicate="within")
        sjoin_s.append(time.perf_counter() - t0)
        print(f"  run {i + 1} sjoin : {sjoin_s[-1]:7.2f} s  ({len(joined):,} pairs)")
    assert joined is not None
    expected = expected_codes(city, city.lon, city.lat, joined) if check else None
    out: dict[str, dict[str, object]] = {}
    for method, got in runs_of.items():
        times = [g[0] for g in got]
        reports = [g[2] for g in got]
        statements: dict[str, list[float]] = {}
        for g in got:
            for key, seconds in g[3].items():
                statements.setdefault(key, []).append(seconds)
        per_statement = {k: median(v) for k, v in statements.items() if median(v) >= 0.005}
        write = [sum(v for k, v in g[3].items() if _is_write(k)) for g in got]
        rep = reports[-1]
        out[method] = {
            "median_s": median(times),
            "runs_s": [round(t, 3) for t in times],
            "commit_median_ms": round(1000 * median([g[1] for g in got]), 1),
            "write_median_s": median(write),
            "compute_median_s": median([t - w for t, w in zip(times, write, strict=True)]),
            "statements_median_s": dict(sorted(per_statement.items(), key=lambda x: -x[1])),
            "checkpoint_before_each_run": state.get("checkpoint"),
            "households": rep.households,  # type: ignore[attr-defined]
            "assigned": rep.assigned,  # type: ignore[attr-defined]
            "changed": rep.changed,  # type: ignore[attr-defined]
            "unassigned": rep.unassigned,  # type: ignore[attr-defined]
            "same_report_every_run": all(r == rep for r in reports),
            "steps_median_s": {
                k: median([r.seconds.get(k, 0.0) for r in reports])  # type: ignore[attr-defined]
                for k in rep.seconds  # type: ignore[attr-defined]
            },
        }
        print(
            f"  {method}: median {out[method]['median_s']:.2f} s; steps {out[method]['steps_median_s']}; {rep}"
        )
    out["sjoin"] = {
        "median_s": median(sjoin_s),
        "runs_s": [round(t, 3) for t in sjoin_s],
        "pairs": len(joined),
    }
    if again_s:  # the re-run over a stored answer (a redraw that moves few: the patch path)
        out["memory"]["again_median_s"] = median([a[0] for a in again_s])
        out["memory"]["again_runs_s"] = [round(a[0], 3) for a in again_s]
        out["memory"]["again_changed"] = again_s[-1][1].changed  # type: ignore[attr-defined]
        out["memory"]["again_steps_median_s"] = {
            k: median([a[1].seconds.get(k, 0.0) for a in again_s])  # type: ignore[attr-defined]
            for k in again_s[-1][1].seconds  # type: ignore[attr-defined]
        }
    if len(methods) == 2:
        out["memory"]["same_report_as_sql"] = runs_of["memory"][-1][2] == runs_of["sql"][-1][2]
    return out, expected


def _is_write(key: str) -> bool:
    """Statements that persist the answer (build, swap and index household_grid)."""
    return "household_grid" in key and not key.startswith("SELECT")


def explain_pick(engine: Engine) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the join that picks each point's grid (rolled back)."""
    sql = PICK_SQL.format(scope_h="", scope_p="")
    select = sql[sql.index("SELECT") :]
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + select)).scalars().all()
        conn.rollback()
    print("    EXPLAIN of the pick join:\n      " + "\n      ".join(plan))
    return list(plan)


@contextmanager
def statement_timer(conn: Connection) -> Iterator[dict[str, float]]:
    """Seconds spent per SQL statement (keyed by its first words) on one connection."""
    spent: dict[str, float] = {}
    started: list[float] = []

    def before(*_: object) -> None:
        started.append(time.perf_counter())

    def after(_conn: object, _cur: object, statement: str, *_: object) -> None:
        key = " ".join(statement.split()[:5])
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - started.pop()

    event.listen(conn, "before_cursor_execute", before)
    event.listen(conn, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(conn, "before_cursor_execute", before)
        event.remove(conn, "after_cursor_execute", after)


def expected_codes(city: City, lon: np.ndarray, lat: np.ndarray, joined) -> np.ndarray:
    """The leaf code each point should get: sjoin's answer; for points in no grid's interior
    (on an edge or outside) the smallest code of the leaves that cover it (None: none)."""
    n = len(lon)
    left = joined.index.to_numpy()
    codes = joined["code"].to_numpy()
    out = np.full(n, None, dtype=object)
    hits = np.bincount(left, minlength=n)
    single = hits[left] == 1
    out[left[single]] = codes[single]
    rest = np.flatnonzero(hits != 1)
    if rest.size:
        out[rest] = covering_codes(city, lon[rest], lat[rest])
    return out


def covering_codes(city: City, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Smallest code of the leaves covering each point (the edge rule); None if none."""
    tree = shapely.STRtree(city.leaf_geoms)
    pts = shapely.points(lon, lat)
    idx_pt, idx_leaf = tree.query(pts, predicate="intersects")
    out = np.full(len(pts), None, dtype=object)
    for p, g in zip(idx_pt.tolist(), idx_leaf.tolist(), strict=True):
        code = city.leaf_codes[g]
        if out[p] is None or code < out[p]:
            out[p] = code
    return out


def check_bulk(engine: Engine, city: City, expected: np.ndarray) -> dict[str, object]:
    """Compare every household's stored grid with the expected code."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(h.location), ST_Y(h.location), g.code FROM households h "
                "LEFT JOIN household_grid a ON a.household_id = h.id "
                "LEFT JOIN grids g ON g.id = a.grid_id ORDER BY h.id"
            )
        ).all()
    lon = np.fromiter((r[0] for r in rows), float, len(rows))
    lat = np.fromiter((r[1] for r in rows), float, len(rows))
    if len(rows) != len(city.lon) or not (
        np.array_equal(lon, city.lon) and np.array_equal(lat, city.lat)
    ):
        return {"checked": 0, "note": "households are not in load order; not compared"}
    got = np.array([r[2] for r in rows], dtype=object)
    bad = np.flatnonzero(got != expected)
    out = {
        "checked": len(rows),
        "agree": len(rows) - int(bad.size),
        "disagree": int(bad.size),
        "outside_every_leaf": int(sum(e is None for e in expected)),
        "examples": [(int(i), str(got[i]), str(expected[i])) for i in bad[:5]],
    }
    print(f"    agreement with sjoin (+ edge rule): {out['agree']:,}/{out['checked']:,}")
    return out


# --- (c) locate ---------------------------------------------------------------------------


def locate_points(city: City, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` shuffled points: 95% uniform inside the city, 5% in a 5 km band around it."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = shapely.total_bounds(city.leaf_geoms)
    m = 0.05
    pool = 4 * n + 1000
    lon = rng.uniform(x0 - m, x1 + m, pool)
    lat = rng.uniform(y0 - m, y1 + m, pool)
    district = shapely.coverage_union_all(city.leaf_geoms)
    covered = shapely.covers(district, shapely.points(lon, lat))
    n_out = n // 20
    pick = np.concatenate([np.flatnonzero(covered)[: n - n_out], np.flatnonzero(~covered)[:n_out]])
    pick = pick[rng.permutation(len(pick))]
    return lon[pick], lat[pick], covered[pick]


def loadavg() -> str:
    """The 1/5/15-minute load averages, as quoted beside every figure (p99 under load is the
    CPU queue of this 2-core machine, not the code)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pin(pids: dict[str, list[int]]) -> dict[str, object]:
    """Pin processes as ``taskset`` does, each group to one core, and give them real-time
    priority as ``chrt -f 1`` does (when allowed): ``{"0": [client], "1": [server pids]}``.

    The client on one core and what serves it (the PostgreSQL backend, uvicorn) on the other.
    On this shared 2-core machine (load 9–11 from other sessions) pinning alone does not take
    the figures out of the CPU queue: a woken process still waits behind the others on its
    core (measured: locate() p99 9.2 ms pinned, 8.3 ms free). With SCHED_FIFO priority 1 it
    runs as soon as it is woken: the figures then measure the work (locate() p99 0.59–0.67 ms
    at load 10.5, 11 ms free in the same run). The processes mostly wait on sockets, so the
    other sessions lose little. Returns what was done, or why not.
    """
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return {"pinned": False, "why": "fewer than two cores"}
    try:
        for core, group in pids.items():
            for tid in _threads(group):
                os.sched_setaffinity(tid, {cores[int(core)]})
    except OSError as exc:
        return {"pinned": False, "why": str(exc)}
    done: dict[str, object] = {"pinned": True, "cores": {cores[int(k)]: v for k, v in pids.items()}}
    try:
        for group in pids.values():
            for tid in _threads(group):
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(1))
        done["realtime"] = "SCHED_FIFO 1"
    except OSError as exc:
        done["realtime"] = f"not allowed: {exc}"
    return done


def unpin(pids: list[int]) -> None:
    for tid in _threads(pids):
        try:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            os.sched_setaffinity(tid, set(range(os.cpu_count() or 1)))
        except OSError:
            pass


def _threads(pids: list[int]) -> list[int]:
    """Every thread of the processes (a policy and an affinity are set per thread: a worker
    thread of uvicorn's pool must be pinned too)."""
    tids = []
    for pid in pids:
        try:
            tids.extend(int(t.name) for t in Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            tids.append(pid)
    return tids


def _split(ns: list[int], inside: np.ndarray) -> dict[str, object]:
    arr = np.array(ns)
    return {
        "all": latency_summary(ns),
        "inside": latency_summary(arr[inside].tolist()),
        "outside": latency_summary(arr[~inside].tolist()),
    }


def bench_locate_db(
    engine: Engine, lon: np.ndarray, lat: np.ndarray, inside: np.ndarray
) -> tuple[dict[str, object], list[str | None]]:
    """locate() on one connection: every point free, then every point pinned, in turns.

    Rounds alternate (free, pinned, free, pinned) so that the machine's load falls on both;
    the figures of each are the latencies of all its rounds together.
    """
    print(f"(c) locate() on one connection, {len(lon):,} points, free and pinned in turns:")
    runs: dict[str, list[int]] = {"free": [], "pinned": []}
    flags: dict[str, list[bool]] = {"free": [], "pinned": []}
    loads: dict[str, list[str]] = {"free": [], "pinned": []}
    answers: list[str | None] = []
    warm = np.random.default_rng(0)
    pinning: dict[str, object] = {}
    with engine.connect() as conn:
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        for a, b in zip(
            warm.uniform(lon.min(), lon.max(), 200),
            warm.uniform(lat.min(), lat.max(), 200),
            strict=True,
        ):
            locate(conn, float(a), float(b))
        half = len(lon) // 2
        for rnd, mode in enumerate(("free", "pinned", "free", "pinned")):
            part = slice(0, half) if rnd < 2 else slice(half, len(lon))
            if mode == "pinned":
                pinning = pin({"0": [os.getpid()], "1": [backend]})
            loads[mode].append(loadavg())
            for a, b in zip(lon[part].tolist(), lat[part].tolist(), strict=True):
                t0 = time.perf_counter_ns()
                loc = locate(conn, a, b)
                runs[mode].append(time.perf_counter_ns() - t0)
                if mode == "free":
                    answers.append(loc.leaf.code if loc.leaf else None)
            flags[mode].extend(inside[part].tolist())
            unpin([os.getpid(), backend])
        conn.rollback()
    out = _split(runs["free"], np.array(flags["free"]))
    out |= {"warmup_calls": 200, "loadavg": loads["free"]}
    out["pinned"] = _split(runs["pinned"], np.array(flags["pinned"])) | {
        "loadavg": loads["pinned"],
        **pinning,
    }
    for mode, node in (("free", out), ("pinned", out["pinned"])):
        print(f"  {mode} (load {', '.join(loads[mode])})")
        for part in ("all", "inside", "outside"):
            print(f"    {part:8} {node[part]}")
    return out, answers


def check_locate(city: City, lon, lat, answers: list[str | None]) -> dict[str, object]:
    """Compare locate's leaf with sjoin ('within') and, on edges, the covers rule."""
    pts = geopandas.GeoDataFrame(geometry=shapely.points(lon, lat), crs="EPSG:4326")
    joined = geopandas.sjoin(pts, city.leaves_frame(), predicate="within")
    n = len(answers)
    expected = expected_codes(city, np.asarray(lon), np.asarray(lat), joined)
    got = np.array(answers, dtype=object)
    bad = np.flatnonzero(got != expected)
    out = {
        "checked": n,
        "agree": n - int(bad.size),
        "examples": [(int(i), str(got[i]), str(expected[i])) for i in bad[:5]],
    }
    print(f"    agreement with sjoin: {out['agree']:,}/{n:,}")
    return out


def _server_pids(engine: Engine) -> list[int]:
    """The uvicorn process this benchmark started and the database backends serving it."""
    me = os.getpid()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and b"uvicorn" in (stat.parent / "cmdline").read_bytes():
                pids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    with engine.connect() as conn:
        backends = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        pids.extend(int(p) for p in backends)
    return pids


def bench_locate_http(
    db: BenchDatabase, lon, lat, inside: np.ndarray, answers: list[str | None], wait_s: float
) -> dict[str, object]:
    """GET /locate on a real uvicorn server, one keep-alive client, free and pinned in turns.

    The server is the product app with the bench anchors (``bench/anchor_app.py``): each
    request to /locate is followed by one to ``GET /bench/hello`` (a constant answer through
    the same stack, middleware and server: the floor any route stands on), so the anchor is
    measured in the same run, under the same load. The client is ``http.client`` (httpx
    costs some 0.3 ms a request of its own).
    """
    print(f"(c) GET /locate on uvicorn, {len(lon):,} sequential requests, one client:")
    if not wait_for_file(ROOT / "api" / "app.py", wait_s):
        print("  api/app.py did not appear; skipped")
        return {"skipped": "api/app.py missing"}
    runs: dict[str, list[int]] = {"free": [], "pinned": []}
    hello: dict[str, list[int]] = {"free": [], "pinned": []}
    flags: dict[str, list[bool]] = {"free": [], "pinned": []}
    loads: dict[str, list[str]] = {"free": [], "pinned": []}
    mismatches = 0
    examples: list[tuple[int, int, str, str | None]] = []
    pinning: dict[str, object] = {}
    factory = "bench.anchor_app:create_anchor_app"
    with api_server(db.url, factory=factory) as base:
        headers = {"Accept": "application/json"}
        probe = httpx.get(f"{base}/locate", params={"lon": float(lon[0]), "lat": float(lat[0])})
        if probe.status_code == 401:  # the API wants an account: a viewer's API key
            headers["X-API-Key"] = api_key(db.engine)
        host, port = base.removeprefix("http://").split(":")
        client = http.client.HTTPConnection(host, int(port), timeout=30)

        def get(path: str) -> tuple[int, bytes]:
            client.request("GET", path, headers=headers)
            resp = client.getresponse()
            return resp.status, resp.read()

        def path_of(a: float, b: float) -> str:
            return f"/locate?{urlencode({'lon': a, 'lat': b})}"

        for i in range(200):
            get(path_of(float(lon[i]), float(lat[i])))
            get("/bench/hello")
        served = _server_pids(db.engine)
        half = len(lon) // 2
        for rnd, mode in enumerate(("free", "pinned", "free", "pinned")):
            part = range(0, half) if rnd < 2 else range(half, len(lon))
            if mode == "pinned":
                pinning = pin({"0": [os.getpid()], "1": served})
            loads[mode].append(loadavg())
            for i in part:
                t0 = time.perf_counter_ns()
                status, raw = get(path_of(float(lon[i]), float(lat[i])))
                body = json.loads(raw)
                runs[mode].append(time.perf_counter_ns() - t0)
                t0 = time.perf_counter_ns()
                get("/bench/hello")
                hello[mode].append(time.perf_counter_ns() - t0)
                if mode == "pinned":
                    continue
                want = answers[i]
                if want is None:
                    ok = status == 404
                else:
                    ok = status == 200 and body.get("grid", {}).get("code") == want
                if not ok:
                    mismatches += 1
                    if len(examples) < 5:
                        examples.append((i, status, str(body)[:200], want))
            flags[mode].extend(bool(inside[i]) for i in part)
            unpin([os.getpid(), *served])
        client.close()
    out = _split(runs["free"], np.array(flags["free"]))
    out |= {
        "anchor_hello": latency_summary(hello["free"]),
        "loadavg": loads["free"],
        "authenticated": "X-API-Key" in headers,
        "mismatches": mismatches,
        "examples": examples,
    }
    out["pinned"] = _split(runs["pinned"], np.array(flags["pinned"])) | {
        "anchor_hello": latency_summary(hello["pinned"]),
        "loadavg": loads["pinned"],
        **pinning,
    }
    for mode, node in (("free", out), ("pinned", out["pinned"])):
        print(f"  {mode} (load {', '.join(loads[mode])})")
        for part in ("all", "inside", "outside", "anchor_hello"):
            print(f"    {part:12} {node[part]}")
    print(f"  answers differing from locate(): {mismatches}")
    return out


# --- report -------------------------------------------------------------------------------


def summarise(r: dict[str, object]) -> None:
    def get(*keys: str) -> float | None:
        node: object = r
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                return None
            node = node[k]
        return node if isinstance(node, int | float) else None

    a, b = get("bulk", "median_s"), get("sjoin", "median_s")
    a_sql = get("bulk_sql", "median_s")
    write, compute = get("bulk", "write_median_s"), get("bulk", "compute_median_s")
    ratios: dict[str, float] = {}
    rows: list[tuple[str, float | None, str, str | None]] = [
        ("(a) assign_households + commit (memory)", a, "s", None),
        ("    of which the write (build, swap, index)", write, "s", None),
        ("    the rest (read, join, choice, commit)", compute, "s", None),
        ("(a') the same by the SQL statements", a_sql, "s", None),
        ("(b) geopandas sjoin (anchor)", b, "s", None),
    ]
    if a and b:
        ratios["a_over_b"] = round(a / b, 2)
        rows.append(("    ratio a/b", ratios["a_over_b"], "x", "<= 1.5"))
    if a_sql and b:
        ratios["a_sql_over_b"] = round(a_sql / b, 2)
        rows.append(("    ratio a'/b", ratios["a_sql_over_b"], "x", None))
    if b and write is not None and compute is not None:
        ratios["write_over_b"] = round(write / b, 2)
        ratios["compute_over_b"] = round(compute / b, 2)
        rows.append(("    ratio write/b", ratios["write_over_b"], "x", None))
        rows.append(("    ratio compute/b", ratios["compute_over_b"], "x", None))
    for label, key in (("locate()", "locate_db"), ("GET /locate", "locate_http")):
        goal = "<= 1 ms" if key == "locate_db" else "<= 3 ms"
        rows.append((f"(c) {label} p50", get(key, "all", "p50"), "ms", None))
        rows.append((f"(c) {label} p99", get(key, "all", "p99"), "ms", goal))
        for part in ("inside", "outside"):
            rows.append((f"    {label} {part} p50", get(key, part, "p50"), "ms", None))
            rows.append((f"    {label} {part} p99", get(key, part, "p99"), "ms", None))
        rows.append((f"    {label} pinned p99", get(key, "pinned", "all", "p99"), "ms", goal))
        for part in ("inside", "outside"):
            rows.append(
                (f"    {label} pinned {part} p99", get(key, "pinned", part, "p99"), "ms", None)
            )
        if key == "locate_http":
            rows.append(
                ("    GET /bench/hello p99 (anchor)", get(key, "anchor_hello", "p99"), "ms", None)
            )
            rows.append(
                (
                    "    GET /bench/hello pinned p99",
                    get(key, "pinned", "anchor_hello", "p99"),
                    "ms",
                    None,
                )
            )
    r["ratios"] = ratios
    print("\n" + "-" * 72)
    print(f"{'figure (medians)':40} {'value':>12} {'':4} {'target':>10}")
    for label, value, unit, target in rows:
        shown = "n/a" if value is None else f"{value:,.3f}"
        print(f"{label:40} {shown:>12} {unit:4} {target or '':>10}")
    print("-" * 72)


if __name__ == "__main__":
    raise SystemExit(main())
