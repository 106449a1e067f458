"""Database access: the embedded default, the connection pool and migrations.

One ``psycopg_pool.ConnectionPool`` per process (``pool()``), checked on
checkout so that it survives a restart of the database. Migrations are the
plain SQL files in ``sql/migrations/``, applied in name order and recorded with
their checksum in ``nsp_migration``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Event, Lock
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from nsp.errors import NspError
from nsp.settings import SQL_DIR, STATE_DIR, DBSettings, db_settings

MIGRATIONS_DIR = SQL_DIR / "migrations"
PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class DatabaseError(NspError):
    """The database could not be reached, created or migrated."""


# --------------------------------------------------------------------------- URL


def database_url(settings: DBSettings | None = None) -> str:
    url = (settings or db_settings()).resolved_url()
    if not url:
        raise DatabaseError(
            "no database configured: set DATABASE_URL or run `nsp db up` first"
        )
    return url


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    """A plain connection (dict rows) for CLI commands and scripts."""
    url = url or database_url()
    try:
        return psycopg.connect(url, row_factory=dict_row, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {redact(url)}: {first_line(exc)}") from exc


def redact(url: str) -> str:
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo(**params)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -------------------------------------------------------------------------- pool

_pool: ConnectionPool | None = None
_pool_lock = Lock()


def pool() -> ConnectionPool:
    """The process-wide pool, opened on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            s = db_settings()
            _pool = ConnectionPool(
                database_url(s),
                min_size=s.pool_min,
                max_size=s.pool_max,
                kwargs={"row_factory": dict_row},
                check=ConnectionPool.check_connection,
                name="nsp",
                open=True,
            )
        return _pool


def close_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


# ------------------------------------------------------------------------ outages


class Backoff:
    """Waits of ``first``, then twice as long each time, at most ``maximum`` seconds."""

    def __init__(self, first: float = 1.0, maximum: float = 30.0):
        self.first, self.maximum = first, maximum
        self.attempts = 0

    def next(self) -> float:
        delay = min(self.first * 2 ** self.attempts, self.maximum)
        self.attempts += 1
        return delay


def unreachable(url: str, timeout: float = 3.0) -> str | None:
    """None when the database at ``url`` answers a query within ``timeout``; else why not."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return first_line(exc)
    return None


def wait_for_database(stop: Event, command: str, log: logging.Logger, url: str | None = None) -> bool:
    """Block until the database answers (True) or ``stop`` is set (False), trying again after 1,
    2, 4 ... seconds (at most ``NSP_DB_RECONNECT_MAX_SECONDS``); every failed try is logged with
    ``action=db_wait``, the attempt, the reason and the next wait; the first success after one
    with ``action=db_reachable``. For the long-running commands, which must outlive an outage."""
    url = url or database_url()
    backoff = Backoff(maximum=db_settings().reconnect_max_seconds)
    while not stop.is_set():
        reason = unreachable(url)
        if reason is None:
            if backoff.attempts:
                log.warning("database reachable again", extra={
                    "action": "db_reachable", "command": command, "attempts": backoff.attempts})
            return True
        delay = backoff.next()
        log.warning("database unreachable, waiting for it", extra={
            "action": "db_wait", "command": command, "attempt": backoff.attempts, "retry_in": delay,
            "error": reason})
        stop.wait(delay)
    return False


# ----------------------------------------------------------------- embedded default


@dataclass
class UpResult:
    url: str
    how: str  # "DATABASE_URL", "local server", "project cluster"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def free_port(start: int = 55432) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DatabaseError("no free TCP port for the project-local cluster")


def pg_bin(name: str) -> str:
    for d in PG_BIN_CANDIDATES:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise DatabaseError(
            f"PostgreSQL's {name} was not found; install postgresql-15 and postgresql-15-postgis-3"
        )
    return found


def run_as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a server binary; as root, drop to the ``postgres`` user (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def ensure_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` if missing; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(admin_url, name)


def with_dbname(url: str, name: str) -> str:
    """The same server and credentials, another database (URL or key=value form)."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + quote(name)))
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


