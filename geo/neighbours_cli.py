"""``nsp neighbours add|list|pull``: partner centres whose shared picture this one shows
(geo/neighbours.py)."""

from __future__ import annotations

import json

import click

from geo import neighbours as model
from nsp import db
from nsp.cli_support import actor_option
from nsp.durations import parse_duration


def _duration(_ctx, param, value):
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", param=param) from None


@click.group("neighbours")
def neighbours():
    """The neighbour picture: partner centres' shares, read-only, apart from the own picture."""


@neighbours.command("add")
@click.argument("name")
@click.option("--country", required=True, help="the partner's country (ISO 3166 code, e.g. LT or LTU)")
@click.option("--secret", default=None, envvar="NSP_NEIGHBOUR_SECRET",
              help="the share's signing secret the partner gave: accepts its pushes [env NSP_NEIGHBOUR_SECRET]")
@click.option("--pull-url", default=None, help="the partner's OGC API (…/ogc), for `nsp neighbours pull`")
@click.option("--token", default=None, envvar="NSP_NEIGHBOUR_TOKEN",
              help="the share's token the partner gave, for pulls [env NSP_NEIGHBOUR_TOKEN]")
@click.option("--pull-interval", default="5m", show_default=True, callback=_duration,
              help="with --pull-url: how often `nsp worker` pulls the partner's share (at least 10s)")
@actor_option
def add_cmd(name, country, secret, pull_url, token, pull_interval, actor):
    """Register partner NAME: its pushes go to POST /api/ingest/neighbours/NAME; with
    --pull-url, `nsp worker` pulls its share every --pull-interval."""
    with db.connect() as conn, conn.transaction():
        model.add_neighbour(conn, name, country, secret=secret, pull_url=pull_url, token=token, actor=actor,
                            pull_interval=pull_interval)
    click.echo(f"added neighbour {name}")


@neighbours.command("set")
@click.argument("name")
@click.option("--secret", default=None, envvar="NSP_NEIGHBOUR_SECRET",
              help="a new signing secret for its pushes [env NSP_NEIGHBOUR_SECRET]")
@click.option("--pull-url", default=None, help="a new OGC API address (…/ogc)")
@click.option("--token", default=None, envvar="NSP_NEIGHBOUR_TOKEN",
              help="a new share token for pulls [env NSP_NEIGHBOUR_TOKEN]")
@click.option("--pull-interval", default=None, callback=lambda c, p, v: None if v is None else _duration(c, p, v),
              help="how often `nsp worker` pulls it (at least 10s)")
@actor_option
def set_cmd(name, secret, pull_url, token, pull_interval, actor):
    """Change partner NAME's secret, pull URL, token or pull interval (a partner that replaced
    its share's token); a new URL or token is pulled at once by the schedule."""
    with db.connect() as conn, conn.transaction():
        model.set_neighbour(conn, name, secret=secret, pull_url=pull_url, token=token, pull_interval=pull_interval,
                            actor=actor)
    click.echo(f"changed neighbour {name}")


@neighbours.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def list_cmd(as_json):
    """The partners, how they deliver, when last loaded, how many features they share, and how
    the scheduled pulls go (the last error, and failures since the last good pull)."""
    with db.connect() as conn:
        rows = model.list_neighbours(conn)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        loaded = r["loaded_at"].isoformat(timespec="minutes") if r["loaded_at"] else "never"
        how = ", ".join(x for x in ("push" if r["push"] else "", "pull" if r["pull_url"] else "") if x)
        line = f"{r['name']:<20} {r['country']:<4} {how:<11} {r['features']:>7} features  loaded {loaded}"
        if r["pull_url"]:
            every = int(r["pull_interval"].total_seconds())
            line += f"  pull every {every} s: " + (
                f"FAILING ({r['pull_failures']}x): {r['pull_error']}" if r["pull_failures"]
                else "ok" if r["pull_ok_at"] else "not yet")
        click.echo(line)


@neighbours.command("pull")
@click.argument("name")
@click.option("--timeout", type=float, default=30.0, show_default=True)
@actor_option
def pull_cmd(name, timeout, actor):
    """Read partner NAME's share from its OGC API now and replace its picture (recorded as
    the scheduled pulls are)."""
    done = model.pull_recorded(name, timeout, actor)
    click.echo(f"neighbour {name}: {done['loaded']} features loaded, {done['quarantined']} quarantined")
