"""Reliability run: phones with outboxes, retried and lost replies, a server restart midway.

Run::

    .venv/bin/python bench/incidents_reliability.py [--clients 50] [--reports 10000]
        [--retried 0.10] [--restarts 1] [--signal TERM|KILL] [--workers 1]
        [--data-dir DIR] [--keep] [--seed 1]

``gridgeo serve`` runs as a subprocess on a fresh data folder (embedded durable PostGIS, demo
city 奎文区). Each client is a phone with its own patrol account (area: the whole district)
and an outbox of located reports at random points inside the leaf grids; it sends them one
by one with a client-generated ``Idempotency-Key`` and retries on connection errors, timeouts
and 5xx with backoff, as the report page does. A share of the reports (``--retried``) is sent
more than once with the same key, split in three kinds:

* ``replay``: acknowledged, then sent again (the answer must be 200 ``Idempotent-Replayed``);
* ``lost``: the first attempt is cancelled 2 ms–2 s (log-uniform) after it was sent (the reply
  is lost, or the request is cut off before the server read it), then retried;
* ``race``: two attempts in parallel on two connections.

When half the reports are acknowledged the server gets SIGTERM (or SIGKILL with
``--signal KILL``) and is started again on the same data folder. At the end the database is
checked: exactly one incident per key, none lost, none duplicated, each in the grid that
``gridgeo.assign.locate`` gives for its point, with one ``report`` event, and every answer for
a key names the same incident. Exits 1 when an invariant fails. Figures go to
``bench/out/incidents_reliability.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench.common import free_port, latency_summary, write_json  # noqa: E402
from bench.servers import (  # noqa: E402
    PHONE_PASSWORD,
    ServerProcess,
    add_phones,
    gridgeo_serve,
    random_points,
)

KINDS = ("replay", "lost", "race")
GIVE_UP_S = 180.0  # a phone keeps a report in its outbox this long before the run fails


# --- the reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One report in a phone's outbox."""

    key: str
    lon: float
    lat: float
    category: str
    accuracy_m: float
    kind: str = "plain"

    def body(self) -> dict[str, Any]:
        """The JSON body of ``POST /incidents``."""
        return {"lon": self.lon, "lat": self.lat, "category": self.category,
                "accuracy_m": self.accuracy_m, "description": f"bench {self.key}"}  # fmt: skip


def make_outboxes(
    points: np.ndarray, categories: Sequence[str], n_clients: int, retried: float, prefix: str,
    rng: random.Random,
) -> list[list[Item]]:  # fmt: skip
    """Deal the reports round-robin to the phones; ``retried`` of them get a retry kind."""
    n = len(points)
    special = rng.sample(range(n), round(n * retried))
    kinds = {i: KINDS[j % len(KINDS)] for j, i in enumerate(special)}
    boxes: list[list[Item]] = [[] for _ in range(n_clients)]
    for i, (lon, lat) in enumerate(points):
        item = Item(f"{prefix}-{i:06d}", float(lon), float(lat), rng.choice(categories),
                    round(rng.uniform(3.0, 40.0), 1), kinds.get(i, "plain"))  # fmt: skip
        boxes[i % n_clients].append(item)
    return boxes


# --- the phones -------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the phones saw: every answer by key, attempt latencies and counts."""

    answers: dict[str, list[tuple[int, int, bool]]] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    first_sent: dict[str, float] = field(default_factory=dict)
    latency_ns: list[int] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    rejected: dict[str, str] = field(default_factory=dict)
    undelivered: list[str] = field(default_factory=list)


