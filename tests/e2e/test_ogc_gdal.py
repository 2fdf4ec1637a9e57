"""GDAL's OAPIF driver reads the OGC API with no adapter: collections, then the features."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from tests.e2e.conftest import token

OGRINFO = shutil.which("ogrinfo")


def _ogrinfo(key: str, *args: str) -> str:
    if OGRINFO is None:
        pytest.fail("ogrinfo is missing: scripts/setup.sh --dev installs gdal-bin")
    run = subprocess.run(
        [OGRINFO, "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {key}", "-ro", "-so", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_ogrinfo_lists_collections_and_counts_grids(live_server):
    admin = token(live_server, "admin", "admin-demo-2026")
    r = httpx.post(
        live_server + "/admin/users/viewer/keys",
        json={"label": "gdal test"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    source = f"OAPIF:{live_server}/ogc/"
    listing = _ogrinfo(key, source)
    for level in ("district", "street", "community", "grid"):
        assert re.search(rf"^\d+: {level}\b", listing, re.M), listing
    grid = _ogrinfo(key, source, "grid")
    assert "Feature Count: 386" in grid, grid
    assert re.search(r"^code: String", grid, re.M), grid
    # the driver pages through every feature (limit=100 per request)
    full = subprocess.run(
        [
            OGRINFO,
            "--config",
            "GDAL_HTTP_HEADERS",
            f"X-API-Key: {key}",
            "-ro",
            "-al",
            "-q",
            "-geom=NO",
            source,
            "community",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert full.returncode == 0, full.stderr
    assert len(re.findall(r"^OGRFeature\(community\)", full.stdout, re.M)) == 65
