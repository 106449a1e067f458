"""``nsp feeds list|expect``: each feed's last delivery, and how often it should deliver.

A feed is an ingest source: a drop-folder sub-folder, a ``--source`` name, or an API source.
DATA STALE on the wall waits until every feed is silent; an expected interval per source
(``feed_expectation``, ``sql/migrations/0012_feed_expectation.sql``) marks one feed LATE as
soon as it misses its own rhythm — a live AIS feed after minutes, a board's daily report after
a day — on the main page, the wall's LIVE sign, here and in ``/healthz``. Each change is
written to the audit log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from ingest.formats.base import skipped_text
from nsp import access, db
from nsp.cli_support import actor_option
from nsp.durations import duration_text, parse_duration
from nsp.queries import queries

MIN_EVERY = timedelta(minutes=1)


def _every(_ctx, _param, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        every = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if every < MIN_EVERY:
        raise click.BadParameter(f"{value!r}: at least 1 minute")
    return every


def _status(row: dict) -> str:
    if row["expected_every"] is None:
        return "-"
    return "LATE" if row["late"] else "ok"


@click.group("feeds")
def feeds():
    """Feeds (ingest sources): last delivery, expected interval, late ones."""


@feeds.command("list")
@click.option("--days", type=click.IntRange(1), default=7, show_default=True,
              help="sources that delivered within this many days (expected ones are always listed)")
@click.option("--json", "as_json", is_flag=True, help="print JSON rows (intervals in seconds)")
def feeds_list(days: int, as_json: bool):
    """Each feed, late ones first, then the longest silent: last completed delivery (UTC),
    its age, the expected interval and LATE / ok, and in the last 24 h its files, its skipped
    records (with the reasons) and its refused records / failed files. The main page's feeds
    table, in a terminal."""
    with db.connect() as conn:
        rows = conn.execute(queries["picture_feeds"], {"days": days}).fetchall()
    now = datetime.now(UTC)
    if as_json:
        out = [{**r, "last_delivery": r["last_delivery"].isoformat() if r["last_delivery"] else None,
                "expected_every": r["expected_every"].total_seconds() if r["expected_every"] else None}
               for r in rows]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no feed has delivered in the last {days} days and none is expected")
        return
    click.echo(f"{'feed':<24} {'last delivery (UTC)':<19}  {'age':>10}  {'expected':>10}  {'status':<6} "
               f"{'files 24h':>9} {'skipped 24h':>11}  refused / failed 24h")
    for r in rows:
        last = r["last_delivery"]
        click.echo(f"{r['source'][:24]:<24} {last.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S') if last else 'never':<19}  "
                   f"{duration_text(now - last) if last else '-':>10}  "
                   f"{'every ' + duration_text(r['expected_every']) if r['expected_every'] else '-':>10}  "
                   f"{_status(r):<6} {r['files_24h']:>9,} {r['skipped_24h']:>11,}  "
                   f"{r['quarantined_24h']:,} / {r['failed_24h']:,}")
        if r["skipped_reasons_24h"]:
            click.echo(f"{'':<26}skipped: {skipped_text(r['skipped_reasons_24h'])}")


@feeds.command("expect")
@click.argument("source")
@click.argument("every", required=False, callback=_every)
@click.option("--note", default=None, help="why this interval, or who to call (kept with it)")
@click.option("--clear", is_flag=True, help="remove SOURCE's expected interval instead")
@actor_option
def feeds_expect(source: str, every: timedelta | None, note: str | None, clear: bool, actor: str):
    """Expect SOURCE to deliver at least once every EVERY (5m, 1h, 26h, 1h30m), or --clear it.

    A source that has not finished a delivery within EVERY is LATE. Give some slack over the
    feed's own rhythm: a daily report, 26h."""
    if clear == (every is not None):
        raise click.UsageError("give either EVERY or --clear")
    who = actor
    with db.connect() as conn, conn.transaction():
        if clear:
            row = conn.execute(queries["feeds_forget"], {"source": source}).fetchone()
            if row is None:
                click.echo(f"{source}: no expected interval was set")
                return
            access.audit(conn, who, "feed_forget", source, {"every": duration_text(row["every"])})
            click.echo(f"{source}: expected interval removed (was every {duration_text(row['every'])})")
            return
        row = conn.execute(queries["feeds_expect"],
                           {"source": source, "every": every, "note": note, "actor": who}).fetchone()
        access.audit(conn, who, "feed_expect", source,
                     {"every": duration_text(every), "note": note,
                      "previous": duration_text(row["previous"]) if row["previous"] else None})
        delivered = conn.execute("SELECT EXISTS (SELECT 1 FROM ingest_batch WHERE source = %s) AS any",
                                 (source,)).fetchone()["any"]
    click.echo(f"{source}: expected every {duration_text(every)}"
               + (f" (was every {duration_text(row['previous'])})" if row["previous"] else ""))
    if not delivered:
        click.echo(f"note: no delivery from {source!r} is on record yet; it shows as LATE until one arrives "
                   "(names: nsp feeds list, nsp deliveries)")
