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
import signal
import subprocess
import tarfile
import tempfile
import time
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


def _beside(data_dir: Path, what: str) -> Path:
    return data_dir.with_name(f".{data_dir.name}.{what}")


def _end_server(pgdata: Path) -> None:
    """End whatever server a killed restore left on ``pgdata``, which is about to be deleted.

    Killed during ``initdb``, the folder holds a single-user server's lock file, which
    ``pg_ctl stop`` refuses to act on; so the process named in ``postmaster.pid`` is ended
    directly (SIGQUIT: stop at once, then SIGKILL) and waited for.
    """
    lock = pgdata / "postmaster.pid"
    try:
        pid = abs(int(lock.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return
    try:  # a server long gone may have left its number to another process
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
    except OSError:
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def recover_interrupted(data_dir: Path, *, pg_bin: Path | None = None) -> list[str]:
    """Undo what a restore killed part-way left beside ``data_dir``; say what was undone.

    A restore builds the new store in ``.NAME.restoring`` beside the data folder and swaps it
    in with renames; a replaced store waits in ``.NAME.replaced`` until the new one is in
    place. Killed before the swap, the half-built folder (and the server it started, which
    outlives a killed parent) is removed; killed between the two renames, the replaced store
    goes back. Either way the data folder is as it was before the restore began.
    """
    said: list[str] = []
    staging, replaced = _beside(data_dir, "restoring"), _beside(data_dir, "replaced")
    if staging.exists():
        cluster = EmbeddedCluster(staging, pg_bin)
        _end_server(cluster.pgdata)
        shutil.rmtree(cluster.socket_dir, ignore_errors=True)
        shutil.rmtree(staging)
        said.append(f"removed the unfinished restore {staging}")
    if replaced.exists():
        if _is_empty(data_dir):
            if data_dir.exists():
                data_dir.rmdir()
            replaced.rename(data_dir)
            said.append(f"put back {data_dir}, which an interrupted restore had moved aside")
        else:
            shutil.rmtree(replaced)
            said.append(f"removed {replaced}, left by a restore that had finished")
    return said


def restore(
    archive: Path, data_dir: Path, *, force: bool = False, pg_bin: Path | None = None
) -> BackupReport:
    """Restore a backup into the data folder ``data_dir`` (an embedded cluster and photos).

    The store is built in a folder beside ``data_dir`` and renamed into place only when it is
    whole and its row counts match the manifest: a restore that fails or is killed leaves the
    data folder as it was (:func:`recover_interrupted` tidies up on the next run).

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
    recover_interrupted(data_dir, pg_bin=pg_bin)
    if not _is_empty(data_dir) and not force:
        raise InvalidInput(
            f"{data_dir} is not empty: restore into an empty data folder (or --force to "
            "replace what it holds)",
            field="data_dir",
        )
    manifest = read_manifest(archive)
    if force and EmbeddedCluster(data_dir, pg_bin).is_running():
        raise BackupError(f"{data_dir}: its cluster is running; stop gridgeo first")
    staging = _beside(data_dir, "restoring")
    staging.parent.mkdir(parents=True, exist_ok=True)
    cluster = EmbeddedCluster(staging, pg_bin)
    pg_restore = str(find_pg_bin(pg_bin) / "pg_restore")
    try:
        url = cluster.start()
        try:
            with tempfile.TemporaryDirectory(prefix="gridgeo-restore-") as tmp:
                with tarfile.open(archive, "r") as tar:
                    tar.extractall(tmp, filter="data")
                _restore_dump(pg_restore, Path(tmp) / DUMP, libpq_conninfo(url))
                if (Path(tmp) / PHOTOS).exists():
                    shutil.copytree(Path(tmp) / PHOTOS, staging / PHOTOS, dirs_exist_ok=True)
            engine = make_engine(url, pool_size=1)
            try:
                counts = row_counts(engine)
            finally:
                engine.dispose()
        finally:
            cluster.stop()
        differ = {
            t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n
        }
        if differ:
            raise BackupError(
                f"restored row counts differ from the backup's (backed up, restored): {differ}"
            )
    except BaseException:
        recover_interrupted(data_dir, pg_bin=pg_bin)
        raise
    shutil.rmtree(cluster.socket_dir, ignore_errors=True)
    if data_dir.exists():
        data_dir.rename(_beside(data_dir, "replaced"))
    staging.rename(data_dir)
    recover_interrupted(data_dir, pg_bin=pg_bin)  # the replaced store, now superseded
    size = sum(int(f["size"]) for f in manifest["files"].values())
    return BackupReport(Path(archive), counts, len(manifest["files"]), size)
