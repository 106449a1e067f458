"""``nsp retention apply`` and ``nsp archive positions|query`` (issue 26)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nsp.cli_support import actor_option, parse_since, utc_text
from nsp.durations import parse_duration


def _duration(_ctx, _param, value):
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=lambda v: v.isoformat())


@click.group("retention")
def retention():
    """Positions' retention: thin old tracks, rewrite the weeks thinned, detach weeks past the horizon
    (NSP_RETENTION_*)."""


@retention.command("apply")
@click.option("--dry-run", is_flag=True, help="count what would be thinned and detached; change nothing")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@actor_option
def retention_apply(dry_run: bool, as_json: bool, actor: str):
    """Thin positions older than each kind's keep period to one fix per object per interval
    (keeping each object's first and last fix and its turns), rewrite each week thinned (VACUUM
    FULL of that partition) so the disk gets the space back, then detach and drop the weekly
    partitions past the horizon, archiving each first when NSP_RETENTION_ARCHIVE_DIR is set.
    The worker does the same daily. Every run is written to the audit log."""
    from ingest.loading.retention import apply

    run = apply(actor=actor, dry_run=dry_run)
    if as_json:
        click.echo(_json(run.as_dict()))
        return
    verb = "would remove" if dry_run else "removed"
    for t in run.thinned:
        click.echo(f"thin {t.kind:<9} {utc_text(t.since)} .. {utc_text(t.until)}  "
                   f"{t.considered:>10,} fixes, {verb} {t.removed:,}")
    for d in run.detached:
        what = ("detached" if d.detached else f"would detach ({d.reason})" if dry_run and d.reason
                else "would detach" if dry_run else f"kept: {d.reason}")
        archived = f"  (archive {d.archived})" if d.archived else ""
        click.echo(f"week {d.partition}  {d.rows:>10,} rows  {what}{archived}")
    if not run.detached:
        click.echo("no week is past the horizon")
    for r in run.rewritten:
        size = f"{r.bytes_before / 2**20:,.1f} MiB"
        if r.rewritten:
            size += f" -> {r.bytes_after / 2**20:,.1f} MiB"
        click.echo(f"rewrite {r.partition}  {size}  {'rewritten' if r.rewritten else r.reason}")


@click.group("archive")
def archive():
    """The GeoParquet archive of positions: write weeks, query a track."""


@archive.command("positions")
@click.option("--older-than", required=True, callback=_duration, metavar="DURATION",
              help="archive the weeks that ended this long ago: 90d, 12w")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="the archive folder (made if missing); its manifest.json lists the files")
@click.option("--dry-run", is_flag=True, help="list the weeks that would be written")
@actor_option
def archive_positions(older_than, out_dir: Path, dry_run: bool, actor: str):
    """Write each weekly partition of positions that ended more than --older-than ago as
    GeoParquet 1.1 (OUT/<partition>.parquet) and list it in OUT/manifest.json with its rows and
    sha256. A week already archived with the same rows is left as it is."""
    from ingest.loading.archive import archive_positions as run

    done = run(older_than, out_dir, actor=actor, dry_run=dry_run)
    if not done:
        click.echo("no week ended that long ago")
    for d in done:
        click.echo(f"{d['partition']}  {d['rows']:>10,} rows  {d['status']}"
                   + (f"  {d['file']}  sha256 {d['sha256'][:16]}…" if "sha256" in d else ""))


@archive.command("query")
@click.option("--object", "object_id", required=True, help="the object as feeds name it (MMSI:275123000, ...)")
@click.option("--from", "t_from", required=True, callback=lambda _c, _p, v: parse_since(v),
              metavar="WHEN", help="from: ISO 8601 time (UTC when naive), or 400d (that long ago)")
@click.option("--to", "t_to", required=True, callback=lambda _c, _p, v: parse_since(v),
              metavar="WHEN", help="to (inclusive), as --from")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.argument("archive_dir", type=click.Path(file_okay=False, path_type=Path))
def archive_query(object_id: str, t_from, t_to, as_json: bool, archive_dir: Path):
    """The track of one object between two times, read from the archive in ARCHIVE_DIR with DuckDB."""
    from ingest.loading.archive import query_track

    if t_to < t_from:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    rows = query_track(archive_dir, object_id, t_from, t_to)
    if as_json:
        click.echo(_json(rows))
        return
    if not rows:
        click.echo(f"no archived fix of {object_id} between {utc_text(t_from)} and {utc_text(t_to)}")
        return
    click.echo(f"{'time (UTC)':<19}  {'lon':>11} {'lat':>10} {'kn':>6} {'course':>6}  source")
    for r in rows:
        speed = "-" if r["speed_kn"] is None else f"{r['speed_kn']:.1f}"
        course = "-" if r["course_deg"] is None else f"{r['course_deg']:.0f}"
        click.echo(f"{utc_text(r['observed_at'])}  {r['lon']:>11.6f} {r['lat']:>10.6f} {speed:>6} {course:>6}"
                   f"  {r['source']}")
