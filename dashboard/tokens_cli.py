"""``nsp users token NAME`` / ``tokens`` / ``token-revoke ID``: personal access tokens for
GIS clients (dashboard/tokens.py). Added to the ``nsp users`` group (dashboard/auth_cli.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from dashboard import tokens
from nsp import db
from nsp.cli_support import actor_option
from nsp.users import UserError


def _checked(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except tokens.TokenError as exc:
        raise UserError(str(exc)) from exc


@click.command("token")
@click.argument("name")
@click.option("--label", default="", help="what the token is for (e.g. qgis-laptop)")
@click.option("--expires-days", type=float, default=None, help="expire after this many days (default: never)")
@actor_option
def token_cmd(name, label, expires_days, actor):
    """Make a personal access token for user NAME (for QGIS, GDAL: /ogc); printed once, stored hashed.

    The token acts as NAME, with NAME's role and sections. Send it as
    `Authorization: Bearer <token>` or as the password of Basic authentication."""
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    with db.connect() as conn, conn.transaction():
        token_id, token = _checked(tokens.create_token, conn, name, label, expires, actor)
    click.echo(f"# personal token {token_id} for {name}{' (' + label + ')' if label else ''}; "
               "shown once, keep it secret", err=True)
    click.echo(token)


@click.command("tokens")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def tokens_cmd(name, as_json):
    """List personal access tokens (of user NAME, or all); never the tokens themselves."""
    with db.connect() as conn:
        rows = tokens.list_tokens(conn, name)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        last = r["last_used_at"].isoformat(timespec="minutes") if r["last_used_at"] else "never"
        expires = r["expires_at"].isoformat(timespec="minutes") if r["expires_at"] else "never"
        click.echo(f"{r['id']:>4} {r['user_name']:<20} {r['label'] or '-':<16} {r['state']:<8} "
                   f"expires {expires:<17} last used {last}")


@click.command("token-revoke")
@click.argument("token_id", type=int)
@actor_option
def token_revoke_cmd(token_id, actor):
    """Revoke personal access token TOKEN_ID (it stops working at the next request)."""
    with db.connect() as conn, conn.transaction():
        _checked(tokens.revoke_token, conn, token_id, actor)
    click.echo(f"revoked personal token {token_id}")
