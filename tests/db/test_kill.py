"""SIGKILL at a random point of an import, a plan commit, a backup and a restore.

Each operation runs as the real ``gridgeo`` command in its own process on a committed copy of
the demo city. The test waits until the process is inside the work that changes the store
(its transaction is open in PostgreSQL, its archive or its new store is being written), lets
it run for a random share of a second more (seeded: a failure can be replayed), kills it with
SIGKILL, and checks that the store is as it was. Then it runs the same command again to the end,
as a person would after a restart, and checks that it is whole.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gridgeo.backup import read_manifest, row_counts
from gridgeo.db import make_engine
from gridgeo.embedded import EmbeddedCluster

GRIDGEO = str(Path(sys.executable).with_name("gridgeo"))
SEED = 20261205
ROUNDS = 3
COMMUNITY = "370705001001"  # a demo community (the patrol's)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder the cluster's server account may enter (pytest's tmp_path is private)."""
    tmp = Path(tempfile.mkdtemp(prefix="gridgeo-kill-test-"))
    os.chmod(tmp, 0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def city(demo_engine: Engine, pg_server: str) -> Iterator[Engine]:
    """A committed copy of the demo city that the commands change."""
    demo_engine.dispose()
    admin = make_engine(pg_server, pool_size=1)
    name = "gridgeo_kill"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE gridgeo_demo'))
    eng = make_engine(pg_server.replace("/gridgeo?", f"/{name}?", 1), pool_size=2)
    yield eng
    eng.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([GRIDGEO, *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _kill_when(
    args: list[str],
    env: dict[str, str],
    ready: Callable[[], bool],
    rng: random.Random,
    span: float = 0.6,
) -> bool:
    """Start ``gridgeo ARGS``; once ``ready()`` holds, wait a random moment and SIGKILL it.

    The moment is drawn from ``[0, span)`` seconds; the callers halve ``span`` when the command
    finished first, so a fast machine still sees kills.

    Returns:
        Whether the process was killed (False: it finished before the moment came).
    """
    proc = subprocess.Popen(
        [GRIDGEO, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not ready():
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            assert proc.returncode == 0, err
            return False
        assert time.monotonic() < deadline, f"{args}: never reached the point to kill"
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, span))
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)  # the command and any child (pg_dump, pg_restore)
    proc.wait()
    return True


def _in_transaction(engine: Engine) -> Callable[[], bool]:
    """Whether another session of the database has a transaction open (the command's)."""
    name = engine.url.database

    def ready() -> bool:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                        "AND backend_type = 'client backend'"
                    ),
                    {"db": name},
                ).scalar_one()
            )

    return ready


def _no_session_left(engine: Engine) -> None:
    """The killed command's session ends (and its transaction rolls back) in PostgreSQL."""
    deadline = time.monotonic() + 30
    while _in_transaction(engine)():
        assert time.monotonic() < deadline, "the killed command's transaction stayed open"
        time.sleep(0.05)


def _store(engine: Engine) -> dict[str, object]:
    """What the invariants compare: row counts, current grids, assignment, plans."""
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        return {
            "households": one("SELECT count(*) FROM households"),
            "household_count": one("SELECT sum(household_count) FROM households"),
            "assigned": one("SELECT count(*) FROM household_grid"),
            "unassigned": one(
                "SELECT count(*) FROM households h WHERE NOT EXISTS "
                "(SELECT 1 FROM household_grid a WHERE a.household_id = h.id)"
            ),
            "assigned_to_old_grid": one(
                "SELECT count(*) FROM household_grid a JOIN grids g ON g.id = a.grid_id "
                "WHERE g.valid_to IS NOT NULL"
            ),
            "grids": one(
                "SELECT md5(string_agg(code || ':' || md5(ST_AsBinary(geom)), ',' ORDER BY code))"
                " FROM current_grids"
            ),
            "grid_rows": one("SELECT count(*) FROM grids"),
            "plans": conn.execute(text("SELECT id, status FROM plans ORDER BY id")).all(),
            "incident_grids": one(
                "SELECT md5(string_agg(id || ':' || grid_id, ',' ORDER BY id)) FROM incidents"
            ),
        }


def test_kill_household_import(city: Engine, folder: Path) -> None:
    """A killed ``import households --commit`` adds nothing; run again, it adds every row."""
    with city.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                 "(SELECT ST_Extent(geom) e FROM current_grids) s")
        ).one()  # fmt: skip
    rng = random.Random(SEED)
    n = 60_000
    csv = folder / "households.csv"
    with csv.open("w") as fh:
        fh.write("lon,lat,households\n")
        for _ in range(n):
            fh.write(f"{rng.uniform(x0, x1):.7f},{rng.uniform(y0, y1):.7f},{rng.randint(1, 4)}\n")
    env = _env(GRIDGEO_DATABASE_URL=city.url.render_as_string(False))
    before = _store(city)
    killed, span = 0, 0.6
    for _ in range(8):
        was_killed = _kill_when(
            ["import", "households", str(csv), "--commit"], env, _in_transaction(city), rng, span
        )
        _no_session_left(city)
        after = _store(city)
        if after != before:  # committed before the kill came (or it finished): once, whole
            assert after["households"] == before["households"] + n  # type: ignore[operator]
            before, span = after, span / 2
            continue
        killed += was_killed
        if killed == ROUNDS:
            break
    assert killed >= 1
    _run(["import", "households", str(csv), "--commit"], env)
    whole = _store(city)
    assert whole["households"] == before["households"] + n  # type: ignore[operator]
    assert whole["assigned"] + whole["unassigned"] == whole["households"]  # type: ignore[operator]


