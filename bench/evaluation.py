"""Benchmark: the evaluation (综合评价) on three years of a large district, against the raw timeline.

Run::

    .venv/bin/python bench/evaluation.py [--incidents 1000000] [--grids 2000]
        [--communities 200] [--streets 12] [--households 300000] [--runs 7]
        [--data-dir DIR] [--keep]

On the synthetic city (bench/city.py) with ``--incidents`` incidents over three years and their
timelines (made by the demo's history simulator, gridgeo/demo/history.py, in 60-day chunks),
in one run, warm, medians of ``--runs``:

* the last full month's evaluation of every community (``gridgeo.evaluation.evaluate``: every
  figure, medians, score, grade, with the open/overdue snapshot and the names) against the
  **anchor**, the plain ``GROUP BY`` over the raw timeline a first version would write (the
  month's events joined to their incidents and grids, counted by community and action — fewer
  figures than ours: no cohorts, no medians, no scores), as the schema has it and again with a
  BRIN index on ``incident_events.at`` made for it;
* a year's trend of the whole district by month (``trend``, with the cache of settled months
  the app keeps: its first run sums them all, later runs only the last month or two; and
  without the cache) against the anchor's ``GROUP BY month, action`` over the year's events;
* ``/dashboard`` drawn in headless Debian Chromium (signed in as a district viewer, until the
  cards, charts, ranking, departments and the map are drawn): the first (cold) load, then the
  median of the rest.

Targets (issue 17): ≤ 300 ms, ≤ 500 ms, ≤ 2 s. Figures go to ``bench/out/evaluation.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, text  # noqa: E402

from bench.common import (  # noqa: E402
    api_server,
    ensure_city,
    median,
    open_bench_database,
    server_facts,
    write_json,
)
from gridgeo.accounts import add_user  # noqa: E402
from gridgeo.bulk_assign import assign_households  # noqa: E402
from gridgeo.demo.history_load import load_history  # noqa: E402
from gridgeo.evaluation import evaluate, trend  # noqa: E402
from gridgeo.evaluation.cache import SettledCache  # noqa: E402
from gridgeo.evaluation.periods import buckets, last_months, month_of, zone  # noqa: E402
from gridgeo.levels import load_hierarchy  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHUNK_DAYS = 60
YEARS = 3
VIEWER = ("bench-leader", "bench-leader-2026")

ANCHOR_MONTH = """
SELECT left(g.code, :len) AS community, e.action, count(*) AS n
FROM incident_events e JOIN incidents i ON i.id = e.incident_id JOIN grids g ON g.id = i.grid_id
WHERE e.at >= :start AND e.at < :end
GROUP BY 1, 2
"""
ANCHOR_TREND = """
SELECT date_trunc('month', e.at AT TIME ZONE :tz) AS month, e.action, count(*) AS n
FROM incident_events e JOIN incidents i ON i.id = e.incident_id JOIN grids g ON g.id = i.grid_id
WHERE e.at >= :start AND e.at < :end AND starts_with(g.code, :parent)
GROUP BY 1, 2
"""
DRAWN = """() => {
    const d = window.gridgeoDashboard, f = document.getElementById('map').contentWindow;
    return !!(d && d.areas && d.trend && d.departments && d.categories && d.states
        && document.querySelector('#ranking tbody tr') && f && f.gridgeoEvaluation
        && f.gridgeoDrawn);
}"""
# Chromium's network waterfall of a load: every request of the page and of its map frame, in ms
# from ``t0`` (performance.now() of the page when the load began), with the server's timing.
WATERFALL = """(t0) => {
    const f = document.getElementById('map').contentWindow;
    const pick = (w, shift) => w.performance.getEntriesByType('resource').map(e => ({
        url: e.name.replace(location.origin, ''), start: Math.round(e.startTime + shift - t0),
        end: Math.round(e.responseEnd + shift - t0), ms: Math.round(e.duration),
        server: Object.fromEntries((e.serverTiming || []).map(s => [s.name, s.duration]))}));
    const rows = pick(window, 0).concat(pick(f, f.performance.timeOrigin - performance.timeOrigin));
    return rows.filter(r => r.end >= 0).sort((a, b) => a.start - b.start);
}"""


def server_load() -> str:
    """The load average now (1, 5, 15 min): the machine is shared, so every figure says it."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(fn: Callable[[], Any], runs: int) -> dict[str, Any]:
    """The first run's seconds and the median of ``runs`` more, in milliseconds."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"first_ms": round(1000 * first, 1), "median_ms": round(1000 * median(times), 1),
            "runs": runs}  # fmt: skip


def make_history(engine: Any, target: int, now: datetime) -> dict[str, Any]:
    """Three years of incidents up to ``now`` unless the database has them already."""
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    if have >= target * 0.95:
        return {"reused": True, "incidents": have}
    if have:
        raise SystemExit(f"the database holds {have} incidents, not about {target}: start afresh")
    with engine.begin() as conn:  # incidents are reported where households live
        if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM household_grid)")).scalar():
            assign_households(conn)
    per_day = target / (365 * YEARS) / 0.92  # weekends are quieter (history.py)
    chunks = 365 * YEARS // CHUNK_DAYS + 1
    start = time.perf_counter()
    made = events = 0
    for k in range(chunks):
        days = min(CHUNK_DAYS, 365 * YEARS - k * CHUNK_DAYS)
        if days <= 0:
            break
        with engine.begin() as conn:
            out = load_history(conn, now, seed=1000 + k, workers=k == 0, per_day=per_day,
                               days=days, offset_days=k * CHUNK_DAYS)  # fmt: skip
        made += out["history_incidents"]
        events += out["history_events"]
        print(f"  history: {made:,} incidents, {events:,} events "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) incidents, incident_events, workers"))
    return {"reused": False, "incidents": made, "events": events,
            "load_s": round(time.perf_counter() - start, 1)}  # fmt: skip


def anchor_month(conn: Connection, now: datetime) -> Any:
    """The anchor: the plain GROUP BY of the last full month's events by community and action."""
    community = load_hierarchy(conn).get("community")
    month = month_of(now, zone()).previous()
    return conn.execute(text(ANCHOR_MONTH), {"len": community.code_length,
                        "start": month.start, "end": month.end}).all()  # fmt: skip


