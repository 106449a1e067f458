"""``nsp users``: manage dashboard users and kiosk tokens (an administrator's tool).

The click commands wrap the functions of nsp/users.py (``add_user``, ``create_kiosk_token``, ...),
which the demo and the web use too.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from dashboard import tokens_cli
from nsp import access, db
from nsp.cli_support import actor_option
from nsp.users import (
    UserError,
    add_user,
    create_kiosk_token,
    list_users,
    revoke_kiosk_token,
    set_disabled,
    set_password,
)


def _codes(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]

stdin_option = click.option("--password-stdin", is_flag=True,
                            help="read the password from the first line of standard input")


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to prompt for a password: use --password-stdin")
    return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


@click.group("users")
def users():
    """Dashboard users, roles and kiosk tokens (every change is audited).

    Roles: watch_officer (sees everything; changes impact levels, closes events),
    sector_commander (only --sections; exports them), analyst (sees everything;
    exports), admin (manages users and sources; reads the audit log).
    """


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(access.USER_ROLES))
@click.option("--sections", default=None, help="comma-separated section codes (sector_commander only)")
@stdin_option
@actor_option
def add_cmd(name, role, sections, password_stdin, actor):
    """Add user NAME; prompts for the password (twice) unless --password-stdin."""
    password = _read_password(name, password_stdin)
    with db.connect(autocommit=False) as conn, conn.transaction():
        add_user(conn, name, role, password, _codes(sections), actor)
    click.echo(f"added {name} ({role}{': ' + sections if sections else ''})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def list_cmd(as_json):
    """List users with role, sections and lock state."""
    with db.connect() as conn:
        rows = list_users(conn)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        state = "disabled" if r["disabled"] else ("slowed" if r["slowed"] else "active")
        last = r["last_login_at"].isoformat(timespec="minutes") if r["last_login_at"] else "never"
        click.echo(f"{r['name']:<20} {r['role']:<17} {state:<9} {','.join(r['sections']) or '-':<24} last login {last}")


@users.command("disable")
@click.argument("name")
@actor_option
def disable_cmd(name, actor):
    """Disable user NAME (their sessions end at their next request)."""
    with db.connect() as conn, conn.transaction():
        set_disabled(conn, name, True, actor)
    click.echo(f"disabled {name}")


@users.command("enable")
@click.argument("name")
@actor_option
def enable_cmd(name, actor):
    """Enable user NAME again and end a slow-down of its sign-ins."""
    with db.connect() as conn, conn.transaction():
        set_disabled(conn, name, False, actor)
    click.echo(f"enabled {name}")


@users.command("set-password")
@click.argument("name")
@stdin_option
@actor_option
def set_password_cmd(name, password_stdin, actor):
    """Set NAME's password (ends their existing sessions and a slow-down of its sign-ins)."""
    password = _read_password(name, password_stdin)
    with db.connect() as conn, conn.transaction():
        set_password(conn, name, password, actor)
    click.echo(f"password of {name} changed")


@users.command("kiosk-token")
@click.option("--label", default="wall", show_default=True, help="what the token is for")
@click.option("--sections", default=None, help="comma-separated section codes (default: all)")
@click.option("--expires-days", type=float, default=None, help="expire after this many days (default: never)")
@click.option("--base-url", envvar="NSP_AUTH_BASE_URL", default="http://127.0.0.1:8050",
              show_default=True, help="the dashboard's URL [env NSP_AUTH_BASE_URL]")
@actor_option
def kiosk_token_cmd(label, sections, expires_days, base_url, actor):
    """Make a read-only wall URL; the token is printed once and stored hashed."""
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    with db.connect() as conn, conn.transaction():
        token_id, token = create_kiosk_token(conn, label, _codes(sections), expires, actor)
    click.echo(f"# kiosk token {token_id} ({label}); keep this URL secret", err=True)
    click.echo(f"{base_url.rstrip('/')}/kiosk/{token}")


@users.command("kiosk-list")
def kiosk_list_cmd():
    """List kiosk tokens (never the tokens themselves)."""
    with db.connect() as conn:
        rows = conn.execute("SELECT id, label, sections, expires_at, last_used_at, revoked_at "
                            "FROM kiosk_token ORDER BY id").fetchall()
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
        click.echo(f"{r['id']:>4} {r['label']:<16} {','.join(r['sections'] or ['*']):<24} {state}")


@users.command("kiosk-revoke")
@click.argument("token_id", type=int)
@actor_option
def kiosk_revoke_cmd(token_id, actor):
    """Revoke kiosk token TOKEN_ID (walls using it are logged out)."""
    with db.connect() as conn, conn.transaction():
        revoke_kiosk_token(conn, token_id, actor)
    click.echo(f"revoked kiosk token {token_id}")


# nsp users token|tokens|token-revoke: personal access tokens for GIS clients (dashboard/tokens_cli.py)
for _command in (tokens_cli.token_cmd, tokens_cli.tokens_cmd, tokens_cli.token_revoke_cmd):
    users.add_command(_command)
