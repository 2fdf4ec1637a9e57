"""Engine creation, PostGIS checks and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gridgeo.embedded import EmbeddedCluster
from gridgeo.errors import DatabaseUnavailable
from gridgeo.settings import DatabaseSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """Create an engine with a connection pool sized for the API."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, future=True
    )


def libpq_conninfo(url: str | URL) -> str:
    """The libpq connection string of a SQLAlchemy URL (the host may be a socket folder)."""
    u = make_url(url) if isinstance(url, str) else url
    host = u.host or u.query.get("host")
    port = u.port or u.query.get("port")
    parts = {"dbname": u.database, "user": u.username, "password": u.password,
             "host": host, "port": port}  # fmt: skip
    return make_conninfo(**{k: str(v) for k, v in parts.items() if v})


def ensure_postgis(engine: Engine) -> str:
    """Create the postgis extension where allowed; explain clearly when it is missing.

    Returns:
        The PostGIS version string.

    Raises:
        DatabaseUnavailable: when the server cannot be reached or PostGIS cannot be enabled.
    """
    try:
        with engine.connect() as conn:
            installed = conn.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar()
            if installed:
                return str(installed)
            available = conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar()
            if not available:
                raise DatabaseUnavailable(
                    "PostGIS is not installed on the database server "
                    f"{engine.url.render_as_string(hide_password=True)}; install the "
                    "postgresql-15-postgis-3 package there"
                )
            try:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.commit()
            except DBAPIError as exc:
                raise DatabaseUnavailable(
                    "PostGIS is available but this account may not create the extension; "
                    "ask an administrator to run CREATE EXTENSION postgis in the database"
                ) from exc
            return str(conn.execute(text("SELECT postgis_lib_version()")).scalar())
    except OperationalError as exc:
        raise DatabaseUnavailable(
            "cannot connect to the database "
            f"{engine.url.render_as_string(hide_password=True)}: {str(exc.orig).strip()}"
        ) from exc


def run_migrations(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the schema with Alembic to ``revision`` (all heads: feature branches may fork)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@dataclass
class Database:
    """An engine and, when gridgeo started it, the embedded cluster behind it."""

    engine: Engine
    cluster: EmbeddedCluster | None = None

    def session(self) -> Session:
        """A new ORM session bound to the engine."""
        return sessionmaker(self.engine, expire_on_commit=False)()

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.session() as session, session.begin():
            yield session

    def close(self) -> None:
        """Dispose of the pool and stop the embedded cluster if this process started it."""
        self.engine.dispose()
        if self.cluster is not None and self.cluster.started_here:
            self.cluster.stop()


def open_database(settings: DatabaseSettings, migrate: bool = True) -> Database:
    """Connect to the configured database, or start the embedded one, and migrate it."""
    cluster = None
    url = settings.database_url
    if not url:
        from gridgeo.backup import recover_interrupted  # backup builds on this module

        # a restore killed between its two renames has moved the store aside: put it back
        # before anything could initialise an empty cluster in its place
        recover_interrupted(Path(settings.data_dir).absolute(), pg_bin=settings.pg_bin)
        cluster = EmbeddedCluster(settings.data_dir, settings.pg_bin)
        url = cluster.start()
    engine = make_engine(url, settings.pool_size)
    db = Database(engine, cluster)
    try:
        ensure_postgis(engine)
        if migrate:
            run_migrations(engine)
    except Exception:
        db.close()
        raise
    return db
