"""A private PostgreSQL + PostGIS cluster that gridgeo starts, reuses and stops itself.

The cluster lives in ``<data_dir>/pgdata`` and listens on a Unix socket only (no TCP), in a
folder that only the server's user may enter. initdb and postgres refuse to run as root, so
when gridgeo runs as root the server runs as an unprivileged system user (``postgres`` when
the Debian packages created it, otherwise a ``gridgeo`` system user that is created here).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gridgeo.errors import EmbeddedClusterError

DB_NAME = "gridgeo"
DB_USER = "gridgeo"
PORT = 5432  # only names the socket file; nothing listens on TCP
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.5432"

BASE_CONF = {
    "listen_addresses": "''",
    "port": str(PORT),
    "shared_buffers": "'256MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'2GB'",
    # One server, backed up by pg_dump, never replicated: a table created and filled in one
    # transaction (the bulk assignment's swapped table, its indexes) is then written once and
    # synced at commit instead of also through the WAL - as durable, about half the writing
    # (1,000,000 households: COPY 1.06 -> 0.63 s, keys and index 2.0 -> 1.2 s, load 10).
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "100",
    "jit": "off",
    "random_page_cost": "1.1",
    "max_parallel_workers_per_gather": "2",
    "logging_collector": "off",
    "log_min_messages": "warning",
}
# For throwaway clusters (tests): durability traded for speed, never for real data.
FAST_CONF = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_pg_bin(explicit: Path | None = None) -> Path:
    """Return the folder holding initdb, pg_ctl and postgres.

    Args:
        explicit: a folder given by configuration (``GRIDGEO_PG_BIN``); checked first.

    Raises:
        EmbeddedClusterError: when no PostgreSQL server binaries are found.
    """
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise EmbeddedClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql-15 and "
        "postgresql-15-postgis-3, or set GRIDGEO_PG_BIN"
    )


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account that runs the server when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("GRIDGEO_PG_USER"), "postgres", "gridgeo"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "gridgeo"],
        check=True,
    )
    return pwd.getpwnam("gridgeo")


@dataclass
class EmbeddedCluster:
    """One private PostgreSQL cluster in a data folder.

    Attributes:
        data_dir: the gridgeo data folder; the cluster is in its ``pgdata`` subfolder.
        pg_bin: folder of the server binaries.
        fast: trade durability for speed (tests only).
        started_here: whether :meth:`start` started the server (so :meth:`stop` stops it).
    """

    data_dir: Path
    pg_bin: Path | None = None
    fast: bool = False
    started_here: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        self.pg_bin = find_pg_bin(self.pg_bin)
        self.account = _server_account()

    @property
    def pgdata(self) -> Path:
        """The PostgreSQL data directory."""
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        """Folder of the Unix socket: in the data folder unless that path is too long."""
        local = self.data_dir / "run"
        if len(str(local)) + 15 <= _SOCKET_PATH_MAX:
            return local
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"gridgeo-{digest}"

    @property
    def log_file(self) -> Path:
        """The server's log file."""
        return self.data_dir / "log" / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the gridgeo database over the Unix socket."""
        return f"postgresql+psycopg://{DB_USER}@/{DB_NAME}?host={self.socket_dir}&port={PORT}"

    def _bin(self, name: str) -> str:
        return str(Path(str(self.pg_bin)) / name)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LC_ALL="C.UTF-8")
        uid = gid = None
        if self.account is not None:
            uid, gid = self.account.pw_uid, self.account.pw_gid
            env["HOME"] = "/tmp"
        proc = subprocess.run(  # fixed binaries, no shell
            args, capture_output=True, text=True, env=env, cwd="/", user=uid, group=gid
        )
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise EmbeddedClusterError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): " + " | ".join(tail),
                log=str(self.log_file),
            )
        return proc

    def _own(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _check_reachable(self) -> None:
        """As root, the server's user must be able to walk down to the data folder."""
        if self.account is None:
            return
        for parent in reversed(self.data_dir.parents):
            st = parent.stat()
            if not (st.st_mode & 0o001 or st.st_uid == self.account.pw_uid):
                raise EmbeddedClusterError(
                    f"the PostgreSQL server runs as the unprivileged user "
                    f"'{self.account.pw_name}', which cannot enter {parent} (mode "
                    f"{oct(st.st_mode & 0o777)}); set GRIDGEO_DATA_DIR to a folder outside it "
                    f"or run 'chmod o+x {parent}'"
                )

    def is_initialized(self) -> bool:
        """Whether initdb has run in the data folder."""
        return (self.pgdata / "PG_VERSION").exists()

    def initialize(self) -> None:
        """Create the cluster (initdb) and write its configuration."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        if self.account is not None:
            os.chmod(self.data_dir, 0o755)
        self._own(self.pgdata, 0o700)
        self._own(self.log_file.parent, 0o700)
        self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                DB_USER,
                "--auth-local=trust",
                "--auth-host=reject",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ]
        )
        conf = dict(BASE_CONF, **(FAST_CONF if self.fast else {}))
        conf["unix_socket_directories"] = f"'{self.socket_dir}'"
        conf["unix_socket_permissions"] = "0700"
        lines = [f"{key} = {value}" for key, value in conf.items()]
        conf_file = self.pgdata / "gridgeo.conf"
        conf_file.write_text("# written by gridgeo\n" + "\n".join(lines) + "\n")
        with open(self.pgdata / "postgresql.conf", "a") as fh:
            fh.write("\ninclude = 'gridgeo.conf'\n")
        if self.account is not None:
            for path in (conf_file, self.pgdata / "postgresql.conf"):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def is_running(self) -> bool:
        """Whether a server is running on this data folder."""
        if not self.is_initialized():
            return False
        proc = self._run([self._bin("pg_ctl"), "status", "-D", str(self.pgdata)], check=False)
        return proc.returncode == 0

    def start(self) -> str:
        """Initialise if needed, start the server unless it already runs, create the database.

        Returns:
            The SQLAlchemy URL of the gridgeo database.
        """
        if not self.is_initialized():
            self.initialize()
        if not self.is_running():
            self._own(self.socket_dir, 0o700)
            self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    # the socket follows the folder, so a cluster moved into place (a
                    # restore is built beside its target and renamed) listens where it is
                    "-o",
                    f"-k {shlex.quote(str(self.socket_dir))}",
                    "-w",
                    "-t",
                    "120",
                ]
            )
            self.started_here = True
        self._ensure_database()
        return self.url

    def _ensure_database(self) -> None:
        import psycopg

        conninfo = f"host={self.socket_dir} port={PORT} user={DB_USER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions and shut down cleanly)."""
        if self.is_running():
            self._run([self._bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode, "-w"])
        self.started_here = False

    def destroy(self) -> None:
        """Stop the server and delete the cluster (tests only)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
