"""``nsp shares add|list|revoke|push``: what neighbouring centres and the European picture get
(geo/shares.py)."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

import click

from geo import shares as model
from nsp import db, vocab
from nsp.cli_support import actor_option
from nsp.durations import duration_text, parse_duration


def _duration(text: str):
    if text.strip() == "0":
        return timedelta(0)
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: a duration such as 0, 90s, 15m, 2h or 1d") from exc


@click.group("shares")
def shares():
    """Shares with partners: neighbouring NCCs and the European situational picture."""


@shares.command("add")
@click.argument("name")
@click.option("--sections", required=True, help="comma-separated section codes: the share's scope, never more")
@click.option("--layers", default="events", show_default=True,
              help=f"comma-separated, of {', '.join(model.LAYERS)}")
@click.option("--min-impact", type=click.Choice(vocab.IMPACTS), default=None,
              help="only events of this impact or above (default: all)")
@click.option("--delay", default="0", show_default=True,
              help="nothing newer than now minus this (e.g. 15m, 1h)")
@click.option("--detail", type=click.Choice(model.DETAILS), default="full", show_default=True,
              help="no-personal-data: category, subtype, time, rounded place, persons, impact, section only")
@click.option("--place-decimals", type=click.IntRange(0, 6), default=2, show_default=True,
              help="no-personal-data: decimals of degrees the place is rounded to (2: about 1 km)")
@click.option("--partner", default="", help="who gets it (e.g. 'LT NCC')")
@actor_option
def add_cmd(name, sections, layers, min_impact, delay, detail, place_decimals, partner, actor):
    """Define share NAME; print its token (for pulls from /ogc) and signing secret (pushes), once."""
    with db.connect() as conn, conn.transaction():
        token, secret = model.add_share(
            conn, name, sections=sections.split(","), layers=[x.strip() for x in layers.split(",") if x.strip()],
            min_impact=min_impact, delay=_duration(delay), detail=detail, place_decimals=place_decimals,
            partner=partner, actor=actor)
    click.echo(f"# share {name}: token (pull /ogc as Bearer or Basic password) and signing secret "
               "(X-NSP-Signature of pushes); shown once, give them to the partner only", err=True)
    click.echo(f"token  {token}")
    click.echo(f"secret {secret}")


@shares.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def list_cmd(as_json):
    """List the shares (never their tokens or secrets)."""
    with db.connect() as conn:
        rows = model.list_shares(conn)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        click.echo(f"{r['name']:<20} {r['state']:<8} {','.join(r['sections']):<24} {','.join(r['layers']):<22} "
                   f"min {r['min_impact'] or 'any':<9} delay {duration_text(r['delay']) or '0':<6} "
                   f"{r['detail']:<16} {r['partner']}")


@shares.command("revoke")
@click.argument("name")
@actor_option
def revoke_cmd(name, actor):
    """Revoke share NAME: its token stops working at the next request, nothing more is pushed."""
    with db.connect() as conn, conn.transaction():
        model.revoke_share(conn, name, actor)
    click.echo(f"revoked share {name}")


@shares.command("push")
@click.argument("name")
@click.option("--url", required=True, help="the partner's HTTPS endpoint (POST, signed GeoJSON)")
@click.option("--every", default=None, help="push again at this interval (e.g. 1m) until stopped; default once")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="seconds to wait for the partner")
@actor_option
def push_cmd(name, url, every, timeout, actor):
    """Push share NAME to the partner once (or --every INTERVAL): signed GeoJSON, audited."""
    interval = _duration(every).total_seconds() if every else None
    stop = []
    if interval:
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    while True:
        try:
            done = model.push(name, url, timeout, actor)
            click.echo(f"pushed share {name}: {done['features']} features, HTTP {done['status']}")
        except model.ShareError as exc:
            if not interval:
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
        if not interval:
            return
        deadline = time.monotonic() + interval
        while not stop and time.monotonic() < deadline:
            time.sleep(min(1.0, interval))
        if stop:
            return
