"""Servers and phones for the incident benches: ``gridgeo serve`` in a subprocess, accounts, points.

Shared by ``bench/incidents_reliability.py`` and ``bench/incidents_load.py`` (and the small
reliability run of the tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import httpx
import numpy as np
import shapely
from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parents[1]
GRIDGEO = str(Path(sys.executable).parent / "gridgeo")
PHONE_PASSWORD = "bench-phone-" + "x" * 12


# --- the server -------------------------------------------------------------------------------


class ServerProcess:
    """An HTTP server in a subprocess that can be stopped by a signal and started again."""

    def __init__(self, cmd: Sequence[str], env: dict[str, str], port: int, log: Path) -> None:
        self.cmd, self.env, self.port, self.log_path = list(cmd), env, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 300.0) -> float:
        """Start and wait until ``/health`` answers 200; the seconds that took."""
        began = time.monotonic()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # SIGKILL goes to the whole group: workers die with it
        )  # fmt: skip
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with code {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(f"{self.base}/health", timeout=2.0).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            if time.monotonic() - began > timeout_s:
                raise RuntimeError(f"the server did not start in {timeout_s:.0f} s:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 120.0) -> int:
        """Send ``sig`` and wait for the exit; the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        if self._log is not None:
            self._log.close()
        return code

    def restart(self, sig: signal.Signals) -> dict[str, float]:
        """Stop with ``sig``, start again; seconds to stop, to start and in total."""
        began = time.monotonic()
        code = self.stop(sig)
        stopped = time.monotonic() - began
        started = self.start()
        return {"exit_code": code, "stop_s": round(stopped, 2), "start_s": round(started, 2),
                "down_s": round(time.monotonic() - began, 2)}  # fmt: skip

    def tail(self, chars: int = 3000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def gridgeo_serve(data_dir: Path, port: int, log: Path, workers: int = 1) -> ServerProcess:
    """``gridgeo serve`` on ``data_dir`` (its own embedded cluster; the demo city if empty)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env["GRIDGEO_DATA_DIR"] = str(data_dir)
    cmd = [GRIDGEO, "serve", "--port", str(port), "--workers", str(workers)]
    return ServerProcess(cmd, env, port, log)


def random_points(conn: Connection, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random points (lon, lat) inside the current leaf grids, grids drawn uniformly."""
    rows = conn.execute(
        text(
            "SELECT ST_AsBinary(g.geom) FROM grids g JOIN levels l ON l.id = g.level_id "
            "WHERE g.valid_to IS NULL AND l.depth = (SELECT max(depth) FROM levels "
            "WHERE id IN (SELECT level_id FROM grids)) ORDER BY g.code"
        )
    ).scalars()
    polys = [shapely.from_wkb(bytes(b)) for b in rows]
    out = np.empty((n, 2))
    pick = rng.integers(len(polys), size=n)
    for i, p in enumerate(pick):
        poly = polys[p]
        x0, y0, x1, y1 = poly.bounds
        while True:
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if poly.contains(shapely.Point(x, y)):
                out[i] = (round(x, 7), round(y, 7))
                break
    return out


def add_phones(engine: Engine, n: int, prefix: str) -> list[str]:
    """``n`` patrol accounts over every top-level area, one per phone."""
    from gridgeo.accounts import add_user
    from gridgeo.audit import cli_actor

    names = [f"{prefix}-phone-{i:03d}" for i in range(n)]
    with engine.begin() as conn:
        tops = list(
            conn.execute(
                text("SELECT code FROM grids WHERE parent_id IS NULL AND valid_to IS NULL")
            ).scalars()
        )
        for name in names:
            add_user(conn, name=name, role="patrol", areas=tops, password=PHONE_PASSWORD,
                     actor=cli_actor())  # fmt: skip
    return names
