"""Running the queue worker, and structured logs for the long-running commands.

Logs are one line per record: ``logfmt`` key=value pairs (default) or JSON lines
(``NSP_LOG_FORMAT=json``), with the structured fields that procrastinate and nsp attach
(``action``, ``job_id``, ``task_name``, ``file``, ``source``, counts, ...).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time

import psycopg
from procrastinate.exceptions import ConnectorException
from procrastinate.worker import Worker

from nsp import db
from nsp.queue import QueueSettings, app

log = logging.getLogger("nsp.ingest.worker")

_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict:
    out = {
        "ts": logging.Formatter().formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STD and not key.startswith("_"):
            out[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False)


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = []
        for key, value in _fields(record).items():
            text = "" if value is None else str(value)
            if not text or any(c in text for c in ' ="\n'):
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        return " ".join(parts)


def setup_logging(level: str | None = None, fmt: str | None = None) -> None:
    fmt = (fmt or os.environ.get("NSP_LOG_FORMAT", "logfmt")).lower()
    level = (level or os.environ.get("NSP_LOG_LEVEL", "INFO")).upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("procrastinate").setLevel(level)


# What an outage raises out of procrastinate's worker: psycopg's errors (a pool timeout is one),
# procrastinate's wrapping of them, and socket errors.
OUTAGE = (psycopg.Error, ConnectorException, OSError)
# A worker that ran this long before it was lost starts again after 1 s; quicker losses wait longer.
STEADY_SECONDS = 60


class _Worker(Worker):
    """procrastinate's worker, which stops by itself when a side task fails (the heartbeat or the
    LISTEN connection, at once when the database goes away): it remembers why, and it honours a
    stop asked for before it started (``halt``)."""

    def __init__(self, *args, halt: threading.Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.halt = halt
        self.lost: BaseException | None = None

    async def _monitor_side_tasks(self, side_tasks):
        await super()._monitor_side_tasks(side_tasks)
        for task in side_tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                self.lost = task.exception()

    async def _fetch_and_process_jobs(self):
        if self.halt.is_set():
            self.stop()
        await super()._fetch_and_process_jobs()


async def _run(settings: QueueSettings, concurrency: int, queues: list[str] | None,
               until_empty: bool, name: str | None) -> None:
    """Run procrastinate's worker, and again whenever the database went away under it.

    The worker waits for the database before it starts and after every outage (backoff, logged).
    Jobs that an outage interrupted are still ``doing`` under this worker's previous id: it is
    unregistered once the database is back, so that ``retry_stalled`` queues them again at once.
    """
    from ingest.delivery.tasks import retry_stalled

    halt = threading.Event()
    running: list[_Worker] = []

    def on_signal():
        halt.set()
        for w in running:
            w.stop()

    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():  # signals reach only the main thread
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
    app.perform_import_paths()
    orphan: int | None = None  # the id this worker had when an outage ended it
    restarts = db.Backoff(maximum=db.db_settings().reconnect_max_seconds)
    while await asyncio.to_thread(db.wait_for_database, halt, "worker", log):
        started = time.monotonic()
        worker = _Worker(
            app=app, halt=halt,
            concurrency=concurrency,
            queues=queues or None,
            wait=not until_empty,
            name=name,
            fetch_job_polling_interval=settings.poll_seconds,
            update_heartbeat_interval=settings.heartbeat_seconds,
            stalled_worker_timeout=settings.stalled_seconds,
            shutdown_graceful_timeout=settings.shutdown_timeout,
            delete_jobs=settings.delete_jobs,
            install_signal_handlers=False,
        )
        try:
            async with app.open_async():
                if orphan is not None:
                    await app.job_manager.unregister_worker(orphan)
                    orphan = None
                # Jobs left in 'doing' by a worker that died (SIGKILL, lost machine, an outage).
                await retry_stalled(settings.stalled_seconds)
                running.append(worker)
                try:
                    await worker.run()
                finally:
                    running.remove(worker)
        except OUTAGE as exc:
            worker.lost = exc
        if halt.is_set() or worker.lost is None:
            return
        orphan = worker.worker_id or orphan
        if time.monotonic() - started > STEADY_SECONDS:
            restarts = db.Backoff(maximum=restarts.maximum)
        delay = restarts.next()  # never a tight loop, whatever ended it
        log.warning("database lost; the worker waits for it and starts again", extra={
            "action": "db_lost", "command": "worker", "error": db.first_line(worker.lost), "retry_in": delay})
        await asyncio.to_thread(halt.wait, delay)


def run_worker(concurrency: int | None = None, queues: list[str] | None = None,
               until_empty: bool = False, name: str | None = None) -> None:
    """Run a worker until SIGTERM/SIGINT (running jobs finish first), or until empty. A database
    outage does not end it: it waits for the database and goes on."""
    settings = QueueSettings()
    asyncio.run(_run(settings, concurrency or settings.concurrency, queues, until_empty, name))
