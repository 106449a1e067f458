"""``nsp deliveries`` and ``nsp quarantine``: what the feeds delivered and what was refused.

For the people who keep the feeds running: is a source delivering, what did a file load,
and which records were quarantined, where in the file, why, and with what raw text — without
writing SQL. Both read ``ingest_batch`` and ``quarantine`` (sql/queries/ingest.sql).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from nsp import db
from nsp.durations import parse_duration
from nsp.queries import queries

RAW_PREVIEW = 300  # characters of a quarantined record's raw text shown with --raw


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


def _since_option(default: str):
    return click.option("--since", default=default, show_default=True, metavar="WHEN",
                        callback=lambda _ctx, _param, value: parse_since(value),
                        help="how far back: 30m, 24h, 7d or an ISO 8601 time (UTC when naive)")


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _fetch(query: str, params: dict, as_json: bool, none: str) -> list[dict]:
    """The rows of ``query``; printed as JSON (or ``none`` when there are none) and then
    returned empty, so that the caller prints only a non-empty text table."""
    with db.connect() as conn:
        rows = conn.execute(queries[query], params).fetchall()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=lambda v: v.isoformat()))
        return []
    if not rows:
        click.echo(none)
    return rows


@click.command("deliveries")
@click.option("--source", default=None, help="only this source")
@click.option("--status", type=click.Choice(["running", "done", "failed"]), default=None,
              help="only batches in this state")
@_since_option("7d")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
def deliveries(source, status, since, limit, as_json):
    """Recent deliveries (one batch per file or HTTP body), newest first: records,
    accepted, duplicates, quarantined, and why a failed one failed. Times in UTC."""
    params = {"source": source, "status": status, "since": since, "limit": limit}
    rows = _fetch("ingest_deliveries", params, as_json, "no deliveries in that window")
    if not rows:
        return
    click.echo(f"{'batch':>6}  {'received (UTC)':<19}  {'source':<18} {'status':<7} {'records':>8} "
               f"{'accepted':>8} {'dup':>6} {'quar':>5}  file")
    for r in rows:
        click.echo(f"{r['id']:>6}  {_time(r['received_at']):<19}  {r['source'][:18]:<18} {r['status']:<7} "
                   f"{r['n_records']:>8,} {r['n_accepted']:>8,} {r['n_duplicates']:>6,} {r['n_quarantined']:>5,}  "
                   f"{r['file_name'] or '-'}")
        if r["error"]:
            click.echo(f"{'':>8}error: {r['error']}")


@click.command("quarantine")
@click.option("--batch", "batch_id", type=int, default=None, help="only this batch (any age)")
@click.option("--source", default=None, help="only this source")
@_since_option("7d")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--raw", "show_raw", is_flag=True, help=f"also the raw text (first {RAW_PREVIEW} characters)")
@click.option("--json", "as_json", is_flag=True, help="print JSON rows, raw text whole")
def quarantine(batch_id, source, since, limit, show_raw, as_json):
    """Quarantined records, newest first: the file, the place in it (line, feature or
    message), the reason, and with --raw the record's raw text."""
    when = datetime(1970, 1, 1, tzinfo=UTC) if batch_id is not None else since
    params = {"batch_id": batch_id, "source": source, "since": when, "limit": limit}
    none = "no quarantined records" + (f" in batch {batch_id}" if batch_id is not None else " in that window")
    for r in _fetch("ingest_quarantine_list", params, as_json, none):
        click.echo(f"batch {r['batch_id']} · {r['source']} · {r['file_name'] or '-'} · {r['location']}: {r['reason']}")
        if show_raw:
            raw = r["raw"] if len(r["raw"]) <= RAW_PREVIEW else r["raw"][:RAW_PREVIEW] + " …"
            for line in raw.splitlines() or [""]:
                click.echo(f"    | {line}")
