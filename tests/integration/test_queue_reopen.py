"""The queue's app opens again after a pool that could not open: the database was away (or
refused connections) while the pool waited for its first connections. psycopg_pool then closes
that pool; procrastinate kept it, so every later open returned it and every job queued by
`nsp watch` (sync) or fetched by `nsp worker` (async) failed with "the pool is closed" for good,
although the database was back."""

from __future__ import annotations

import asyncio
import functools
import socket
from contextlib import contextmanager

import psycopg_pool
import pytest

from nsp.queue import app
from nsp.settings import db_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens on it once the socket is closed


@contextmanager
def short_pool_open():
    """Within the block a pool's first open waits 1 s for its connections, not procrastinate's 30 s."""
    with pytest.MonkeyPatch.context() as mp:
        for cls in (psycopg_pool.ConnectionPool, psycopg_pool.AsyncConnectionPool):
            mp.setattr(cls, "open", functools.partialmethod(cls.open, timeout=1.0))
        yield


def _point_at(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    db_settings.cache_clear()


def test_watch_side_app_opens_again_after_a_pool_that_could_not_open(db_url, monkeypatch):
    _point_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{_closed_port()}/nsp")
    with short_pool_open(), pytest.raises(psycopg_pool.PoolTimeout):
        app.open()  # as `with app.open():` in nsp watch: no close follows
    _point_at(monkeypatch, db_url)
    with app.open():
        assert app.job_manager.list_jobs() == []  # a working pool, on the database that is back
        app.configure_task("ingest.tasks.ingest_file_job").defer(path="/nowhere/x.ndjson", source="t")
        assert [j.status for j in app.job_manager.list_jobs()] == ["todo"]


def test_worker_side_app_opens_again_after_a_pool_that_could_not_open(db_url, monkeypatch):
    async def run() -> list:
        _point_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{_closed_port()}/nsp")
        with short_pool_open(), pytest.raises(psycopg_pool.PoolTimeout):
            async with app.open_async():
                pass
        _point_at(monkeypatch, db_url)
        async with app.open_async():
            return await app.job_manager.list_jobs_async()

    assert asyncio.run(run()) == []
