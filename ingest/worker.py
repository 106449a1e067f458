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
import sys

from nsp.queue import QueueSettings, app

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


async def _run(settings: QueueSettings, concurrency: int, queues: list[str] | None,
               until_empty: bool, name: str | None) -> None:
    from ingest.tasks import retry_stalled

    async with app.open_async():
        # Jobs left in 'doing' by a worker that died (SIGKILL, lost machine) run again.
        await retry_stalled(settings.stalled_seconds)
        await app.run_worker_async(
            concurrency=concurrency,
            queues=queues or None,
            wait=not until_empty,
            name=name,
            fetch_job_polling_interval=settings.poll_seconds,
            update_heartbeat_interval=settings.heartbeat_seconds,
            stalled_worker_timeout=settings.stalled_seconds,
            shutdown_graceful_timeout=settings.shutdown_timeout,
            delete_jobs=settings.delete_jobs,
            install_signal_handlers=True,
        )


def run_worker(concurrency: int | None = None, queues: list[str] | None = None,
               until_empty: bool = False, name: str | None = None) -> None:
    """Run a worker until SIGTERM/SIGINT (running jobs finish first), or until empty."""
    settings = QueueSettings()
    asyncio.run(_run(settings, concurrency or settings.concurrency, queues, until_empty, name))
