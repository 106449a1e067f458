"""A throw-away primary cluster and a streaming-replication standby of it, from the local
PostgreSQL binaries (initdb, pg_ctl, pg_basebackup -R), on free ports of 19600-19699, in a
temporary folder, run as the ``postgres`` user (PostgreSQL refuses root). The system server's
configuration is never touched.

A port is reserved for its cluster by a lock held on ``/tmp/nsp_test_pg_port_<port>.lock``
until the cluster is removed (or its process ends): a port seen free is not yet listened on
while ``initdb`` runs, and two test processes had both taken 19600 and one cluster's start
failed."""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from nsp import db

PORTS = range(19600, 19700)
SERVER_OPTIONS = "-c fsync=off -c full_page_writes=off -c listen_addresses=127.0.0.1"


_reserved: dict[int, int] = {}  # port -> the open lock file that reserves it for this process


def free_port() -> int:
    """A port of ``PORTS`` that nothing listens on and no other process has reserved; reserved
    for this process until :func:`release`."""
    for port in PORTS:
        if port in _reserved:
            continue
        fd = os.open(f"/tmp/nsp_test_pg_port_{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:  # reserved by another process, or in use
            os.close(fd)
            continue
        _reserved[port] = fd
        return port
    raise RuntimeError("no free port in 19600-19699")


def release(port: int) -> None:
    fd = _reserved.pop(port, None)
    if fd is not None:
        os.close(fd)


class Server:
    def __init__(self, root: Path, name: str, port: int):
        self.root, self.data, self.port = root, root / name, port
        self.log = root / f"{name}.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        db._run_as_postgres([db._pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                             "start", "-o", f"-p {self.port} -k {self.root} {SERVER_OPTIONS}"])

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            db._run_as_postgres([db._pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class PrimaryAndStandby:
    """``primary`` (initdb: wal_level replica, replication allowed from 127.0.0.1 by its
    default pg_hba.conf) and, after :meth:`start_standby`, ``standby`` (a hot standby made with
    ``pg_basebackup -R``)."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="nsp_replica_pg_", dir="/tmp"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.primary = Server(self.root, "primary", free_port())
        self.standby = Server(self.root, "standby", free_port())
        db._run_as_postgres([db._pg_bin("initdb"), "-D", str(self.primary.data), "-U", "postgres",
                             "--auth=trust", "-E", "UTF8"])
        self.primary.start()

    def start_standby(self) -> None:
        db._run_as_postgres([db._pg_bin("pg_basebackup"), "-D", str(self.standby.data), "-R", "-X", "stream",
                             "-c", "fast", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"])
        self.standby.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(self.standby.url(), connect_timeout=2) as c:
                    if c.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not come up:\n" + self.standby.log_tail())
            time.sleep(0.2)

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as p:
            lsn = p.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby.url(), autocommit=True) as s:
            while s.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()) > 0",
                            (lsn,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the standby did not replay up to {lsn}:\n" + self.standby.log_tail())
                time.sleep(0.05)

    def remove(self) -> None:
        for server in (self.standby, self.primary):
            try:
                server.stop("immediate")
            except Exception:  # noqa: BLE001 - cleaning up whatever is left
                pass
            release(server.port)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def primary_and_standby(dbname: str, prepare: Callable[[str], None]) -> Iterator[PrimaryAndStandby]:
    """A primary with database ``dbname`` (migrated, then ``prepare(url)``), and a standby made
    of it after that; both removed at the end."""
    p = PrimaryAndStandby()
    try:
        url = db.ensure_database(p.primary.url(), dbname)
        db.migrate(url)
        prepare(url)
        p.start_standby()
        yield p
    finally:
        p.remove()
