"""The test suite's own PostgreSQL server: a cluster in memory (``/dev/shm``) with PostgreSQL's
non-durable settings, started at first use and shared by every test process and every run.

Each test works in a fresh copy of a template database (tests/conftest.py), some hundreds of
copies a run. On a durable server each copy is written to the WAL (``CREATE DATABASE``'s
default strategy logs every page of the template, 17 MB for the sections template) and then
again to its files, and each drop ends in a checkpoint: most of the kernel's time in the first
round of ``make test``. The PostgreSQL documentation's "Non-Durable Settings" are meant for such
data, which nobody needs after a crash: ``fsync``, ``synchronous_commit`` and
``full_page_writes`` off, the data in memory. The server, PostGIS and every query are the same
as in production; what is given up is only what a crash would keep.

``NSP_TEST_DB=local`` (``make bench``) runs the tests on the server of ``nsp db up`` instead:
benchmarks measure a durable server. ``DATABASE_URL`` overrides both.

The cluster stays up after the run, with its template databases (they are named by a digest
of what they are built from), for the next run; ``make clean`` removes it
(``python -m tests.support.cluster down``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from nsp import db
from tests.support.pgserver import Server, owned_folder

# The settings, also in the name of the folder: a cluster started with other settings is
# another cluster.
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "256MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "listen_addresses": "127.0.0.1",
    "shared_preload_libraries": db.PRELOAD,
}


# A run's databases take some hundreds of MB at most (the copies are dropped as the tests end);
# a smaller /dev/shm (a container's is 64 MB by default) puts the cluster on disk instead.
MIN_FREE = 2 << 30


def base() -> Path:
    """Where the cluster lives: /dev/shm, or the temporary folder where /dev/shm is small."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize >= MIN_FREE:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def root() -> Path:
    digest = hashlib.sha256(repr(sorted(SETTINGS.items())).encode()).hexdigest()[:8]
    return base() / f"nsp_test_pg_{os.geteuid()}_{digest}"


def _url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _answers(port: int, data: Path) -> bool:
    """Whether this cluster (not another server that took its port since) answers on ``port``."""
    try:
        with psycopg.connect(_url(port), connect_timeout=3) as conn:
            return conn.execute("SHOW data_directory").fetchone()[0] == str(data)
    except psycopg.Error:
        return False


def _port(data: Path) -> int | None:
    """The port of the server running on ``data`` (its postmaster.pid's fourth line), if any."""
    try:
        return int((data / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def up() -> str:
    """The cluster's admin URL, the cluster made and started if it is not running; any number of
    processes may call it at once (the first one starts it, the others wait on a lock)."""
    home = root()
    home.mkdir(exist_ok=True)
    lock = os.open(home.parent / f"{home.name}.lock", os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = home / "data"
        running = _port(data)
        if running and _answers(running, data):
            return _url(running)
        owned_folder(home)
        port = db.free_port(56432)
        server = Server(home, "data", port, options=" ".join(f"-c {k}={v}" for k, v in SETTINGS.items()))
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            server.initdb("--no-sync")
        try:
            server.start()
        except Exception as exc:
            raise db.DatabaseError(f"the tests' PostgreSQL cluster in {home} did not start: {exc}\n"
                                   f"{server.log_tail()}") from exc
        for _ in range(100):
            if _answers(port, data):
                return _url(port)
            time.sleep(0.1)
        raise db.DatabaseError(f"the tests' PostgreSQL cluster in {home} does not answer on port {port}")
    finally:
        os.close(lock)


def admin_url() -> str:
    """The tests' server (as an admin URL): DATABASE_URL; else this cluster, or with
    NSP_TEST_DB=local the server of ``nsp db up`` (the benchmarks)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if os.environ.get("NSP_TEST_DB", "suite") == "local":
        return db.with_dbname(db.db_up().url, "postgres")  # idempotent; the embedded default
    return up()


def down() -> bool:
    """Stop the cluster and remove it (its folder in memory); False if there was none."""
    home = root()
    if not home.exists():
        return False
    Server(home, "data", port=0).stop()  # (pg_ctl stops it by its data folder)
    shutil.rmtree(home, ignore_errors=True)
    return True


if __name__ == "__main__":
    if sys.argv[1:] == ["up"]:
        print(up())
    elif sys.argv[1:] == ["down"]:
        print("removed" if down() else "none")
    else:
        sys.exit("usage: python -m tests.support.cluster up|down")
