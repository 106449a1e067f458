"""The job queue: one procrastinate ``App`` shared by every area.

Jobs live in PostgreSQL (procrastinate's tables, migration ``0004_procrastinate.sql``),
so any number of ``nsp worker`` processes on any number of machines share one queue.
Areas define their tasks in their own modules with ``from nsp.queue import app``;
``import_paths`` lists them so that a worker knows every task. A module that does not
exist yet (an area still under construction) is left out instead of breaking the worker.

The connection string is resolved when the app is opened, not at import time, so the
same ``app`` follows ``DATABASE_URL`` (tests point it at a fresh database per test).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from procrastinate import App, PsycopgConnector
from pydantic import Field
from pydantic_settings import BaseSettings

from nsp import db
from nsp.settings import settings_config

TASK_MODULES = ("ingest.delivery.tasks", "geo.snapshot.tasks")


class QueueSettings(BaseSettings):
    """The queue and its workers (``NSP_QUEUE_*``)."""

    model_config = settings_config("NSP_QUEUE_")

    concurrency: int = Field(default=1, ge=1, description="jobs one worker runs at a time")
    heartbeat_seconds: float = Field(default=5.0, gt=0, description="worker heartbeat interval")
    stalled_seconds: float = Field(
        default=30.0, gt=0,
        description="a worker without a heartbeat for this long is dead; its job runs again",
    )
    poll_seconds: float = Field(default=2.0, gt=0, description="job polling fallback to LISTEN/NOTIFY")
    shutdown_timeout: float | None = Field(
        default=None, description="on SIGTERM, wait this long for running jobs (none: until done)"
    )
    delete_jobs: str = Field(
        default="successful", pattern="^(never|successful|always)$",
        description="which finished jobs a worker deletes (the ingest_batch table keeps the record)",
    )
    retry_attempts: int = Field(default=5, ge=0, description="retries of a failed ingest job")
    retry_exponential_wait: int = Field(
        default=4, ge=0, description="backoff base: retry n waits base**n seconds"
    )
    orphan_batch_seconds: float = Field(
        default=60.0, ge=0,
        description="a batch still 'running' this long after it began, whose database session has ended (a killed "
                    "`nsp ingest`), is marked failed ('process ended') by the maintenance task (every minute)",
    )


def queue_settings() -> QueueSettings:
    return QueueSettings()


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


class _LazyConnector(PsycopgConnector):
    """A PsycopgConnector whose conninfo is read from the settings when a pool opens."""

    @property
    def _pool_args(self) -> dict[str, Any]:
        return {"conninfo": db.database_url(), **self._extra_pool_args}

    @_pool_args.setter
    def _pool_args(self, value: dict[str, Any]) -> None:
        self._extra_pool_args = value

    # A pool that could not open (the database went away, or refused connections, while the pool
    # waited for its first ones) closes itself but stays procrastinate's: every later open returned
    # it at once and every query failed with "the pool is closed" for good, although the database
    # was back. A closed pool is dropped, and the next open makes a new one.

    def get_sync_connector(self):
        sync = self._sync_connector
        if sync is not None and _closed(getattr(sync, "_pool", None)):
            self._sync_connector = None  # closed: the next open reads the URL again
        if _closed(self._async_pool) and not self._pool_externally_set:
            self._async_pool = None
        return super().get_sync_connector()

    async def open_async(self, pool=None) -> None:
        if pool is None and _closed(self._async_pool) and not self._pool_externally_set:
            self._async_pool = None
        try:
            await super().open_async(pool)
        except BaseException:
            if pool is None and _closed(self._async_pool):
                self._async_pool = None
            raise


def _closed(pool) -> bool:
    """No pool, or one that is closed."""
    return pool is None or bool(getattr(pool, "closed", False))


app = App(
    connector=_LazyConnector(),
    import_paths=[m for m in TASK_MODULES if _present(m)],
)