class Phone:
    """A phone's report page: log in, then empty the outbox in order, retrying until acked."""

    def __init__(
        self, base: str, name: str, items: list[Item], ledger: Ledger, rng: random.Random
    ) -> None:
        self.base, self.name, self.items, self.ledger, self.rng = base, name, items, ledger, rng
        self.token = ""

    async def run(self) -> None:
        """Send every report of the outbox."""
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        timeout = httpx.Timeout(30.0, connect=5.0)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=timeout) as c:
            self.client = c
            await self.login()
            for item in self.items:
                self.ledger.first_sent[item.key] = time.perf_counter()
                await self.deliver(item)

    async def login(self) -> None:
        """Get a bearer token (again after a 401), retrying while the server is away."""
        began = time.monotonic()
        while time.monotonic() - began < GIVE_UP_S:
            try:
                r = await self.client.post(
                    "/auth/token", data={"username": self.name, "password": PHONE_PASSWORD}
                )
                if r.status_code == 200:
                    self.token = r.json()["access_token"]
                    self.ledger.counts["logins"] += 1
                    return
                self.ledger.counts[f"login {r.status_code}"] += 1
            except httpx.TransportError as exc:
                self.ledger.counts[f"login {type(exc).__name__}"] += 1
            await asyncio.sleep(0.2 + self.rng.random() * 0.3)
        raise RuntimeError(f"{self.name} could not log in for {GIVE_UP_S:.0f} s")

    async def deliver(self, item: Item) -> None:
        """One report through its kind of trouble."""
        if item.kind == "lost":
            # on a throwaway client: an httpx pool whose request was cancelled mid-answer can
            # leave a connection checked out for good and stall the phone
            async with httpx.AsyncClient(base_url=self.base, timeout=30.0) as throwaway:
                try:
                    cut = math.exp(self.rng.uniform(math.log(0.002), math.log(2.0)))
                    await asyncio.wait_for(self.attempt(item, throwaway), cut)
                    self.ledger.counts["lost: answered before the cut"] += 1
                except (TimeoutError, httpx.TransportError):
                    self.ledger.counts["lost: reply cut off"] += 1
        if item.kind == "race":
            await asyncio.gather(self.until_acked(item), self.until_acked(item))
        else:
            await self.until_acked(item)
        if item.kind == "replay":
            await self.until_acked(item)

    async def until_acked(self, item: Item) -> None:
        """Retry with backoff until the server answers 200/201 (or refuses the report)."""
        began = time.monotonic()
        delay = 0.05
        while True:
            status = await self.attempt(item)
            if status in (200, 201):
                self.ledger.acked_at.setdefault(item.key, time.perf_counter())
                return
            if status == 401:
                await self.login()
                continue
            if 400 <= status < 500:
                return
            if time.monotonic() - began > GIVE_UP_S:
                self.ledger.undelivered.append(item.key)
                return
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 1.0)

    async def attempt(self, item: Item, client: httpx.AsyncClient | None = None) -> int:
        """One POST; its status (0 for a transport error). Answers are written in the ledger."""
        if not self.token:
            await self.login()
        headers = {"Idempotency-Key": item.key, "Authorization": f"Bearer {self.token}"}
        t0 = time.perf_counter_ns()
        try:
            r = await (client or self.client).post("/incidents", json=item.body(), headers=headers)
        except httpx.TransportError as exc:
            self.ledger.counts[f"transport error: {type(exc).__name__}"] += 1
            return 0
        took = time.perf_counter_ns() - t0
        self.ledger.counts[f"HTTP {r.status_code}"] += 1
        if r.status_code in (200, 201):
            self.ledger.latency_ns.append(took)
            replayed = r.headers.get("Idempotent-Replayed") == "true"
            self.ledger.answers.setdefault(item.key, []).append(
                (r.status_code, int(r.json()["id"]), replayed)
            )
        elif 400 <= r.status_code < 500 and r.status_code != 401:
            self.ledger.rejected[item.key] = f"{r.status_code} {r.text[:300]}"
        return r.status_code


async def run_phones(
    base: str,
    names: Sequence[str],
    boxes: Sequence[list[Item]],
    restarts: Sequence[int],
    restart: Callable[[], dict[str, float]],
    seed: int,
) -> tuple[Ledger, list[dict[str, float]], float]:
    """Run every phone; restart the server each time the acknowledged count reaches a mark.

    Returns:
        The ledger, the restarts (with the acknowledged count at each), the seconds taken.
    """
    ledger = Ledger()
    phones = [Phone(base, n, b, ledger, random.Random(seed * 1000 + i))
              for i, (n, b) in enumerate(zip(names, boxes, strict=True))]  # fmt: skip
    done: list[dict[str, float]] = []

    async def restarter() -> None:
        for mark in restarts:
            while len(ledger.acked_at) < mark:
                await asyncio.sleep(0.02)
            acked = len(ledger.acked_at)
            facts = await asyncio.to_thread(restart)
            done.append({"acked_before": acked, **facts})

    began = time.perf_counter()
    all_phones = asyncio.gather(*(p.run() for p in phones))
    ctl = asyncio.create_task(restarter())
    pending: set[asyncio.Future[Any]] = {all_phones, ctl}
    while not all_phones.done():
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if ctl in finished and ctl.exception() is not None:
            all_phones.cancel()  # the server did not come back: stop at once
            raise RuntimeError("the restart failed") from ctl.exception()
    ctl.cancel()
    all_phones.result()
    return ledger, done, time.perf_counter() - began


