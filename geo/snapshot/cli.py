"""``nsp export weekly``: one ISO week of the picture as files, from the command line."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from geo.snapshot.settings import export_settings
from nsp import db
from nsp.access import Scope


class RichProgress:
    """Progress bars on stderr (a terminal only), one per layer."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._task = None

    def __enter__(self):
        self._p.start()
        return self

    def __exit__(self, *exc):
        self._finish()
        self._p.stop()

    def _finish(self):
        if self._task is not None:
            t = self._p.tasks[self._task]
            self._p.update(self._task, total=t.total if t.total is not None else 1,
                           completed=t.total if t.total is not None else 1)

    def stage(self, name: str, total: int | None) -> None:
        self._finish()
        self._task = self._p.add_task(name, total=total)

    def advance(self, n: int) -> None:
        self._p.advance(self._task, n)


class _Quiet:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _scope_of(user: str | None) -> Scope:
    """The exporting user's scope: an nsp user (``--as-user``), or the operator as ``system``."""
    if not user:
        return Scope(user=export_settings().generated_by or f"cli:{getpass.getuser()}", role="system")
    from geo.snapshot.export import ExportError

    with db.connect() as conn:
        row = conn.execute("SELECT role, sections, disabled FROM app_user WHERE name = %s", (user,)).fetchone()
    if row is None or row["disabled"]:
        raise ExportError(f"no active nsp user {user!r} (see `nsp users list`)")
    return Scope(user=user, role=row["role"], sections=tuple(row["sections"]) if row["sections"] else None)


def _export_options(command):
    """--sections, --out, --as-user and --timezone: the same for every export."""
    for option in reversed((
        click.option("--sections", envvar="NSP_EXPORT_SECTIONS", show_envvar=True, metavar="CODES",
                     help="comma-separated section codes (default: every section the user may see)"),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     envvar="NSP_EXPORT_OUT_DIR", show_envvar=True, help="folder to write into (default .nsp/snapshots)"),
        click.option("--as-user", "as_user", envvar="NSP_EXPORT_AS_USER", show_envvar=True, metavar="NAME",
                     help="export under this nsp user's role and sections, recorded as them in the audit log "
                          "(default: the OS user as role system)"),
        click.option("--timezone", "tz", envvar="NSP_EXPORT_TIMEZONE", show_envvar=True,
                     help="the centre's time zone (default Europe/Riga)"),
    )):
        command = option(command)
    return command


@click.group("export")
def export():
    """Snapshot exports of the picture: the weekly analyst files and the monthly indicators."""


@export.command("weekly")
@click.option("--week", envvar="NSP_EXPORT_WEEK", show_envvar=True, metavar="YYYY-Www",
              help="ISO week in the centre's time zone, e.g. 2026-W47 (default: the last complete week)")
@_export_options
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="afterwards keep only the N newest snapshots in the folder")
@click.option("--pdf/--no-pdf", default=None, help="also print summary.pdf with headless Chromium "
              "[env NSP_EXPORT_PDF, default on]")
def weekly(week, sections, out_dir, as_user, tz, keep, pdf):
    """Export one ISO week: snapshot.html (offline map), picture.gpkg, events.csv,
    summary.html (+ .pdf), manifest.json, in a folder and a .zip of it.

    Prints the folder and the zip. Every export is recorded in the audit log.
    """
    from geo.snapshot import bundle
    from geo.snapshot.export import export_weekly
    from geo.snapshot.week import Week

    s = export_settings()
    overrides = {k: v for k, v in (("timezone", tz), ("pdf", pdf)) if v is not None}
    if overrides:
        s = s.model_copy(update=overrides)
    w = Week.parse(week, s.timezone) if week else Week.last_complete(s.timezone)
    codes = [c for c in (sections or "").split(",") if c.strip()] or None
    out_dir = out_dir or s.out_dir
    scope = _scope_of(as_user)
    with (RichProgress() if sys.stderr.isatty() else _Quiet()) as progress:
        result = export_weekly(w, out_dir, scope, codes, settings=s, progress=progress, via="cli")
    c = result.counts
    # the events as the summary and the map count them, and the reports the files hold besides
    others = c["events"] - c["picture_events"]
    click.echo(f"{w.label} ({w.span_text()}, {w.tz}): {c['picture_events']:,} events"
               + (f" (+ {others:,} follow-up or rejected reports, in the files only)" if others else "")
               + f", {c['patrols']:,} patrols, {c['asset_positions']:,} positions, {c['border_sections']} sections",
               err=True)
    click.echo(str(result.folder))
    click.echo(str(result.zip_path))
    if keep:
        for name in bundle.prune(Path(out_dir), keep):
            click.echo(f"removed old snapshot {name}", err=True)


@export.command("monthly")
@click.option("--month", metavar="YYYY-MM", help="calendar month in the centre's time zone, e.g. 2026-11 "
              "(default: the last complete month)")
@_export_options
def monthly(month, sections, out_dir, as_user, tz):
    """Monthly indicators of one calendar month against the month before, per section and in
    total: indicators.csv (long format), indicators.html (printable), manifest.json, in a
    folder and a .zip of it. Prints the folder and the zip; recorded in the audit log."""
    from geo.snapshot.indicators import TOTAL, export_monthly
    from geo.snapshot.week import Month

    s = export_settings()
    tz = tz or s.timezone
    m = Month.parse(month, tz) if month else Month.last_complete(tz)
    codes = [c for c in (sections or "").split(",") if c.strip()] or None
    folder, zip_path, manifest = export_monthly(m, out_dir or s.out_dir, _scope_of(as_user), codes)
    click.echo(f"{m.label} ({m.span_text()}, {tz}): {manifest['counts']['events']:,} events in "
               f"{'all sections' if manifest['sections'] == 'all' else ', '.join(manifest['sections'])}"
               f" ({TOTAL.lower()})", err=True)
    click.echo(str(folder))
    click.echo(str(zip_path))