def _balance_plan(city: Engine, env: dict[str, str], k: int) -> int:
    """A plan (draft) of the community balanced into ``k`` grids; its id."""
    out = _run(["balance", COMMUNITY, "--k", str(k), "--plan", "--title", "kill test"], env)
    with city.connect() as conn:
        pid = conn.execute(text("SELECT max(id) FROM plans WHERE status = 'open'")).scalar_one()
    assert pid is not None, out
    return int(pid)


def test_kill_plan_commit(city: Engine) -> None:
    """A killed ``plan commit`` leaves the grids, the assignment and the plan as they were."""
    env = _env(GRIDGEO_DATABASE_URL=city.url.render_as_string(False))
    rng = random.Random(SEED + 1)
    killed, span, k = 0, 0.3, 9
    pid, before = _balance_plan(city, env, k), _store(city)
    for _ in range(8):
        was_killed = _kill_when(
            ["plan", "commit", str(pid), "-m", "kill test"], env, _in_transaction(city), rng, span
        )
        _no_session_left(city)
        after = _store(city)
        if after != before:  # committed before the kill came: reverted, the same plan again
            assert dict(after["plans"])[pid] == "committed"  # type: ignore[call-overload]
            with city.connect() as conn:
                change = conn.execute(text("SELECT max(id) FROM changes")).scalar_one()
            _run(["plan", "revert", str(change), "-m", "kill test: again"], env)
            span /= 2
            pid, before = _balance_plan(city, env, k), _store(city)
            continue
        killed += was_killed
        if killed == ROUNDS:
            break
    assert killed >= 1
    _run(["plan", "commit", str(pid), "-m", "kill test"], env)
    whole = _store(city)
    assert whole["grids"] != before["grids"]
    assert whole["assigned_to_old_grid"] == 0
    assert whole["households"] == before["households"]
    assert dict(whole["plans"])[pid] == "committed"  # type: ignore[call-overload]


def test_kill_backup_and_restore(city: Engine, folder: Path) -> None:
    """A killed backup leaves no archive; a killed restore leaves the data folder as it was."""
    src, dst = folder / "src", folder / "dst"
    (src / "photos").mkdir(parents=True)
    (src / "photos" / "a.jpg").write_bytes(os.urandom(2_000_000))
    archive = folder / "nightly.tar"
    env = _env(GRIDGEO_DATABASE_URL=city.url.render_as_string(False), GRIDGEO_DATA_DIR=str(src))
    rng = random.Random(SEED + 2)
    partial = archive.with_name(f".{archive.name}.partial")
    killed, span = 0, 0.6
    for _ in range(8):
        was_killed = _kill_when(
            ["backup", str(archive)], env, lambda: _in_transaction(city)() or partial.exists(),
            rng, span,
        )  # fmt: skip
        if archive.exists():  # renamed into place before the kill came (or it finished): whole
            read_manifest(archive)
            archive.unlink()
            span /= 2
            continue
        killed += was_killed
        if killed == ROUNDS:
            break
    assert killed >= 1
    _run(["backup", str(archive)], env)
    counts = read_manifest(archive)["tables"]

    staging = dst.with_name(f".{dst.name}.restoring")
    renv = _env(GRIDGEO_DATA_DIR=str(dst))
    killed, span = 0, 0.6
    for _ in range(8):
        was_killed = _kill_when(["restore", str(archive)], renv, staging.exists, rng, span)
        if dst.exists() and any(dst.iterdir()):  # in place before the kill came: whole
            _check_restored(dst, counts)
            shutil.rmtree(dst)
            span /= 2
            continue
        killed += was_killed
        if killed == ROUNDS:
            break
    assert killed >= 1
    _run(["restore", str(archive)], renv)  # tidies what the killed ones left, then restores
    assert not staging.exists()
    assert (dst / "photos" / "a.jpg").read_bytes() == (src / "photos" / "a.jpg").read_bytes()
    _check_restored(dst, counts)

    # replacing a store (--force): killed, the old store is still there and whole
    with city.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    _run(["backup", str(archive)], env)
    newer = read_manifest(archive)["tables"]
    assert newer != counts
    for _ in range(ROUNDS):
        _kill_when(["restore", "--force", str(archive)], renv, staging.exists, rng, 0.3)
        found = _restored_counts(dst)
        assert found in (counts, newer), "a killed restore left neither store whole"
        if found == newer:  # swapped in before the kill came: replaced whole
            break
    _run(["restore", "--force", str(archive)], renv)
    _check_restored(dst, newer)
    assert not staging.exists() and not dst.with_name(f".{dst.name}.replaced").exists()


def _restored_counts(data_dir: Path) -> dict[str, int]:
    """The row counts of the store in ``data_dir``, after what the next command does first."""
    from gridgeo.backup import recover_interrupted

    recover_interrupted(data_dir)
    cluster = EmbeddedCluster(data_dir)
    engine = make_engine(cluster.start(), pool_size=1)
    try:
        return row_counts(engine)
    finally:
        engine.dispose()
        cluster.stop()


def _check_restored(data_dir: Path, counts: dict[str, int]) -> None:
    assert _restored_counts(data_dir) == counts