def bench_month_anchor(conn: Connection, now: datetime, runs: int) -> dict[str, Any]:
    """Only the month's anchor (``--dashboard-only``): the figure the dashboard is put beside."""
    return {"month": month_of(now, zone()).previous().label,
            "month_anchor": timed(lambda: anchor_month(conn, now), runs)}  # fmt: skip


def bench_queries(conn: Connection, now: datetime, runs: int) -> dict[str, Any]:
    """Ours against the anchor, the month of every community and the year's trend."""
    h = load_hierarchy(conn)
    tz = zone()
    month = month_of(now, tz).previous()
    district = conn.execute(text(
        "SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id "
        "WHERE l.depth = 0 ORDER BY g.code LIMIT 1")).scalar_one()  # fmt: skip
    community = h.get("community")
    year = buckets(last_months(now, tz), "month")
    out: dict[str, Any] = {"month": month.label, "district": district}

    def ours_month() -> Any:
        return evaluate(conn, h, period=month, now=now, level="community", parent=district)

    cache = SettledCache()  # as the app keeps one: the first run fills it

    def ours_trend() -> Any:
        return trend(conn, h, buckets=year, now=now, parent=district, cache=cache)

    def ours_trend_restarted() -> Any:  # a new process: settled months from the table
        return trend(conn, h, buckets=year, now=now, parent=district, cache=SettledCache())

    def ours_trend_uncached() -> Any:
        return trend(conn, h, buckets=year, now=now, parent=district)

    def anchor_month() -> Any:
        return conn.execute(text(ANCHOR_MONTH), {"len": community.code_length,
                            "start": month.start, "end": month.end}).all()  # fmt: skip

    def anchor_trend() -> Any:
        return conn.execute(text(ANCHOR_TREND), {"tz": "Asia/Shanghai", "start": year[0].start,
                            "end": year[-1].end, "parent": district}).all()  # fmt: skip

    table = ours_month()
    out["communities"] = len(table["rows"])
    out["month_reported"] = table["total"]["reported"]
    out["month_events"] = conn.execute(
        text("SELECT count(*) FROM incident_events WHERE at >= :s AND at < :e"),
        {"s": month.start, "e": month.end},
    ).scalar_one()
    out["month_ours"] = timed(ours_month, runs)
    out["month_anchor"] = timed(anchor_month, runs)
    out["trend_ours"] = timed(ours_trend, runs)
    out["trend_ours_restarted"] = timed(ours_trend_restarted, runs)
    out["trend_ours_uncached"] = timed(ours_trend_uncached, runs)
    out["trend_anchor"] = timed(anchor_trend, runs)
    conn.execute(text("CREATE INDEX bench_events_at ON incident_events USING brin (at)"))
    conn.execute(text("ANALYZE incident_events"))
    out["month_anchor_brin"] = timed(anchor_month, runs)
    out["trend_anchor_brin"] = timed(anchor_trend, runs)
    conn.rollback()  # the anchor's index goes again
    return out


