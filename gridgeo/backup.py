"""Backups of a running gridgeo and their restore into an empty data folder.

A backup is one tar file: ``database.dump`` (``pg_dump`` custom format: one consistent
snapshot, taken while the service runs), the photo folder under ``photos/``, and
``manifest.json`` with the SHA-256 and size of every file and the row count of every table.
The dump is taken first and the photos copied after it, so every photo the dump refers to is
in the archive (a photo file is written before its row is committed). The archive is written
to a temporary name beside its target and renamed when complete: an interrupted backup leaves
no file that looks whole.

A restore checks every checksum before it touches anything, refuses a data folder that holds
a cluster or photos (unless ``force``), starts the embedded cluster there, restores the dump
with ``pg_restore`` and the photos, and compares the row counts with the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from gridgeo import __version__
from gridgeo.db import libpq_conninfo, make_engine
from gridgeo.embedded import EmbeddedCluster, find_pg_bin
from gridgeo.errors import GridgeoError, InvalidInput

FORMAT = "gridgeo-backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
PHOTOS = "photos"
_CHUNK = 1 << 20


class BackupError(GridgeoError):
    """A backup or a restore could not be made or checked."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote or a restore read: the archive, its tables and files."""

    path: Path
    tables: dict[str, int]
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(conn: Connection) -> dict[str, int]:
    """The number of rows of every table of the public schema, by name, as ``conn`` sees them."""
    names = conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'spatial_ref_sys' ORDER BY tablename"
        )
    ).scalars()
    return {
        n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one())  # noqa: S608
        for n in list(names)
    }


def row_counts(engine: Engine) -> dict[str, int]:
    """:func:`table_counts` in a transaction of its own."""
    with engine.connect() as conn:
        return table_counts(conn)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def backup(
    engine: Engine, photo_dir: Path, target: Path, *, pg_bin: Path | None = None
) -> BackupReport:
    """Write a backup of the database behind ``engine`` and of ``photo_dir`` to ``target``.

    Raises:
        BackupError: pg_dump failed.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    pg_dump = str(find_pg_bin(pg_bin) / "pg_dump")
    with tempfile.TemporaryDirectory(prefix="gridgeo-backup-") as tmp:
        dump = Path(tmp) / DUMP
        # the counts and the dump see one snapshot: exported by a transaction held open
        with engine.connect() as conn:
            snap = conn.execution_options(isolation_level="REPEATABLE READ")
            with snap.begin():
                snapshot = snap.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = table_counts(snap)
                _run(
                    [pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                     f"--file={dump}", libpq_conninfo(engine.url)],
                    "pg_dump",
                )  # fmt: skip
        photos = sorted(p for p in Path(photo_dir).rglob("*") if p.is_file())
        entries = [(DUMP, dump)] + [
            (f"{PHOTOS}/{p.relative_to(photo_dir).as_posix()}", p) for p in photos
        ]
        files: dict[str, dict[str, Any]] = {
            name: {"sha256": _sha256(p), "size": p.stat().st_size} for name, p in entries
        }
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "gridgeo": __version__,
            "tables": counts,
            "files": files,
        }
        partial = target.with_name(f".{target.name}.partial")
        with tarfile.open(partial, "w") as tar:
            blob = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
            for name, path in entries:
                tar.add(path, arcname=name, recursive=False)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(target)
    size = sum(int(f["size"]) for f in files.values())
    return BackupReport(target, counts, len(files), size)


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup, after checking the SHA-256 of every file it lists.

    Raises:
        BackupError: not a gridgeo backup, or a file missing or damaged.
    """
    try:
        with tarfile.open(archive, "r") as tar:
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{archive}: not a {FORMAT} archive")
            for name, want in manifest["files"].items():
                member = tar.extractfile(name)
                if member is None:
                    raise BackupError(f"{archive}: {name} is not a file")
                digest = hashlib.sha256()
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != want["sha256"]:
                    raise BackupError(f"{archive}: {name} does not match its checksum")
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise BackupError(f"{archive}: not a readable gridgeo backup ({exc})") from exc
    return dict(manifest)


