"""What the desk's list costs with the server's judgement (overdue, late, marks) and its filters.

Run::

    .venv/bin/python bench/desk_list.py [--n 200] [--keep]

A private embedded PostGIS in a temporary folder (durable settings), the demo city with its
year of history (about 25,000 incidents, named workers). One connection times, interleaved so
that load on the shared machine falls on all alike, the first page of 50 of the demo
dispatcher's street 370705001, every state (the desk's 全部 queue, ``GET /incidents?area=``;
its dispatch queue holds a handful, the year's history being closed):

- ``anchor``: the list's SELECT as it was before the marks (grid and queue names, the columns of
  one incident): what the desk paid already;
- ``marks``: the list as it is now, with ``overdue``, ``late`` and ``marks`` (12 conditions, one
  indexed EXISTS on the photos);
- ``overdue``, ``returned``, ``photos``: the same page filtered by ``overdue=true`` and by the
  flags ``returned`` (rare) and ``photos`` (rarer still: the scan runs longest).

Prints the medians in milliseconds and each ratio to the anchor; figures go to
``bench/out/desk_list.json``. Not a target: the figure says what the judgement costs a page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import open_bench_database, write_json  # noqa: E402

STREET = "370705001"  # the demo dispatcher's area


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="pages of each kind")
    ap.add_argument("--keep", action="store_true", help="keep the cluster and its data")
    args = ap.parse_args(argv)

    from gridgeo.demo.city import build_demo_city, load_demo
    from gridgeo.demo.history_load import load_history
    from gridgeo.incidents import queries
    from gridgeo.incidents.marks import marks_where

    db = open_bench_database(None)
    try:
        start = time.perf_counter()
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            load_demo(conn, build_demo_city())
            facts = load_history(conn, now)
            conn.execute(text("ANALYZE"))
        load_s = time.perf_counter() - start
        names = "g.name AS grid_name, (SELECT q.name FROM current_grids q WHERE q.code = "
        anchor_columns = names + f"i.queue_area) AS queue_name, {queries.COLUMNS}"
        where = "i.id > 0 AND starts_with(g.code, :street) ORDER BY i.id LIMIT 50"
        params = {"street": STREET, "now": now}
        kinds = {
            "anchor": f"SELECT {anchor_columns} WHERE {where}",
            "marks": f"SELECT {queries.LIST_COLUMNS} WHERE {where}",
        }
        for name, cond in (
            ("overdue", marks_where((), True)[0]),
            ("returned", marks_where(("returned",))[0]),
            ("photos", marks_where(("photos",))[0]),
        ):
            kinds[name] = f"SELECT {queries.LIST_COLUMNS} WHERE {cond} AND {where}"
        times: dict[str, list[float]] = {k: [] for k in kinds}
        rows: dict[str, int] = {}
        with db.engine.connect() as conn:
            for _ in range(args.n):
                for name, sql in kinds.items():
                    t = time.perf_counter()
                    rows[name] = len(conn.execute(text(sql), params).all())
                    times[name].append((time.perf_counter() - t) * 1000)
        med = {k: statistics.median(v) for k, v in times.items()}
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"demo city + history loaded in {load_s:.1f} s: {facts}")
        print(f"load average {' '.join(load)}; {args.n} pages of each kind, interleaved")
        for k, v in med.items():
            print(f"  {k:<9} median {v:7.2f} ms  ×{v / med['anchor']:.2f}  ({rows[k]} rows)")
        write_json(
            "desk_list",
            {"n": args.n, "load_average": load, "median_ms": med, "rows": rows,
             "ratio_to_anchor": {k: v / med["anchor"] for k, v in med.items()},
             "history": facts},
        )  # fmt: skip
    finally:
        db.close(args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
