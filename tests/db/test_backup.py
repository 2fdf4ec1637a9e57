"""gridgeo backup / restore: the demo city with incidents and photos, restored elsewhere."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import shape
from sqlalchemy import Engine, text

from api.app import create_app
from cli.main import main
from gridgeo.backup import read_manifest, row_counts
from gridgeo.clock import utcnow
from gridgeo.db import Database, make_engine
from gridgeo.demo.incidents import seed_demo_incidents
from gridgeo.embedded import EmbeddedCluster
from gridgeo.errors import GridgeoError
from gridgeo.settings import get_settings

GRID = "370705001001001"  # the demo patrol's grid


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder the cluster's server account may enter (pytest's tmp_path is private)."""
    tmp = Path(tempfile.mkdtemp(prefix="gridgeo-backup-test-"))
    os.chmod(tmp, 0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def source(demo_engine: Engine, pg_server: str) -> Iterator[Engine]:
    """A copy of the demo database with its incidents seeded (committed: pg_dump reads it)."""
    demo_engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template unused
    admin = make_engine(pg_server, pool_size=1)
    name = "gridgeo_backup_src"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE gridgeo_demo'))
    eng = make_engine(pg_server.replace("/gridgeo?", f"/{name}?", 1), pool_size=2)
    with eng.begin() as conn:
        seed_demo_incidents(conn, utcnow(), snap_m=200.0, n=40)
    yield eng
    eng.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _app(engine: Engine, data_dir: Path) -> TestClient:
    settings = get_settings(database_url=str(engine.url), map_tiles="", data_dir=data_dir)
    return TestClient(create_app(settings, Database(engine)))


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buf, "JPEG")
    return buf.getvalue()


def _sums(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_backup_restores_elsewhere_with_every_row_and_photo(source, folder, monkeypatch):
    src_dir, dst_dir, archive = folder / "src", folder / "dst", folder / "nightly.gridgeo.tar"
    with _app(source, src_dir) as client:
        tok = client.post(
            "/auth/token", data={"username": "patrol", "password": "patrol-demo-2026"}
        )
        h = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        adm = client.post("/auth/token", data={"username": "admin", "password": "admin-demo-2026"})
        admin = {"Authorization": f"Bearer {adm.json()['access_token']}"}
        inside = shape(client.get(f"/grids/{GRID}", headers=h).json()["geometry"])
        point = inside.representative_point()
        ids = []
        for k in range(2):
            form = {"lon": str(point.x), "lat": str(point.y), "category": "sanitation",
                    "description": f"备份测试 {k}"}  # fmt: skip
            r = client.post("/incidents", data=form, files={"photo": ("p.jpg", _jpeg())}, headers=h)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        paths = [f"/incidents/{ids[0]}", f"/incidents/{ids[1]}", f"/grids/{GRID}",
                 "/workload?level=street", "/open311/v2/services.json",
                 f"/open311/v2/requests/{ids[1]}.json"]  # fmt: skip
        before = {p: client.get(p, headers=admin).json() for p in paths}
        photo = before[paths[0]]["photos"][0]["id"]
        photo_path = f"/incidents/{ids[0]}/photos/{photo}"
        photo_bytes = client.get(photo_path, headers=admin).content
    counts = row_counts(source)
    assert counts["incidents"] >= 42 and counts["incident_photos"] == 2

    monkeypatch.setenv("GRIDGEO_DATABASE_URL", source.url.render_as_string(False))
    monkeypatch.setenv("GRIDGEO_DATA_DIR", str(src_dir))
    runner = CliRunner()
    done = runner.invoke(main, ["backup", str(archive)])
    assert done.exit_code == 0, done.output
    assert "backup written" in done.output and "3 files" in done.output
    manifest = read_manifest(archive)
    assert manifest["tables"] == counts
    assert {n for n in manifest["files"] if n.startswith("photos/")} == {
        f"photos/{n}" for n in _sums(src_dir / "photos")
    }

    monkeypatch.delenv("GRIDGEO_DATABASE_URL")
    monkeypatch.setenv("GRIDGEO_DATA_DIR", str(dst_dir))
    done = runner.invoke(main, ["restore", str(archive)])
    assert done.exit_code == 0, done.output
    assert "restored into" in done.output
    assert _sums(dst_dir / "photos") == _sums(src_dir / "photos")
    refused = runner.invoke(main, ["restore", str(archive)])
    assert refused.exit_code == 1 and "not empty" in refused.output

    cluster = EmbeddedCluster(dst_dir)
    restored = make_engine(cluster.start(), pool_size=2)
    try:
        assert row_counts(restored) == counts
        with _app(restored, dst_dir) as client:
            after = {p: client.get(p, headers=admin).json() for p in paths}
            assert after == before
            assert client.get(photo_path, headers=admin).content == photo_bytes
    finally:
        restored.dispose()
        cluster.stop()


def test_a_damaged_archive_is_refused_before_anything_is_written(folder):
    archive = folder / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        blob = b'{"format": "gridgeo-backup/1", "tables": {}, "files": {"database.dump": {"sha256": "00", "size": 1}}}'
        info = tarfile.TarInfo("manifest.json")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
        info = tarfile.TarInfo("database.dump")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(GridgeoError, match="checksum"):
        read_manifest(archive)
    from gridgeo.backup import restore

    with pytest.raises(GridgeoError, match="checksum"):
        restore(archive, folder / "dst")
    assert not (folder / "dst").exists()