def _restore_dump(pg_restore: str, dump: Path, conninfo: str) -> None:
    """``pg_restore`` the dump; the triggers last, with PostGIS on the search path.

    pg_restore empties the search path, and a trigger's ``WHEN (old.geom IS DISTINCT FROM
    new.geom)`` cannot name PostGIS's ``=`` (the versioning triggers of migration 0006 have
    one): restored as dumped it fails with "operator is not unique". So everything else is
    restored first, then the triggers' SQL runs with ``public`` on the path.
    """
    import psycopg

    toc = subprocess.run(
        [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if toc.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {toc.stderr.strip()[-2000:]}")
    lines = toc.stdout.splitlines()
    triggers = [line for line in lines if " TRIGGER " in line and not line.startswith(";")]
    rest = [line for line in lines if line not in triggers]
    lists = dump.parent
    (lists / "rest.list").write_text("\n".join(rest) + "\n")
    (lists / "triggers.list").write_text("\n".join(triggers) + "\n")
    _run(
        [pg_restore, "--no-owner", "--exit-on-error", f"--use-list={lists / 'rest.list'}",
         f"--dbname={conninfo}", str(dump)],
        "pg_restore",
    )  # fmt: skip
    if not triggers:
        return
    sql = subprocess.run(
        [pg_restore, "--no-owner", f"--use-list={lists / 'triggers.list'}", "--file=-", str(dump)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if sql.returncode != 0:
        raise BackupError(f"pg_restore of the triggers failed: {sql.stderr.strip()[-2000:]}")
    # psql meta-commands (\restrict of recent pg_dump) are not SQL: dropped
    script = "\n".join(
        line for line in sql.stdout.splitlines() if not line.startswith("\\")
    ).replace("set_config('search_path', '', false)", "set_config('search_path', 'public', false)")
    try:
        with psycopg.connect(conninfo, autocommit=False) as conn:
            conn.execute(script.encode())
    except psycopg.Error as exc:
        raise BackupError(f"restoring the triggers failed: {exc}") from exc


def _is_empty(data_dir: Path) -> bool:
    return not data_dir.exists() or not any(data_dir.iterdir())


def restore(
    archive: Path, data_dir: Path, *, force: bool = False, pg_bin: Path | None = None
) -> BackupReport:
    """Restore a backup into the data folder ``data_dir`` (an embedded cluster and photos).

    Args:
        archive: a file written by :func:`backup`.
        data_dir: the data folder to restore into; must be empty unless ``force``.
        force: replace what the folder holds (its cluster must not be running).
        pg_bin: folder of the PostgreSQL binaries.

    Raises:
        InvalidInput: the folder is not empty and ``force`` is not given.
        BackupError: a damaged archive, a failed pg_restore, or row counts unlike the manifest's.
    """
    data_dir = Path(data_dir).absolute()
    if not _is_empty(data_dir) and not force:
        raise InvalidInput(
            f"{data_dir} is not empty: restore into an empty data folder (or --force to "
            "replace what it holds)",
            field="data_dir",
        )
    manifest = read_manifest(archive)
    cluster = EmbeddedCluster(data_dir, pg_bin)
    if force and data_dir.exists():
        if cluster.is_initialized() and cluster.is_running():
            raise BackupError(f"{data_dir}: its cluster is running; stop gridgeo first")
        shutil.rmtree(cluster.pgdata, ignore_errors=True)
        shutil.rmtree(data_dir / PHOTOS, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    pg_restore = str(find_pg_bin(pg_bin) / "pg_restore")
    url = cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="gridgeo-restore-") as tmp:
            with tarfile.open(archive, "r") as tar:
                tar.extractall(tmp, filter="data")
            _restore_dump(pg_restore, Path(tmp) / DUMP, libpq_conninfo(url))
            if (Path(tmp) / PHOTOS).exists():
                shutil.copytree(Path(tmp) / PHOTOS, data_dir / PHOTOS, dirs_exist_ok=True)
        engine = make_engine(url, pool_size=1)
        try:
            counts = row_counts(engine)
        finally:
            engine.dispose()
    finally:
        cluster.stop()
    differ = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if differ:
        raise BackupError(
            f"restored row counts differ from the backup's (backed up, restored): {differ}"
        )
    size = sum(int(f["size"]) for f in manifest["files"].values())
    return BackupReport(Path(archive), counts, len(manifest["files"]), size)
