"""Shared benchmark plumbing: a database with the synthetic city, timing helpers, the API.

The database is ``GRIDGEO_DATABASE_URL`` when set, otherwise a private embedded cluster in a
temporary folder (or ``--data-dir``) with the normal, durable configuration (fsync and
synchronous commit on): benchmark figures include the cost of writing results durably.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from bench.city import City, build_city, load_city
from gridgeo.db import ensure_postgis, make_engine, run_migrations
from gridgeo.embedded import EmbeddedCluster

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MARKER = "bench-city.json"


@dataclass
class BenchDatabase:
    """The database under test and, when the benchmark started it, its cluster."""

    url: str
    engine: Engine
    cluster: EmbeddedCluster | None = None
    data_dir: Path | None = None
    temporary: bool = False

    def close(self, keep: bool) -> None:
        """Dispose of the engine; stop (and, if temporary, delete) the cluster unless kept."""
        self.engine.dispose()
        if self.cluster is None or keep:
            return
        self.cluster.stop()
        if self.temporary and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.cluster.socket_dir, ignore_errors=True)


def open_bench_database(data_dir: Path | None) -> BenchDatabase:
    """Connect to ``GRIDGEO_DATABASE_URL`` or start an embedded cluster; migrate it."""
    url = os.environ.get("GRIDGEO_DATABASE_URL", "")
    cluster = None
    temporary = False
    if not url:
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="gridgeo-bench-"))
            os.chmod(data_dir, 0o755)  # the server's unprivileged user must enter it
            temporary = True
        cluster = EmbeddedCluster(Path(data_dir))
        url = cluster.start()
    engine = make_engine(url, pool_size=2)
    ensure_postgis(engine)
    run_migrations(engine)
    return BenchDatabase(url, engine, cluster, data_dir, temporary)


def ensure_city(db: BenchDatabase, **params: object) -> tuple[City, dict[str, object]]:
    """Build the city and load it unless this database already holds exactly that city.

    Returns:
        The city and facts about the setup (build and load seconds, whether reused).
    """
    start = time.perf_counter()
    city = build_city(**params)  # type: ignore[arg-type]
    facts: dict[str, object] = {"build_s": round(time.perf_counter() - start, 2)}
    wanted = json.dumps(city.params, sort_keys=True, default=list)
    marker = db.data_dir / MARKER if db.data_dir is not None else None
    with db.engine.connect() as conn:
        n_grids, n_hh = conn.execute(
            text("SELECT (SELECT count(*) FROM grids), (SELECT count(*) FROM households)")
        ).one()
    same_marker = marker is None or (marker.exists() and marker.read_text() == wanted)
    if (n_grids, n_hh) == (len(city.areas), len(city.lon)) and same_marker:
        facts["reused"] = True
        return city, facts
    if n_grids or n_hh:
        raise SystemExit(
            f"the database already holds {n_grids} grids and {n_hh} households that are not "
            "this city; use an empty database (or another --data-dir)"
        )
    start = time.perf_counter()
    with db.engine.begin() as conn:
        load_city(conn, city)
    facts["load_s"] = round(time.perf_counter() - start, 2)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) grids, grid_parts, households"))
    if marker is not None:
        marker.write_text(wanted)
    facts["reused"] = False
    return city, facts


def server_facts(engine: Engine) -> dict[str, str]:
    """Server settings that decide what the figures mean (durability, memory, versions)."""
    names = (
        "server_version",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_compression",
        "shared_buffers",
        "work_mem",
        "max_parallel_workers_per_gather",
        "jit",
    )
    with engine.connect() as conn:
        facts = {n: str(conn.execute(text(f"SHOW {n}")).scalar()) for n in names}
        facts["postgis"] = str(conn.execute(text("SELECT postgis_lib_version()")).scalar())
    return facts


def median(values: Sequence[float]) -> float:
    """The median, rounded to milliseconds."""
    return round(statistics.median(values), 3)


def latency_summary(ns: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99 and max of latencies given in nanoseconds, in milliseconds."""
    ordered = sorted(ns)
    if not ordered:
        return {}

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 3)

    return {"n": len(ordered), "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99),
            "max": round(ordered[-1] / 1e6, 3)}  # fmt: skip


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_file(path: Path, timeout_s: float, poll_s: float = 10.0) -> bool:
    """Wait until ``path`` exists (another engineer may still be writing it)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        print(f"  waiting for {path.relative_to(ROOT)} …", flush=True)
        time.sleep(poll_s)
    return True


@contextmanager
def api_server(
    url: str, startup_timeout_s: float = 120.0, factory: str = "api.app:app_from_env"
) -> Iterator[str]:
    """Run the API (``uvicorn --factory api.app:app_from_env``, or ``factory``) on a free port.

    Yields:
        Its base URL.
    """
    port = free_port()
    env = dict(os.environ, GRIDGEO_DATABASE_URL=url)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", factory,
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the API exited with code {proc.returncode}:\n{tail}")
            try:
                httpx.get(f"{base}/health", timeout=2.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the API did not start in time") from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def api_key(engine: Engine, name: str = "bench") -> str:
    """An API key of a viewer account over the whole city (created on first use)."""
    import secrets

    from gridgeo.accounts import add_user
    from gridgeo.audit import cli_actor
    from gridgeo.tokens import create_api_key

    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).scalar()
        if not exists:
            tops = conn.execute(
                text("SELECT code FROM grids WHERE parent_id IS NULL AND valid_to IS NULL")
            ).scalars()
            add_user(
                conn,
                name=name,
                role="viewer",
                areas=list(tops),
                password=secrets.token_urlsafe(24),
                actor=cli_actor(),
            )
        return create_api_key(conn, name, "bench/assign.py", cli_actor()).token


def write_json(name: str, payload: dict[str, object]) -> Path:
    """Write ``bench/out/<name>.json`` (or into ``$GRIDGEO_BENCH_OUT``: bench/city_scale.py
    gives each size its own folder, so that runs side by side do not overwrite each other)."""
    out = Path(os.environ.get("GRIDGEO_BENCH_OUT") or OUT)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
