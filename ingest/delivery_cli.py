"""``nsp watch``, ``nsp worker``, ``nsp sources``, ``nsp scenario`` and ``nsp demo``."""

from __future__ import annotations

import getpass
import signal
import threading
from pathlib import Path

import click

from ingest.delivery_settings import WatchSettings
from nsp import db
from nsp.queue import QueueSettings

_watch = WatchSettings()
_queue = QueueSettings()


def _stop_event() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C)."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


# ------------------------------------------------------------------------ nsp watch


@click.command("watch")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", envvar="NSP_WATCH_SOURCE", default=_watch.source, show_default=True,
              help="source of files directly in DIRECTORY; a sub-folder's files use the "
                   "sub-folder's name [env NSP_WATCH_SOURCE]")
@click.option("--poll", "poll_seconds", envvar="NSP_WATCH_POLL_SECONDS", type=float,
              default=_watch.poll_seconds, show_default=True,
              help="seconds between looks at the folder [env NSP_WATCH_POLL_SECONDS]")
@click.option("--once", is_flag=True, help="queue what is there now (two polls), then exit")
def watch(directory: Path, source: str, poll_seconds: float, once: bool):
    """Watch a drop folder: each completely written file becomes a queued ingest job.

    A file is complete when its size and time stopped changing between two polls, or
    when it is renamed from NAME.part. `nsp worker` loads it and moves it to
    DIRECTORY/processed/, or to DIRECTORY/failed/ with NAME.error.txt when it cannot be
    read at all. Stops cleanly on SIGTERM or Ctrl-C.
    """
    from ingest.tasks import defer_file
    from ingest.watch import DropFolder
    from ingest.worker import setup_logging
    from nsp.queue import app

    setup_logging()
    directory.mkdir(parents=True, exist_ok=True)
    stop = _stop_event()
    folder = DropFolder(directory.resolve(), source, defer_file)
    with app.open():
        n = folder.run(poll_seconds, stop, once=once)
    click.echo(f"queued {n} file(s)", err=True)


# ----------------------------------------------------------------------- nsp worker


@click.command("worker")
@click.option("--concurrency", "-c", envvar="NSP_QUEUE_CONCURRENCY", type=click.IntRange(1),
              default=_queue.concurrency, show_default=True,
              help="jobs run at the same time by this worker [env NSP_QUEUE_CONCURRENCY]")
@click.option("--queue", "queues", multiple=True,
              help="only these queues (ingest, maintenance, ...); default all")
@click.option("--until-empty", is_flag=True, help="exit when no job is left instead of waiting")
@click.option("--name", default=None, help="worker name in the logs")
def worker(concurrency: int, queues: tuple[str, ...], until_empty: bool, name: str | None):
    """Run queue jobs (ingest files, exports, maintenance) until SIGTERM or Ctrl-C.

    Any number of workers on any number of machines share the one queue in PostgreSQL.
    A failed job is retried with exponential backoff (NSP_QUEUE_RETRY_ATTEMPTS,
    NSP_QUEUE_RETRY_EXPONENTIAL_WAIT). A worker sends a heartbeat every
    NSP_QUEUE_HEARTBEAT_SECONDS; the job of a worker silent for NSP_QUEUE_STALLED_SECONDS
    (killed, machine lost) runs again. On SIGTERM running jobs finish first
    (at most NSP_QUEUE_SHUTDOWN_TIMEOUT seconds). Logs: NSP_LOG_FORMAT=logfmt|json.
    """
    from ingest.worker import run_worker, setup_logging

    setup_logging()
    db.database_url()  # a clear error now rather than deep in the worker
    run_worker(concurrency, list(queues), until_empty, name)


# ---------------------------------------------------------------------- nsp sources


@click.group("sources")
def sources():
    """Ingest sources and their bearer tokens for POST /api/ingest."""


def _actor(actor: str | None) -> str:
    return actor or getpass.getuser()


_actor_option = click.option("--actor", envvar="NSP_ACTOR", default=None,
                             help="who does this, for the audit log [env NSP_ACTOR; default: OS user]")


@sources.command("add")
@click.argument("name")
@click.option("--description", "-d", default=None, help="what feeds this source")
@_actor_option
def sources_add(name: str, description: str | None, actor: str | None):
    """Create source NAME and print its new token (shown only this once)."""
    from ingest import sources as src

    with db.connect(autocommit=True) as conn:
        token = src.add(conn, name, _actor(actor), description)
    click.echo(token)
    click.echo(f"# token for source {name!r}; it is stored only as a hash and "
               "cannot be shown again", err=True)


@sources.command("list")
@click.option("--active", is_flag=True, help="only sources whose token is valid")
def sources_list(active: bool):
    """List sources: name, state, created, last used."""
    from ingest import sources as src

    with db.connect(autocommit=True) as conn:
        rows = src.list_sources(conn, include_revoked=not active)
    if not rows:
        click.echo("no sources (add one with `nsp sources add NAME`)")
        return
    click.echo(f"{'name':<24} {'state':<8} {'created':<20} {'last used':<20} description")
    for s in rows:
        fmt = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "-"  # noqa: E731
        state = "active" if s.active else "revoked"
        click.echo(f"{s.name:<24} {state:<8} {fmt(s.created_at):<20} {fmt(s.last_used_at):<20} "
                   f"{s.description or ''}")


@sources.command("revoke")
@click.argument("name")
@_actor_option
def sources_revoke(name: str, actor: str | None):
    """Revoke the token of source NAME (its requests get 401 from now on)."""
    from ingest import sources as src

    with db.connect(autocommit=True) as conn:
        src.revoke(conn, name, _actor(actor))
    click.echo(f"revoked {name}")
