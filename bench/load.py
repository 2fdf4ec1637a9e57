"""Benchmark: loading households from a GeoParquet file against the floor of a plain COPY.

Run::

    .venv/bin/python bench/load.py [--households 10000000] [--grids 30000] [--runs 3]
        [--files /tmp/load-bench] [--chunk-rows 100000] [--data-dir DIR]

The households of bench/city.py's synthetic city (lon/lat, a household count and an address
per point) are written once to ``--files`` (kept between runs, never in the repository): a
GeoParquet file, and the same rows as COPY text for the anchor. Then, on a private durable
PostGIS cluster (fsync on), interleaved run by run:

(a) the anchor, the floor: ``psql \\copy`` of the COPY text into an unindexed table with the
    columns of ``households`` (no index, key, trigger or check), committed;
(b) the import: ``import_households(path.parquet, commit=True, assign=False)`` in a child
    process under ``/usr/bin/time -v`` (its peak RSS), committed: the file read chunk by
    chunk, every row validated, COPY, the GiST index and foreign keys rebuilt (bulk mode);
(c) with ``--in-memory``: ``copy_households`` of the same rows from arrays, committed (how
    bench/city.py loads a city: the 159 s of issue 19 were this path).

Between runs ``households`` is emptied (TRUNCATE), then VACUUM and CHECKPOINT. Medians, the
ratio (b)/(a) and the load average go to stdout and ``bench/out/load.json``. The assignment
that ``gridgeo import households --commit`` runs after the load is bulk assignment, timed
by bench/assign.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pyproj import CRS  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import median, open_bench_database, server_facts, write_json  # noqa: E402
from gridgeo.bulk_load import point_hex, text_cells  # noqa: E402
from gridgeo.db import libpq_conninfo  # noqa: E402

FLOOR_TABLE = """
CREATE TABLE load_floor (location geometry(Point, 4326), household_count integer,
                         address text, external_id text)
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)
    print(f"gridgeo load benchmark: {args.households:,} households ({args.grids:,} grids)")
    parquet, copy_text, facts = ensure_files(args)
    print(f"  files: {parquet} ({parquet.stat().st_size / 1e6:,.0f} MB), {copy_text}; {facts}")
    if args.generate_only:
        return 0
    db = open_bench_database(args.data_dir)
    result: dict[str, object] = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "files": facts,
        "server": server_facts(db.engine),
        "load_average_start": os.getloadavg(),
    }
    runs: dict[str, list[dict[str, float]]] = {"floor": [], "import": [], "dry_run": [],
                                               "in_memory": []}  # fmt: skip
    rows = read_rows(parquet) if args.in_memory else None
    try:
        conninfo = libpq_conninfo(db.url)
        for i in range(args.runs):
            reset(db.engine)
            runs["floor"].append(floor_copy(conninfo, copy_text))
            print(f"  run {i + 1} floor  : {runs['floor'][-1]['s']:8.2f} s  "
                  f"(load {runs['floor'][-1]['load_average']:.1f})", flush=True)  # fmt: skip
            reset(db.engine)
            runs["import"].append(import_run(db.url, parquet, args.chunk_rows))
            r = runs["import"][-1]
            print(f"  run {i + 1} import : {r['s']:8.2f} s  peak RSS {r['peak_rss_mb']:,.0f} MB "
                  f"(load {r['load_average']:.1f}; {r.get('rows', 0):,} rows, "
                  f"bulk {r.get('bulk')})", flush=True)  # fmt: skip
            if rows is not None:
                reset(db.engine)
                runs["in_memory"].append(memory_run(db.engine, rows))
                r = runs["in_memory"][-1]
                print(f"  run {i + 1} memory : {r['s']:8.2f} s  (load {r['load_average']:.1f}): "
                      "copy_households from arrays, as bench/city.py loads", flush=True)  # fmt: skip
            if args.dry_run:
                runs["dry_run"].append(import_run(db.url, parquet, args.chunk_rows, dry=True))
                r = runs["dry_run"][-1]
                print(f"  run {i + 1} dry run: {r['s']:8.2f} s  peak RSS {r['peak_rss_mb']:,.0f} MB "
                      f"(load {r['load_average']:.1f}): reading and validating", flush=True)  # fmt: skip
        with db.engine.connect() as conn:
            result["stored"] = conn.execute(text("SELECT count(*) FROM households")).scalar()
            result["indexes_after"] = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'households'")
            ).scalars().all()  # fmt: skip
    finally:
        db.close(keep=False)
    floor = median([r["s"] for r in runs["floor"]])
    ours = median([r["s"] for r in runs["import"]])
    result |= {
        "runs": runs,
        "floor_median_s": floor,
        "import_median_s": ours,
        "ratio": round(ours / floor, 2) if floor else None,
        "paired_ratios": [
            round(b["s"] / a["s"], 2) for a, b in zip(runs["floor"], runs["import"], strict=True)
        ],
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs["import"]),
        "in_memory_median_s": median([r["s"] for r in runs["in_memory"]])
        if runs["in_memory"]
        else None,
        "dry_run_median_s": median([r["s"] for r in runs["dry_run"]]) if runs["dry_run"] else None,
        "load_average_end": os.getloadavg(),
    }
    start_load = float(result["load_average_start"][0])  # type: ignore[index]
    end_load = float(result["load_average_end"][0])  # type: ignore[index]
    print(
        f"\n  {args.households:,} households: import {ours:.2f} s vs floor (psql \\copy, no "
        f"index) {floor:.2f} s: {result['ratio']}x (run by run {result['paired_ratios']}); "
        f"peak RSS {result['peak_rss_mb_max']:,.0f} MB; load average "
        f"{start_load:.1f} -> {end_load:.1f}"
    )
    path = write_json("load", result)
    print(f"wrote {path}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--households", type=int, default=10_000_000)
    p.add_argument("--grids", type=int, default=0, help="default: 10,000 up to 1M, else 30,000")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunk-rows", type=int, default=100_000)
    p.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "load-bench")
    p.add_argument("--data-dir", type=Path, default=None, help="embedded cluster folder")
    p.add_argument("--generate-only", action="store_true", help="only write the files")
    p.add_argument("--in-memory", action="store_true",
                   help="also time copy_households from arrays (the path of bench/city.py)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="also time a dry run of the import (read and validate, no write)")  # fmt: skip
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.grids:
        args.grids = 10_000 if args.households <= 1_000_000 else 30_000
    return args


def ensure_files(args: argparse.Namespace) -> tuple[Path, Path, dict[str, object]]:
    """The GeoParquet file and the COPY text of the city's households (made once)."""
    args.files.mkdir(parents=True, exist_ok=True)
    stem = args.files / f"households-{args.households}-g{args.grids}-s{args.seed}"
    parquet, copy_text = stem.with_suffix(".parquet"), stem.with_suffix(".copy")
    marker = stem.with_suffix(".json")
    if marker.exists() and parquet.exists() and copy_text.exists():
        return parquet, copy_text, json.loads(marker.read_text()) | {"reused": True}
    from bench.city import build_city

    t0 = time.perf_counter()
    city = build_city(grids=args.grids, households=args.households, seed=args.seed)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_files(city.lon, city.lat, city.counts, np.asarray(city.addresses, dtype=object),
                parquet, copy_text)  # fmt: skip
    facts: dict[str, object] = {"build_s": round(built, 1), "write_s": round(time.perf_counter() - t0, 1),
             "rows": len(city.lon)}  # fmt: skip
    marker.write_text(json.dumps(facts))
    return parquet, copy_text, facts


def write_files(
    lon: np.ndarray,
    lat: np.ndarray,
    counts: np.ndarray,
    addresses: np.ndarray,
    parquet: Path,
    copy_text: Path,
    group: int = 1_000_000,
) -> None:
    """GeoParquet (WKB points, CRS84, row groups of ``group``) and COPY text of the rows."""
    crs = CRS.from_epsg(4326).to_json_dict()
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"], "crs": crs}}}  # fmt: skip
    schema = pa.schema(
        [("household_count", pa.int32()), ("address", pa.string()), ("geometry", pa.binary())],
        metadata={b"geo": json.dumps(geo).encode()},
    )
    with pq.ParquetWriter(parquet, schema) as writer, copy_text.open("w") as out:
        for i in range(0, len(lon), group):
            sl = slice(i, i + group)
            x, y = lon[sl], lat[sl]
            iso = np.empty((len(x), 21), dtype=np.uint8)  # ISO WKB point, little endian
            iso[:, :5] = (1, 1, 0, 0, 0)
            iso[:, 5:13] = np.ascontiguousarray(x, "<f8").view(np.uint8).reshape(-1, 8)
            iso[:, 13:] = np.ascontiguousarray(y, "<f8").view(np.uint8).reshape(-1, 8)
            offsets = np.arange(0, 21 * (len(x) + 1), 21, dtype=np.int32)
            geom = pa.Array.from_buffers(
                pa.binary(), len(x), [None, pa.py_buffer(offsets), pa.py_buffer(iso.tobytes())]
            )
            table = pa.table(
                [pa.array(counts[sl], pa.int32()), pa.array(addresses[sl], pa.string()), geom],
                schema=schema,
            )
            writer.write_table(table)
            hexes = point_hex(x, y).astype("U50").tolist()
            lines = zip(hexes, counts[sl].astype(str).tolist(), text_cells(addresses[sl], len(x)),
                        strict=True)  # fmt: skip
            out.write("\n".join(f"{h}\t{c}\t{a}\t\\N" for h, c, a in lines) + "\n")


def reset(engine: object) -> None:
    """Empty households and the floor table; VACUUM and CHECKPOINT so runs start alike."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[attr-defined]
        conn.execute(text("TRUNCATE households CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS load_floor"))
        conn.execute(text("VACUUM (ANALYZE) households"))
        conn.execute(text("CHECKPOINT"))


def floor_copy(conninfo: str, copy_text: Path) -> dict[str, float]:
    """(a) psql ``\\copy`` into a new unindexed table, one transaction."""
    script = f"BEGIN;\n{FLOOR_TABLE};\n\\copy load_floor FROM '{copy_text}'\nCOMMIT;\n"
    t0 = time.perf_counter()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
                   input=script, text=True, check=True)  # fmt: skip
    return {"s": round(time.perf_counter() - t0, 3), "load_average": os.getloadavg()[0]}


def import_run(url: str, parquet: Path, chunk_rows: int, dry: bool = False) -> dict[str, float]:
    """(b) the import in a child process under /usr/bin/time -v (peak RSS)."""
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()),
           "--child", str(parquet), "--url", url, "--chunk-rows", str(chunk_rows)]  # fmt: skip
    if dry:
        cmd.append("--dry-run")
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the import failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out | {"peak_rss_mb": int(rss.group(1)) / 1024 if rss else -1, "load_average": load}


def read_rows(parquet: Path) -> tuple[object, object, object]:
    """The file's points (shapely), counts and addresses in memory (outside any timing)."""
    import shapely

    table = pq.read_table(parquet)
    points = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    counts = table.column("household_count").to_numpy()
    addresses = table.column("address").to_numpy(zero_copy_only=False)
    return points, counts, addresses


def memory_run(engine: object, rows: tuple[object, object, object]) -> dict[str, float]:
    """(c) ``copy_households`` of in-memory arrays, committed (what ``load_city`` does)."""
    from gridgeo.store import copy_households

    points, counts, addresses = rows
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with engine.begin() as conn:  # type: ignore[attr-defined]
        copy_households(conn, points, counts, addresses=addresses)  # type: ignore[arg-type]
    return {"s": round(time.perf_counter() - t0, 3), "load_average": load}


def child(args: argparse.Namespace) -> int:
    """The import itself (run by :func:`import_run`); prints its figures as one JSON line."""
    from boundaries.households import import_households
    from gridgeo.db import make_engine

    engine = make_engine(args.url, pool_size=1)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        trans = conn.begin()
        report = import_households(conn, args.child, commit=not args.dry_run, assign=False,
                                   address_field="address",
                                   chunk_rows=args.chunk_rows)  # fmt: skip
        t1 = time.perf_counter()
        trans.commit()
    t2 = time.perf_counter()
    engine.dispose()
    print(json.dumps({"s": round(t2 - t0, 3), "commit_s": round(t2 - t1, 3),
                      "rows": report.written or report.features, "bulk": report.plan.get("bulk"),
                      "errors": len(report.errors)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
