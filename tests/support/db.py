"""Test databases on the test server: created (maybe from a template) and dropped by name.

Names start with ``PREFIX`` (the process id: each pytest process, xdist workers included,
has its own databases).

PostgreSQL ends every ``DROP DATABASE`` with a checkpoint (it writes out every dirty page of the
server, a second or more on a busy one). ``drop_later`` hands a test's database to a thread
that drops it while the next test runs; ``dropped`` waits for those drops and returns
their failures.
"""

from __future__ import annotations

import os
import queue
import threading

import psycopg
from psycopg import sql

from nsp import db

PREFIX = f"nsp_t{os.getpid()}"


def create(admin: str, name: str, template: str | None = None) -> str:
    """A new database ``name`` (an old one of that name dropped first); returns its URL."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        q = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            q += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(q)
    return db.with_dbname(admin, name)


def drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _Dropper:
    """One thread of the process that drops the databases handed to it, one after the other;
    at most ``BACKLOG`` wait, so that the copies on the server's disk stay few."""

    BACKLOG = 4

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=self.BACKLOG)
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.failures: list[str] = []

    def put(self, admin: str, name: str) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nsp-test-drops", daemon=True)
                self._thread.start()
        self._queue.put((admin, name))  # waits while BACKLOG drops wait

    def _run(self) -> None:
        while True:
            admin, name = self._queue.get()
            try:
                drop(admin, name)
            except Exception as exc:  # noqa: BLE001 - reported by dropped(), at the session's end
                self.failures.append(f"DROP DATABASE {name}: {exc}")
            finally:
                self._queue.task_done()

    def join(self) -> list[str]:
        self._queue.join()
        failures, self.failures = self.failures, []
        return failures


_dropper = _Dropper()


def drop_later(admin: str, name: str) -> None:
    """Drop ``name`` from the process's drop thread (see the module's note)."""
    _dropper.put(admin, name)


def dropped() -> list[str]:
    """Wait until every database handed to ``drop_later`` is dropped; the drops that failed."""
    return _dropper.join()