def print_waterfall(title: str, rows: list[dict[str, Any]], drawn_ms: float) -> None:
    """The requests of a load, slowest first (the ten that took longest), with server timing."""
    print(f"  {title}: drawn at {drawn_ms:.0f} ms; {len(rows)} requests, the slowest:")
    for r in sorted(rows, key=lambda r: -r["ms"])[:10]:
        server = ", ".join(f"{k} {v:.0f}" for k, v in r["server"].items())
        print(f"    {r['start']:>5}–{r['end']:>5} ms {r['ms']:>5} ms  {r['url'][:90]}"
              + (f"  [server: {server}]" if server else ""))  # fmt: skip


def bench_dashboard(url: str, period: str, runs: int) -> dict[str, Any]:
    """Time from navigation until the whole dashboard is drawn, signed in as a viewer.

    The viewer signs in on the dashboard's own login form (the shared shell); the first figure
    runs from that click until drawn — the server's first dashboard, nothing of the evaluation
    computed in it yet. The session stays in the browser context, as in a person's browser;
    each further run opens /dashboard in a new page. The network waterfall of the first load
    and of the last is kept (``waterfall_first``, ``waterfall_warm``).
    """
    from playwright.sync_api import sync_playwright

    times = []
    ready = time.perf_counter()  # the server answers /health
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(f"{url}/dashboard?period={period}")
        page.wait_for_selector("#login-form")  # the shared shell asks for the account first
        page.fill("input[name=username]", VIEWER[0])
        page.fill("input[name=password]", VIEWER[1])
        t0 = page.evaluate("performance.now()")
        t = time.perf_counter()
        since_ready = t - ready  # what a warm-up had before the first leader came
        page.click("#login-form button[type=submit]")
        page.wait_for_function(DRAWN, timeout=120000)
        times.append(time.perf_counter() - t)  # the first: from signing in to drawn
        waterfalls = [page.evaluate(WATERFALL, t0)]
        page.close()
        for _ in range(runs):
            page = ctx.new_page()
            t = time.perf_counter()
            page.goto(f"{url}/dashboard?period={period}")
            page.wait_for_function(DRAWN, timeout=120000)
            times.append(time.perf_counter() - t)
            waterfalls.append(page.evaluate(WATERFALL, 0))
            page.close()
        ctx.close()
        browser.close()
    return {"first_ms": round(1000 * times[0], 1), "since_ready_ms": round(1000 * since_ready),
            "median_ms": round(1000 * median(times[1:]), 1) if runs else None, "runs": runs,
            "times_ms": [round(1000 * x, 1) for x in times],
            "waterfall_first": waterfalls[0], "waterfall_warm": waterfalls[-1]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--grids", type=int, default=2000)
    ap.add_argument("--communities", type=int, default=200)
    ap.add_argument("--streets", type=int, default=12)
    ap.add_argument("--households", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the cluster running")
    ap.add_argument("--dashboard-only", action="store_true",
                    help="only /dashboard (the queries' anchor is then only the month's)")  # fmt: skip
    args = ap.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    db = open_bench_database(args.data_dir)
    try:
        _, city = ensure_city(db, grids=args.grids, households=args.households,
                              streets=args.streets, communities=args.communities)  # fmt: skip
        print(f"city: {args.grids} grids, {args.communities} communities ({city})", flush=True)
        history = make_history(db.engine, args.incidents, now)
        with db.engine.begin() as conn:
            if not conn.execute(text("SELECT 1 FROM users WHERE name = :n"),
                                {"n": VIEWER[0]}).first():  # fmt: skip
                district = conn.execute(text(
                    "SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id "
                    "WHERE l.depth = 0 ORDER BY g.code LIMIT 1")).scalar_one()  # fmt: skip
                add_user(conn, name=VIEWER[0], role="viewer", areas=[district],
                         password=VIEWER[1], actor="bench")  # fmt: skip
        with db.engine.begin() as conn:  # nothing kept from an earlier run
            conn.execute(text("DELETE FROM evaluation_settled"))
        with db.engine.connect() as conn:
            if args.dashboard_only:
                queries = bench_month_anchor(conn, now, args.runs)
            else:
                queries = bench_queries(conn, now, args.runs)  # rolled back: keeps nothing
        with api_server(db.url) as base:
            dashboard = bench_dashboard(base, queries["month"], max(3, args.runs // 2))
        with api_server(db.url) as base:  # restarted: settled months from the table
            dashboard["restarted"] = bench_dashboard(base, queries["month"], 1)
        with db.engine.begin() as conn:  # the first server again, without warming
            conn.execute(text("DELETE FROM evaluation_settled"))
        os.environ["GRIDGEO_EVALUATION_WARM"] = "false"
        try:
            with api_server(db.url) as base:
                dashboard["unwarmed"] = bench_dashboard(base, queries["month"], 0)
        finally:
            del os.environ["GRIDGEO_EVALUATION_WARM"]
        with db.engine.connect() as conn:  # the anchor again, after the dashboard's runs
            queries["month_anchor_after"] = timed(lambda: anchor_month(conn, now), args.runs)
        result = {
            "incidents": args.incidents, "history": history, "queries": queries,
            "dashboard": dashboard, "server": server_facts(db.engine),
            "when": now.isoformat(),
        }  # fmt: skip
        write_json("evaluation", result)
        q = queries
        print(f"\n{history['incidents']:,} incidents; month {q['month']}", end="")
        if "communities" in q:
            print(f": {q['communities']} communities, {q['month_reported']:,} reported, "
                  f"{q['month_events']:,} events", end="")  # fmt: skip
        print(f"; load average {server_load()}")
        anchor_ms = median([q["month_anchor"]["median_ms"], q["month_anchor_after"]["median_ms"]])
        for title, d in (
            ("the server's first load", dashboard),
            ("the first load after a restart", dashboard["restarted"]),
            ("the server's first load, not warmed", dashboard["unwarmed"]),
        ):
            title += f" (signed in {d['since_ready_ms']} ms after ready)"
            print_waterfall(title, d["waterfall_first"], d["first_ms"])
        print_waterfall(
            "a warm load (the last)", dashboard["waterfall_warm"], dashboard["times_ms"][-1]
        )
        print(
            f"/dashboard drawn: the server's first load {dashboard['first_ms']:.0f} ms "
            f"({dashboard['first_ms'] / anchor_ms:.1f}× the anchor's month), "
            f"the first after a restart {dashboard['restarted']['first_ms']:.0f} ms "
            f"({dashboard['restarted']['first_ms'] / anchor_ms:.1f}×), the server's first "
            f"without warming {dashboard['unwarmed']['first_ms']:.0f} ms "
            f"({dashboard['unwarmed']['first_ms'] / anchor_ms:.1f}×), then median "
            f"{dashboard['median_ms']:.0f} ms ({dashboard['median_ms'] / anchor_ms:.1f}×; "
            f"target ≤ 2000 each); the anchor, the plain GROUP BY of the month by community, "
            f"median {anchor_ms:.0f} ms (before and after the dashboard's runs: "
            f"{q['month_anchor']['median_ms']:.0f} / {q['month_anchor_after']['median_ms']:.0f})"
        )
        if args.dashboard_only:
            return 0
        cold = q["trend_ours"]["first_ms"]
        uncached = q["trend_ours_uncached"]["median_ms"]
        restarted = q["trend_ours_restarted"]["median_ms"]
        print(f" trend: the first (settled months summed and kept) {cold:.0f} ms; "
              f"in a new process (settled months from the table) median {restarted:.0f} ms; "
              f"never cached, median {uncached:.0f} ms")  # fmt: skip
        for name, target in (("month", 300), ("trend", 500)):
            ours, anchor, brin = (q[f"{name}_ours"], q[f"{name}_anchor"],
                                  q[f"{name}_anchor_brin"])  # fmt: skip
            print(f"{name:>6}: ours {ours['median_ms']:.1f} ms (target ≤ {target}); anchor "
                  f"{anchor['median_ms']:.1f} ms ({ours['median_ms'] / anchor['median_ms']:.2f}×), "
                  f"with a BRIN index {brin['median_ms']:.1f} ms "
                  f"({ours['median_ms'] / brin['median_ms']:.2f}×)")  # fmt: skip
    finally:
        db.close(keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
