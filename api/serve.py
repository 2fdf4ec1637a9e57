"""``gridgeo serve``: one process owns the embedded cluster of a data folder while it serves."""

from __future__ import annotations

import fcntl
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

import click

from gridgeo.accounts import demo_passwords_in_use
from gridgeo.db import Database, make_engine, open_database
from gridgeo.errors import GridgeoError
from gridgeo.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_HEALTHCHECK_S = 120  # seconds a worker may take to answer uvicorn's health check

# How the parent of ``serve --workers N`` hands its database to the worker processes.
WORKER_DATABASE_ENV = "GRIDGEO_SERVE_WORKER_DATABASE_URL"


class ServeLock:
    """An exclusive lock on ``<data_dir>/serve.lock`` held for the life of ``serve``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "serve.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or explain who holds it.

        Raises:
            click.ClickException: when another serve holds the folder.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise click.ClickException(
                f"another 'gridgeo serve' is already running on the data folder "
                f"{self.path.parent} ({holder}); stop it first, or set GRIDGEO_DATA_DIR to "
                f"another folder"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Release the lock."""
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def refuse_demo_passwords(db: Database) -> None:
    """In production, refuse to serve while any account keeps its documented demo password.

    Raises:
        click.ClickException: naming the accounts to fix.
    """
    with db.engine.connect() as conn:
        names = demo_passwords_in_use(conn)
    if names:
        raise click.ClickException(
            "GRIDGEO_ENV=production and these accounts still have their documented demo "
            f"passwords: {', '.join(names)}; disable them ('gridgeo user disable NAME') or set "
            "new passwords before serving"
        )


def worker_app() -> FastAPI:
    """Factory of a worker process of ``serve --workers N``: connect to the parent's database.

    The parent holds the lock, started the cluster and migrated it; a worker only connects
    (and never stops the cluster).
    """
    from api.app import create_app

    settings = get_settings(database_url=os.environ[WORKER_DATABASE_ENV])
    engine = make_engine(settings.database.database_url, settings.database.pool_size)
    return create_app(settings, Database(engine))


def serve(settings: Settings, host: str, port: int, demo: bool = True, workers: int = 1) -> None:
    """Open (or start) the database, load the demo city if empty, serve until stopped.

    With ``workers`` > 1 this process keeps the lock and the cluster and uvicorn runs that
    many worker processes, each with its own connection pool to the same database.
    """
    import uvicorn

    from api.app import create_app

    database = settings.database
    lock = ServeLock(database.data_dir) if not database.database_url else None
    if lock is not None:
        lock.acquire()
    # Until uvicorn installs its own handlers, SIGTERM must still run the clean-up below.
    signal.signal(signal.SIGTERM, _terminate)
    db: Database | None = None
    try:
        where = "the configured database" if database.database_url else f"{database.data_dir}"
        click.echo(f"gridgeo: opening the database ({where}) …")
        db = open_database(database)
        if db.cluster is not None:
            db.cluster.started_here = True  # this process owns the folder: stop it at exit
        if demo:
            from cli.demo import load_demo_if_empty

            load_demo_if_empty(db, settings)
        if settings.api.env == "production":
            refuse_demo_passwords(db)
        click.echo(f"gridgeo: serving on http://{host}:{port} (Ctrl-C to stop)")
        if workers > 1:
            os.environ[WORKER_DATABASE_ENV] = db.engine.url.render_as_string(hide_password=False)
            uvicorn.run(
                "api.serve:worker_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                # a worker still importing the app on a loaded machine answers the supervisor's
                # health check late: with uvicorn's 5 s it was killed and restarted for ever
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            )
        else:
            uvicorn.run(create_app(settings, db), host=host, port=port, log_level="info")
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    except KeyboardInterrupt:
        click.echo("gridgeo: interrupted", err=True)
    finally:
        if db is not None:
            click.echo("gridgeo: stopping the database …", err=True)
            db.close()
        if lock is not None:
            lock.release()
        sys.stdout.flush()
