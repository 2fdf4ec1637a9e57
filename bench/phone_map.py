"""Benchmark: what the phone map's surroundings cost, against the grid listing of the same view.

Run::

    .venv/bin/python bench/phone_map.py [--runs 30] [--data-dir DIR]

On the demo city (386 grids, its roads and rivers), for the demo patrol account (one grid): the
views the phone page asks for (a 360×220 px map, padded by half) around the patrol's grid at
zoom 16 (where the page opens) and 12 (the widest it allows). For each view, interleaved
``--runs`` times, the median time and the JSON size of :func:`gridgeo.surroundings.surroundings`
(own grid, neighbours' outlines and names, lines clipped and simplified) and of the anchor
:func:`gridgeo.grids.list_grids` of the same view (the unscoped ``GET /grids?level=grid&bbox=``
with exact boundaries and workload figures, no lines): the payload a phone would get without
this route. Figures go to ``bench/out/phone_map.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import median, open_bench_database, write_json  # noqa: E402
from gridgeo.grids import list_grids  # noqa: E402
from gridgeo.levels import load_hierarchy  # noqa: E402
from gridgeo.surroundings import surroundings  # noqa: E402

GRID = "370705001001001"  # the demo patrol's grid
WIDTH, HEIGHT = 360, 220  # the phone map in CSS pixels


def view(lon: float, lat: float, z: int) -> tuple[float, float, float, float]:
    """The phone map's view at zoom ``z`` centred on a point, padded by half each side."""
    deg_per_px = 360.0 / (256 * 2**z)
    half_w = WIDTH * deg_per_px  # half the width, doubled by the padding
    half_h = HEIGHT * deg_per_px * math.cos(math.radians(lat))
    return (lon - half_w, lat - half_h, lon + half_w, lat + half_h)


def ensure_demo(engine) -> None:
    """Load the demo city unless the database holds it."""
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM grids")).scalar():
            return
        from cli.demo import add_demo_accounts
        from gridgeo.demo.city import load_demo

        load_demo(conn)
        add_demo_accounts(conn)


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--data-dir", type=Path)
    args = ap.parse_args()
    db = open_bench_database(args.data_dir)
    try:
        ensure_demo(db.engine)
        out: dict[str, object] = {"load": os.getloadavg(), "runs": args.runs, "views": {}}
        with db.engine.connect() as conn:
            hierarchy = load_hierarchy(conn)
            lon, lat = conn.execute(
                text(
                    "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p"
                    " FROM current_grids WHERE code = :c) s"
                ),
                {"c": GRID},
            ).one()
            for z in (16, 12):
                bbox = view(lon, lat, z)
                ours_s, anchor_s = [], []
                ours = anchor = None
                for _ in range(args.runs):  # interleaved: the same load on both
                    t = time.perf_counter()
                    ours = surroundings(
                        conn, hierarchy, bbox=bbox, z=z, areas=(GRID,), radius_m=1000.0
                    )
                    ours_s.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    anchor = list_grids(conn, hierarchy, level="grid", bbox=bbox)
                    anchor_s.append(time.perf_counter() - t)
                assert ours is not None and anchor is not None
                ours_b = len(json.dumps(ours, ensure_ascii=False).encode())
                anchor_b = len(json.dumps(anchor, ensure_ascii=False).encode())
                row = {
                    "bbox": [round(v, 5) for v in bbox],
                    "grids_sent": len(ours["grids"]["features"]),
                    "lines_sent": len(ours["lines"]["features"]),
                    "anchor_grids": len(anchor["features"]),
                    "ms_median": round(median(ours_s) * 1000, 2),
                    "anchor_ms_median": round(median(anchor_s) * 1000, 2),
                    "time_ratio": round(median(ours_s) / median(anchor_s), 2),
                    "bytes": ours_b,
                    "anchor_bytes": anchor_b,
                    "bytes_ratio": round(ours_b / anchor_b, 2),
                }
                out["views"][f"z{z}"] = row  # type: ignore[index]
                print(f"z{z}: {json.dumps(row, ensure_ascii=False)}")
        out["load_after"] = os.getloadavg()
        print("load before/after:", out["load"], out["load_after"])
        print("written", write_json("phone_map", out))
    finally:
        db.close(keep=args.data_dir is not None)


if __name__ == "__main__":
    main()