# --- the check --------------------------------------------------------------------------------


def verify(
    engine: Engine, boxes: Sequence[list[Item]], ledger: Ledger, prefix: str
) -> dict[str, Any]:
    """Check the invariants against the database; a dict of counts and failure samples."""
    from gridgeo.assign import locate

    items = {it.key: it for box in boxes for it in box}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i.idempotency_key, i.id, g.code, ST_X(i.location), ST_Y(i.location), "
                "(SELECT count(*) FROM incident_events e "
                " WHERE e.incident_id = i.id AND e.action = 'report') "
                "FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id "
                "WHERE i.idempotency_key LIKE :p ORDER BY i.id"
            ),
            {"p": prefix + "-%"},
        ).all()
        per_key = Counter(r[0] for r in rows)
        stored = {r[0]: r for r in rows}
        wrong_grid, moved, events = [], [], []
        for key, row in stored.items():
            it = items.get(key)
            if it is None:
                continue
            if abs(row[3] - it.lon) > 1e-9 or abs(row[4] - it.lat) > 1e-9:
                moved.append(key)
            leaf = locate(conn, it.lon, it.lat).leaf
            if leaf is None or leaf.code != row[2]:
                wrong_grid.append(f"{key}: stored {row[2]}, locate {leaf and leaf.code}")
            if row[5] != 1:
                events.append(f"{key}: {row[5]} report events")
    missing = sorted(set(items) - set(stored))
    unknown = sorted(set(stored) - set(items))
    duplicated = sorted(k for k, c in per_key.items() if c > 1)
    disagree, double_created, not_replayed, acked_missing = [], [], [], []
    for key, answers in ledger.answers.items():
        ids = {a[1] for a in answers}
        if len(ids) > 1 or (key in stored and ids != {stored[key][1]}):
            disagree.append(f"{key}: answers {sorted(ids)}, stored {stored.get(key, (0, None))[1]}")
        if sum(1 for a in answers if a[0] == 201) > 1:
            double_created.append(key)
        if key not in stored:
            acked_missing.append(key)
        if items[key].kind == "replay" and not (answers[-1][0] == 200 and answers[-1][2]):
            not_replayed.append(key)
    unacked = sorted(set(items) - set(ledger.answers))
    failures = {
        "missing": missing, "duplicated": duplicated, "unknown_keys": unknown,
        "acknowledged_but_missing": acked_missing, "answers_disagree": disagree,
        "created_twice": double_created, "replay_not_marked": not_replayed,
        "wrong_grid": wrong_grid, "point_moved": moved, "report_events_not_one": events,
        "unacknowledged": unacked, "rejected": [f"{k}: {v}" for k, v in ledger.rejected.items()],
        "undelivered": ledger.undelivered,
    }  # fmt: skip
    lost_stored = sum(
        1 for it in items.values()
        if it.kind == "lost" and ledger.answers.get(it.key, [(0, 0, False)])[0][0] == 200
    )  # fmt: skip
    return {
        "reports": len(items),
        "stored": len(rows),
        "kinds": dict(Counter(it.kind for it in items.values())),
        "lost_requests_stored_before_retry": lost_stored,
        "failures": {k: len(v) for k, v in failures.items()},
        "samples": {k: v[:5] for k, v in failures.items() if v},
        "ok": not any(failures.values()) and len(rows) == len(items),
    }


# --- the run ----------------------------------------------------------------------------------


def summarise(ledger: Ledger) -> dict[str, Any]:
    """Attempt latencies and the time from first send to acknowledgement."""
    to_ack = [int((ledger.acked_at[k] - ledger.first_sent[k]) * 1e9)
              for k in ledger.acked_at if k in ledger.first_sent]  # fmt: skip
    return {
        "answered_post_ms": latency_summary(ledger.latency_ns),
        "report_to_ack_ms": latency_summary(to_ack),
        "attempts": dict(sorted(ledger.counts.items())),
    }


