"""A throw-away primary server and a streaming-replication standby of it
(tests/support/pgserver.py: local binaries, ``pg_basebackup -R``, reserved ports, run as the
``postgres`` user, in a temporary folder)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from nsp import db
from tests.support.pgserver import Server, free_port, owned_folder, release


class PrimaryAndStandby:
    """``primary`` (initdb: wal_level replica, replication allowed from 127.0.0.1 by its
    default pg_hba.conf) and, after :meth:`start_standby`, ``standby`` (a hot standby made with
    ``pg_basebackup -R``)."""

    def __init__(self):
        self.root = owned_folder(prefix="nsp_replica_pg_")
        self.primary = Server(self.root, "primary", free_port())
        self.standby = Server(self.root, "standby", free_port())
        self.primary.initdb()
        self.primary.start()

    def start_standby(self) -> None:
        db.run_as_postgres([db.pg_bin("pg_basebackup"), "-D", str(self.standby.data), "-R", "-X", "stream",
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
