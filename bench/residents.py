"""What a resident's matter costs next to a staff report, measured in the same run.

Run::

    .venv/bin/python bench/residents.py [--n 200] [--keep]

``gridgeo serve`` runs as a subprocess on a fresh data folder (embedded durable PostGIS, the
demo city), with the residents' daily limits raised out of the way. One client alternates, one
request at a time, a staff report (``POST /incidents``, JSON, a patrol token: the anchor, the
project's hot path) and a resident's matter (``POST /resident/matters``, JSON, no account: the
category, point and limit checks, the grid lookup, the insert), each at a random point inside
the leaf grids, each with its own ``Idempotency-Key``. Interleaved, so load on the shared
machine falls on both alike. Prints the medians and the ratio; figures go to
``bench/out/residents.json``. Not a target: the resident's path is not a hot path; the figure
says what it costs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench.common import free_port, write_json  # noqa: E402
from bench.servers import GRIDGEO, PHONE_PASSWORD, ServerProcess, add_phones, random_points  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="requests of each kind")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    from gridgeo.db import make_engine
    from gridgeo.embedded import EmbeddedCluster

    root = Path(tempfile.mkdtemp(prefix="gridgeo-res-"))
    os.chmod(root, 0o755)
    data_dir = root / "state"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env |= {"GRIDGEO_DATA_DIR": str(data_dir), "GRIDGEO_RESIDENT_PER_ADDRESS_PER_DAY": "1000000",
            "GRIDGEO_RESIDENT_PER_PHONE_PER_DAY": "1000000"}  # fmt: skip
    server = ServerProcess([GRIDGEO, "serve", "--port", str(port)], env, port, root / "serve.log")
    print(f"starting gridgeo serve on {data_dir} …", flush=True)
    engine = None
    try:
        print(f"  up in {server.start():.1f} s", flush=True)
        engine = make_engine(EmbeddedCluster(data_dir).url, pool_size=2)
        [phone] = add_phones(engine, 1, "res")
        with engine.connect() as conn:
            points = random_points(conn, 2 * args.n, np.random.default_rng(1))
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as c:
            tok = c.post("/auth/token", data={"username": phone, "password": PHONE_PASSWORD})
            staff = {"Authorization": f"Bearer {tok.json()['access_token']}"}
            times: dict[str, list[float]] = {"staff": [], "resident": []}
            for i in range(2 * args.n + 20):  # the first 20: warm-up, not counted
                lon, lat = points[i % len(points)]
                body = {"lon": lon, "lat": lat, "category": "sanitation", "description": "bench"}
                kind = "staff" if i % 2 == 0 else "resident"
                headers = {"Idempotency-Key": str(uuid.uuid4())}
                t0 = time.perf_counter()
                if kind == "staff":
                    r = c.post("/incidents", json=body, headers=headers | staff)
                else:
                    body["token"] = secrets.token_urlsafe(32)
                    r = c.post("/resident/matters", json=body, headers=headers)
                elapsed = time.perf_counter() - t0
                if r.status_code != 201:
                    raise SystemExit(f"{kind}: {r.status_code} {r.text}")
                if i >= 20:
                    times[kind].append(elapsed * 1000)
    finally:
        if engine is not None:
            engine.dispose()
        server.stop()
        if not args.keep:
            EmbeddedCluster(data_dir).stop(mode="immediate")
            shutil.rmtree(root, ignore_errors=True)
    med = {k: round(statistics.median(v), 2) for k, v in times.items()}
    result = {"n": args.n, "median_ms": med, "ratio": round(med["resident"] / med["staff"], 2),
              "load_average": os.getloadavg()}  # fmt: skip
    print(f"median ms: staff report {med['staff']}, resident's matter {med['resident']} "
          f"(×{result['ratio']} the staff report); load average {result['load_average']}")  # fmt: skip
    write_json("residents", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