def print_report(result: dict[str, Any]) -> None:
    """The figures of a run, for people."""
    v, s = result["verify"], result["latency"]
    print(f"\nreports {v['reports']:,} from {result['clients']} phones in {result['seconds']:.1f} s "
          f"({v['reports'] / result['seconds']:.0f} reports/s); retried kinds {v['kinds']}")  # fmt: skip
    for r in result["restarts"]:
        print(f"restart ({result['signal']}) after {r['acked_before']:,} acknowledged: "
              f"stop {r['stop_s']} s, start {r['start_s']} s, down {r['down_s']} s, "
              f"exit code {r['exit_code']}")  # fmt: skip
    print(f"stored {v['stored']:,}; lost requests already stored when retried: "
          f"{v['lost_requests_stored_before_retry']}")  # fmt: skip
    for name, n in v["failures"].items():
        print(f"  {name:<28} {n}")
    print("attempts: " + ", ".join(f"{k} {n:,}" for k, n in s["attempts"].items()))
    for name in ("answered_post_ms", "report_to_ack_ms"):
        q = s[name]
        print(f"{name:<18} n {q.get('n', 0):>6,}  p50 {q.get('p50', 0):8.1f}  p90 "
              f"{q.get('p90', 0):8.1f}  p99 {q.get('p99', 0):8.1f}  max {q.get('max', 0):8.1f}")  # fmt: skip
    for name, sample in v["samples"].items():
        print(f"  {name}: {sample}")
    print("INVARIANTS HOLD" if v["ok"] else "INVARIANTS FAILED")


def reliability_run(
    server: ServerProcess, engine: Engine, *, clients: int, reports: int, retried: float,
    restarts: int, sig: signal.Signals, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Phones against a started ``server`` whose database is ``engine``; the result dict."""
    prefix = f"rel{int(time.time())}{secrets.token_hex(2)}"
    np_rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        points = random_points(conn, reports, np_rng)
        categories = list(
            conn.execute(text("SELECT key FROM incident_categories ORDER BY key")).scalars()
        )
    names = add_phones(engine, clients, prefix)
    boxes = make_outboxes(points, categories, clients, retried, prefix, random.Random(seed))
    marks = [round(reports * (k + 1) / (restarts + 1)) for k in range(restarts)]
    ledger, done, seconds = asyncio.run(
        run_phones(server.base, names, boxes, marks, lambda: server.restart(sig), seed)
    )
    return {
        "clients": clients,
        "signal": sig.name,
        "seconds": round(seconds, 2),
        "restarts": done,
        "verify": verify(engine, boxes, ledger, prefix),
        "latency": summarise(ledger),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reliability benchmark; 0 when every invariant holds."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--retried", type=float, default=0.10, help="share sent more than once")
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--signal", choices=["TERM", "KILL", "INT"], default="TERM")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, help="reuse this data folder (default: temporary)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from gridgeo.db import make_engine
    from gridgeo.embedded import EmbeddedCluster

    temporary = args.data_dir is None
    root = Path(tempfile.mkdtemp(prefix="gridgeo-rel-")) if temporary else args.data_dir
    os.chmod(root, 0o755)  # the cluster's unprivileged user must enter it
    data_dir = root / "state"
    server = gridgeo_serve(data_dir, free_port(), root / "serve.log", args.workers)
    print(f"starting gridgeo serve --workers {args.workers} on {data_dir} …", flush=True)
    engine = None
    try:
        print(f"  up in {server.start():.1f} s", flush=True)
        engine = make_engine(EmbeddedCluster(data_dir).url, pool_size=2)
        result = reliability_run(
            server, engine, clients=args.clients, reports=args.reports, retried=args.retried,
            restarts=args.restarts, sig=signal.Signals[f"SIG{args.signal}"], seed=args.seed,
        )  # fmt: skip
    finally:
        if engine is not None:
            engine.dispose()
        code = server.stop()
        print(f"server stopped (exit code {code}); log: {server.log_path}")
        if temporary and not args.keep:
            EmbeddedCluster(data_dir).stop(mode="immediate")
            shutil.rmtree(root, ignore_errors=True)
    result["workers"] = args.workers
    result["load_average"] = os.getloadavg()
    print_report(result)
    print(f"figures: {write_json('incidents_reliability', result).relative_to(ROOT)}")
    return 0 if result["verify"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
