"""``nsp deliveries`` and ``nsp quarantine``: what the feeds delivered and what was refused.

For the people who keep the feeds running: is a source delivering, what did a file load,
and which records were quarantined, where in the file, why, and with what raw text — without
writing SQL. Both read ``ingest_batch`` and ``quarantine`` (sql/queries/ingest.sql).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ingest.formats.base import skipped_text
from nsp.cli_support import fetch_rows, since_option, utc_text

RAW_PREVIEW = 300  # characters of a quarantined record's raw text shown with --raw


@click.command("deliveries")
@click.option("--source", default=None, help="only this source")
@click.option("--status", type=click.Choice(["running", "done", "failed"]), default=None,
              help="only batches in this state")
@since_option("7d")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
def deliveries(source, status, since, limit, as_json):
    """Recent deliveries (one batch per file or HTTP body), newest first: records,
    accepted, duplicates, quarantined, skipped (with the reasons), and why a failed one
    failed. Times in UTC."""
    params = {"source": source, "status": status, "since": since, "limit": limit}
    rows = fetch_rows("ingest_deliveries", params, as_json, "no deliveries in that window")
    if not rows:
        return
    click.echo(f"{'batch':>6}  {'received (UTC)':<19}  {'source':<18} {'status':<7} {'records':>8} "
               f"{'accepted':>8} {'dup':>6} {'quar':>5} {'skip':>6}  file")
    for r in rows:
        click.echo(f"{r['id']:>6}  {utc_text(r['received_at']):<19}  {r['source'][:18]:<18} {r['status']:<7} "
                   f"{r['n_records']:>8,} {r['n_accepted']:>8,} {r['n_duplicates']:>6,} {r['n_quarantined']:>5,} "
                   f"{r['n_skipped']:>6,}  {r['file_name'] or '-'}")
        if r["skipped_reasons"]:
            click.echo(f"{'':>8}skipped: {skipped_text(r['skipped_reasons'])}")
        if r["error"]:
            click.echo(f"{'':>8}error: {r['error']}")


@click.command("quarantine")
@click.option("--batch", "batch_id", type=int, default=None, help="only this batch (any age)")
@click.option("--source", default=None, help="only this source")
@since_option("7d")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--raw", "show_raw", is_flag=True, help=f"also the raw text (first {RAW_PREVIEW} characters)")
@click.option("--json", "as_json", is_flag=True, help="print JSON rows, raw text whole")
def quarantine(batch_id, source, since, limit, show_raw, as_json):
    """Quarantined records, newest first: the file, the place in it (line, feature or
    message), the reason, and with --raw the record's raw text."""
    when = datetime(1970, 1, 1, tzinfo=UTC) if batch_id is not None else since
    params = {"batch_id": batch_id, "source": source, "since": when, "limit": limit}
    none = "no quarantined records" + (f" in batch {batch_id}" if batch_id is not None else " in that window")
    for r in fetch_rows("ingest_quarantine_list", params, as_json, none):
        click.echo(f"batch {r['batch_id']} · {r['source']} · {r['file_name'] or '-'} · {r['location']}: {r['reason']}")
        if show_raw:
            raw = r["raw"] if len(r["raw"]) <= RAW_PREVIEW else r["raw"][:RAW_PREVIEW] + " …"
            for line in raw.splitlines() or [""]:
                click.echo(f"    | {line}")
