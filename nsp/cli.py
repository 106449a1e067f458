"""The ``nsp`` console script: one entry point, one subcommand per job.

Each area of the code base owns its commands (``geo/cli.py``, ``ingest/loading/ingest_cli.py``,
``dashboard/cli.py``, ...); this module only assembles them, so that adding a
command never touches another area's file. Options fall back to environment
variables, named in each command's ``--help``.
"""

from __future__ import annotations

import importlib
import json
import sys

import click

from nsp import db
from nsp.errors import NspError

# (module, attribute) of every command group or command that areas contribute.
CONTRIBUTED = [
    ("geo.cli", "sections"),           # nsp sections load|list|locate|derive
    ("ingest.loading.ingest_cli", "ingest"),          # nsp ingest FILE...
    ("ingest.delivery.delivery_cli", "watch"),  # nsp watch DIR
    ("ingest.delivery.delivery_cli", "listen"),  # nsp listen --udp PORT --format ais --out DIR
    ("ingest.delivery.delivery_cli", "worker"),  # nsp worker
    ("ingest.formats.adsb_json", "poll-aircraft"),  # nsp poll-aircraft URL --every 5s --out DIR
    ("ingest.delivery.delivery_cli", "sources"),  # nsp sources add|list|revoke
    ("ingest.loading.review_cli", "deliveries"),  # nsp deliveries: recent batches and their counts
    ("ingest.loading.review_cli", "quarantine"),  # nsp quarantine: refused records, where and why
    ("ingest.delivery.feeds_cli", "feeds"),     # nsp feeds list|expect: last delivery, expected interval
    ("ingest.delivery.alerts_cli", "alerts"),   # nsp alerts add|list|test|log|send|...: webhook alerts
    ("ingest.loading.objects_cli", "objects"),  # nsp objects list|restrict (Art 25(4) restrictions)
    ("ingest.delivery.delivery_cli", "scenario"),  # nsp scenario
    ("ingest.delivery.delivery_cli", "demo"),   # nsp demo (what `make demo` runs)
    ("dashboard.cli", "serve"),        # nsp serve
    ("geo.snapshot.cli", "export"),    # nsp export weekly
    ("geo.cot_out_cli", "cot-out"),    # nsp cot-out --to tls://tak:8089: the picture to TAK clients
    ("geo.shares_cli", "shares"),      # nsp shares add|list|revoke|push: partner shares
    ("geo.neighbours_cli", "neighbours"),  # nsp neighbours add|list|pull: the neighbour picture
    ("dashboard.auth_cli", "users"),   # nsp users add|list|disable|set-password|kiosk-token
    ("ingest.loading.archive_cli", "retention"),  # nsp retention apply [--dry-run]: thin and detach positions
    ("ingest.loading.archive_cli", "archive"),  # nsp archive positions|query: the GeoParquet archive
]


class NspGroup(click.Group):
    """Turns an :class:`NspError` into a short message and a non-zero exit.

    The areas' commands (CONTRIBUTED; the command's name is its attribute's) are imported
    when used: `nsp ingest` does not import the dashboard, the queue or the export code
    (0.3-0.5 s of every run)."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | {name for _m, name in CONTRIBUTED})

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if command is None:
            for module_name, attr in CONTRIBUTED:
                if attr == cmd_name:
                    command = getattr(importlib.import_module(module_name), attr)
                    self.add_command(command)
                    break
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NspError as exc:
            msg = str(exc)
            cause = exc.__cause__
            if cause is not None and str(cause) and str(cause) not in msg:
                msg += f"\n  caused by: {type(cause).__name__}: {db.first_line(cause)}"
            click.secho(f"error: {msg}", fg="red", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=NspGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nsp")
def cli():
    """nsp: a EUROSUR-style national situational picture.

    The database is DATABASE_URL when set; otherwise the one `nsp db up` made.
    """


# ------------------------------------------------------------------------- nsp db


@cli.group("db")
def db_group():
    """The PostGIS database: embedded default, migrations, status."""


@db_group.command("up")
def db_up():
    """Make sure a PostGIS database exists and print its URL.

    With DATABASE_URL set, use it (creating the postgis extension if missing).
    Otherwise use database NSP_DB_NAME (default nsp) on a server answering on
    NSP_DB_LOCAL_HOST:NSP_DB_LOCAL_PORT (default 127.0.0.1:5432), or start a
    project-local cluster in NSP_DB_CLUSTER_DIR (default .nsp/pgdata).
    Safe to run twice.
    """
    result = db.db_up()
    click.echo(f"# {result.how}", err=True)
    click.echo(result.url)


@db_group.command("down")
def db_down():
    """Stop the project-local cluster, if `nsp db up` started one."""
    stopped = db.db_down()
    click.echo("stopped the project-local cluster" if stopped else "no project-local cluster is running")


@db_group.command("migrate")
def db_migrate():
    """Apply sql/migrations/*.sql in order; a no-op when up to date."""
    applied = db.migrate()
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("up to date")


@db_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def db_status(as_json: bool):
    """Show the URL, PostGIS version, migrations and row counts."""
    st = db.status()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"database   {st['url']}")
    click.echo(f"postgis    {st['postgis']}")
    click.echo(f"migrations {len(st['migrations_applied'])} applied, {len(st['migrations_pending'])} pending")
    for name in st["migrations_pending"]:
        click.echo(f"  pending  {name}")
    for table, n in st["rows"].items():
        click.echo(f"{table:<16} {n:>10,}")


def main() -> None:
    cli(prog_name="nsp")


if __name__ == "__main__":
    sys.exit(main())
