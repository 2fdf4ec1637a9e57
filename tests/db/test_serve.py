"""`gridgeo serve` as a real process on its own embedded cluster."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gridgeo.embedded import EmbeddedCluster

GRIDGEO = str(Path(sys.executable).parent / "gridgeo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_health(url: str, proc: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            r = httpx.get(url + "/health", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("serve did not become healthy")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # not under pytest's tmp folder: that is mode 0700, which the server's account (when the
    # tests run as root) could not enter
    d = Path(tempfile.mkdtemp(prefix="gridgeo-serve-"))
    os.chmod(d, 0o755)
    yield d / "state"
    EmbeddedCluster(d / "state").stop(mode="immediate")
    shutil.rmtree(d, ignore_errors=True)


def test_serve_starts_refuses_second_and_stops_cleanly(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env["GRIDGEO_DATA_DIR"] = str(data_dir)
    port = _free_port()
    first = subprocess.Popen(
        [GRIDGEO, "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = _wait_health(f"http://127.0.0.1:{port}", first)
        assert health["status"] == "ok" and health["postgis"].startswith("3.")
        # no TCP listener of the cluster: the socket lives in the data folder
        assert list((data_dir / "run").glob(".s.PGSQL.*"))
        second = subprocess.run(
            [GRIDGEO, "serve", "--no-demo", "--port", str(_free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "already running" in second.stderr and str(data_dir) in second.stderr
        # the CLI reuses the running cluster
        out = subprocess.run(
            [GRIDGEO, "locate", "116.4", "39.9"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "outside every grid" in out.stdout
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
        assert first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert not EmbeddedCluster(data_dir).is_running()
    # reused next time: the cluster is initialised once
    assert (data_dir / "pgdata" / "PG_VERSION").exists()


def test_production_refuses_demo_passwords_and_logs_stay_clean(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env["GRIDGEO_DATA_DIR"] = str(data_dir)
    env["GRIDGEO_ENV"] = "production"
    refused = subprocess.run(
        [GRIDGEO, "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "demo passwords" in refused.stderr and "admin" in refused.stderr
    assert not EmbeddedCluster(data_dir).is_running()

    # development mode serves the same data; the log must not carry secrets or addresses
    env["GRIDGEO_ENV"] = "development"
    port = _free_port()
    proc = subprocess.Popen(
        [GRIDGEO, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_health(url, proc)
        httpx.post(url + "/auth/token", data={"username": "planner", "password": "guess-guess-1"})
        tok = httpx.post(
            url + "/auth/token", data={"username": "planner", "password": "planner-demo-2026"}
        ).json()["access_token"]
        page = httpx.get(
            url + "/households", params={"limit": 5}, headers={"Authorization": f"Bearer {tok}"}
        ).json()
        address = page["features"][0]["properties"]["address"]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "GET /households" in out  # the access log is on
    for secret in ("guess-guess-1", "planner-demo-2026", tok, address):
        assert secret not in out.split("demo accounts")[-1].split("serving on")[-1]