def ensure_postgis(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise DatabaseError(
                f"PostGIS is not available on {redact(url)}: {first_line(exc)}. "
                "Install postgresql-15-postgis-3 (make setup does it as root)."
            ) from exc
        return conn.execute("SELECT postgis_lib_version()").fetchone()[0]


# PostGIS loaded once by the server instead of by each new connection that first uses it (some
# 10 ms of CPU each; nsp's commands and its workers' jobs open many short connections).
PRELOAD = "postgis-3"


def _start_project_cluster(s: DBSettings) -> str:
    data = s.cluster_dir.resolve()
    port_file = data.parent / "cluster_port"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (data.parent, data):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        data.chmod(0o700)
        run_as_postgres(
            [pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        )
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    if not _port_open("127.0.0.1", port):
        log = data.parent / "cluster.log"
        if os.geteuid() == 0 and not log.exists():
            log.touch()
            pw = pwd.getpwnam("postgres")
            os.chown(log, pw.pw_uid, pw.pw_gid)
        run_as_postgres(
            [
                pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
                # PostGIS preloaded: a new connection does not load it again (see PRELOAD)
                "-o", f"-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c shared_preload_libraries={PRELOAD}",
            ]
        )
        port_file.write_text(str(port))
    for _ in range(50):
        if _port_open("127.0.0.1", port):
            break
        time.sleep(0.2)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def db_up(settings: DBSettings | None = None) -> UpResult:
    """Make sure a PostGIS database exists; idempotent."""
    s = settings or db_settings()
    url = os.environ.get("DATABASE_URL") or s.url
    if url:
        ensure_postgis(url)
        return UpResult(url, "DATABASE_URL")
    if _port_open(s.local_host, s.local_port):
        admin = f"postgresql://{s.local_user}@{s.local_host}:{s.local_port}/postgres"
        how = "local server"
    else:
        admin = _start_project_cluster(s)
        how = "project cluster"
    try:
        url = ensure_database(admin, s.name)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot create database {s.name!r}: {first_line(exc)}") from exc
    ensure_postgis(url)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "database_url").write_text(url + "\n")
    return UpResult(url, how)


def db_down(settings: DBSettings | None = None) -> bool:
    """Stop the project-local cluster if this project started one."""
    s = settings or db_settings()
    data = s.cluster_dir.resolve()
    if not (data / "postmaster.pid").exists():
        return False
    run_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    return True


# -------------------------------------------------------------------- migrations


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration(p.name, p.read_text()) for p in sorted(directory.glob("*.sql"))]


class MigrationMismatch(DatabaseError):
    """The database records migrations that the files do not match."""


def applied_migrations(conn: psycopg.Connection) -> dict[str, str]:
    """{name: checksum} of the recorded migrations (``conn`` uses dict rows)."""
    if not conn.execute("SELECT to_regclass('nsp_migration') IS NOT NULL AS e").fetchone()["e"]:
        return {}
    rows = conn.execute("SELECT name, checksum FROM nsp_migration ORDER BY name").fetchall()
    return {r["name"]: r["checksum"] for r in rows}


def migrate(url: str | None = None, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations in one transaction each; return their names."""
    url = url or database_url()
    files = migrations(directory)
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS nsp_migration (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        # Serialise concurrent `nsp db migrate` runs.
        conn.execute("SELECT pg_advisory_lock(hashtext('nsp_migrate'))")
        try:
            done = applied_migrations(conn)
            by_name = {m.name: m for m in files}
            unknown = sorted(set(done) - set(by_name))
            if unknown:
                raise MigrationMismatch(
                    f"the database records migrations that are not in {directory}: "
                    f"{', '.join(unknown)}; is this database from a newer nsp?"
                )
            changed = [n for n, c in done.items() if by_name[n].checksum != c]
            if changed:
                raise MigrationMismatch(
                    f"migrations changed after they were applied: {', '.join(changed)}; "
                    "add a new migration instead of editing an applied one"
                )
            for m in files:
                if m.name in done:
                    continue
                with conn.transaction():
                    try:
                        conn.execute(m.sql)
                    except psycopg.Error as exc:
                        raise DatabaseError(f"migration {m.name} failed: {first_line(exc)}") from exc
                    conn.execute(
                        "INSERT INTO nsp_migration (name, checksum) VALUES (%s, %s)",
                        (m.name, m.checksum),
                    )
                applied_now.append(m.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('nsp_migrate'))")
    return applied_now


def status(url: str | None = None) -> dict:
    url = url or database_url()
    with connect(url) as conn:
        postgis = conn.execute("SELECT postgis_lib_version() AS v").fetchone()["v"]
        done = applied_migrations(conn)
        pending = [m.name for m in migrations() if m.name not in done]
        counts = {}
        for table in ("border_section", "event", "patrol", "asset_position", "ingest_batch", "quarantine"):
            if conn.execute("SELECT to_regclass(%s) AS r", (table,)).fetchone()["r"]:
                counts[table] = conn.execute(
                    sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
                ).fetchone()["n"]
    return {
        "url": redact(url),
        "postgis": postgis,
        "migrations_applied": sorted(done),
        "migrations_pending": pending,
        "rows": counts,
    }
