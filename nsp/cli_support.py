"""What nsp's commands share: who does a thing (``--actor``), how far back (``--since``),
times in tables, and rows printed as a table or JSON.

**One actor convention.** Every command that changes something takes ``--actor NAME``, read
from ``NSP_ACTOR`` when not given, and otherwise the operating system's login name. The name
is what the audit log and the decision rows record.
"""

from __future__ import annotations

import getpass
import json
import signal
import threading
from datetime import UTC, datetime

import click

from nsp import db
from nsp.durations import parse_duration
from nsp.queries import queries


def stop_event() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C), for the commands that run until stopped."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def default_actor() -> str:
    """The login name of whoever runs the command (``NSP_ACTOR`` is read by click)."""
    return getpass.getuser()


actor_option = click.option(
    "--actor", envvar="NSP_ACTOR", default=default_actor, show_default="NSP_ACTOR or the login name",
    help="who does this, for the audit log [env NSP_ACTOR]")


def parse_since(text: str) -> datetime:
    """``30m``, ``24h``, ``7d`` (that long ago) or an ISO 8601 time (naive = UTC)."""
    try:
        return datetime.now(UTC) - parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: use 30m, 24h, 7d or an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def since_option(default: str):
    return click.option("--since", default=default, show_default=True, metavar="WHEN",
                        callback=lambda _ctx, _param, value: parse_since(value),
                        help="how far back: 30m, 24h, 7d or an ISO 8601 time (UTC when naive)")


def utc_text(value: datetime | None) -> str:
    """A time in a table: ``2026-11-29 14:05:00`` (UTC), ``-`` for none."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def fetch_rows(query: str, params: dict, as_json: bool, none: str) -> list[dict]:
    """The rows of the named query; printed as JSON (or ``none`` when there are none) and then
    returned empty, so that the caller prints only a non-empty text table."""
    with db.connect() as conn:
        rows = conn.execute(queries[query], params).fetchall()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=lambda v: v.isoformat()))
        return []
    if not rows:
        click.echo(none)
    return rows
