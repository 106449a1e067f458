"""``nsp users``: manage dashboard users and kiosk tokens (an administrator's tool).

The functions (``add_user``, ``create_kiosk_token``, ...) take an open connection and
write an audit row in the same transaction; the click commands wrap them.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from datetime import datetime, timedelta, timezone

import click
import psycopg

from dashboard.auth import hash_password, token_sha256
from nsp import access, db
from nsp.errors import NspError

MIN_PASSWORD_LENGTH = 10


class UserError(NspError):
    """A user-management request that cannot be done (names the user and the reason)."""


def _codes(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def _check_sections(conn: psycopg.Connection, codes: list[str]) -> None:
    if not codes:
        return
    known = {r["code"] for r in conn.execute(
        "SELECT code FROM border_section WHERE code = ANY(%s)", (codes,)).fetchall()}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UserError(f"unknown section code(s): {', '.join(unknown)} (see `nsp sections list`)")


def _check_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password for {name!r} is too short: at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == name.lower():
        raise UserError(f"password for {name!r} must not be the user name")


def add_user(conn, name: str, role: str, password: str, sections: list[str] | None = None,
             actor: str = "system") -> None:
    sections = sections or []
    if role not in access.USER_ROLES:
        raise UserError(f"user {name!r}: unknown role {role!r}; one of {', '.join(access.USER_ROLES)}")
    if role == "sector_commander" and not sections:
        raise UserError(f"user {name!r}: a sector_commander needs --sections")
    if role != "sector_commander" and sections:
        raise UserError(f"user {name!r}: only a sector_commander has sections ({role} sees "
                        f"{'nothing of the picture' if role == 'admin' else 'every section'})")
    _check_password(name, password)
    _check_sections(conn, sections)
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO app_user (name, role, sections, password_hash, created_by) "
                "VALUES (%s, %s, %s, %s, %s)",
                (name, role, sections, hash_password(password), actor),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise UserError(f"user {name!r} already exists") from exc
    except psycopg.errors.CheckViolation as exc:
        raise UserError(f"user {name!r}: invalid name (letters, digits, . _ @ -; at most 64)") from exc
    access.audit(conn, actor, "user_add", name, {"role": role, "sections": sections})


def _update_user(conn, name: str, assignments: str, params: tuple, actor: str, action: str,
                 details: dict | None = None) -> None:
    cur = conn.execute(f"UPDATE app_user SET {assignments} WHERE name = %s", (*params, name))  # noqa: S608 - fixed SQL
    if cur.rowcount == 0:
        raise UserError(f"no user named {name!r}")
    access.audit(conn, actor, action, name, details)


def set_disabled(conn, name: str, disabled: bool, actor: str = "system") -> None:
    if disabled:
        _update_user(conn, name, "disabled = true", (), actor, "user_disable")
    else:
        _update_user(conn, name, "disabled = false, failed_logins = 0, locked_until = NULL",
                     (), actor, "user_enable")


def set_password(conn, name: str, password: str, actor: str = "system") -> None:
    _check_password(name, password)
    _update_user(conn, name, "password_hash = %s, password_changed_at = now(), failed_logins = 0, "
                 "locked_until = NULL", (hash_password(password),), actor, "user_set_password")


def list_users(conn) -> list[dict]:
    return conn.execute(
        "SELECT name, role, sections, disabled, failed_logins, locked_until, created_at, "
        "created_by, last_login_at FROM app_user ORDER BY name").fetchall()


def create_kiosk_token(conn, label: str, sections: list[str] | None = None,
                       expires_at: datetime | None = None, actor: str = "system") -> tuple[int, str]:
    """Make a read-only wall token; return (id, token). Only its SHA-256 is stored."""
    if sections:
        _check_sections(conn, sections)
    token = secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO kiosk_token (label, token_sha256, sections, expires_at, created_by) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (label, token_sha256(token), sections or None, expires_at, actor),
    ).fetchone()
    access.audit(conn, actor, "kiosk_token_add", str(row["id"]),
                 {"label": label, "sections": sections or None, "expires_at": expires_at})
    return row["id"], token


def revoke_kiosk_token(conn, token_id: int, actor: str = "system") -> None:
    cur = conn.execute("UPDATE kiosk_token SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
                       (token_id,))
    if cur.rowcount == 0:
        raise UserError(f"no active kiosk token with id {token_id}")
    access.audit(conn, actor, "kiosk_token_revoke", str(token_id))


# ------------------------------------------------------------------ click


def _default_actor() -> str:
    return os.environ.get("NSP_AUTH_ACTOR") or f"cli:{getpass.getuser()}"


actor_option = click.option(
    "--actor", default=_default_actor, show_default="NSP_AUTH_ACTOR or cli:<login name>",
    help="who is making the change, for the audit log [env NSP_AUTH_ACTOR]",
)
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
    now = datetime.now(timezone.utc)
    for r in rows:
        state = "disabled" if r["disabled"] else (
            "locked" if r["locked_until"] and r["locked_until"] > now else "active")
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
    """Enable user NAME again and clear a lockout."""
    with db.connect() as conn, conn.transaction():
        set_disabled(conn, name, False, actor)
    click.echo(f"enabled {name}")


@users.command("set-password")
@click.argument("name")
@stdin_option
@actor_option
def set_password_cmd(name, password_stdin, actor):
    """Set NAME's password (clears a lockout, ends their existing sessions)."""
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
    expires = datetime.now(timezone.utc) + timedelta(days=expires_days) if expires_days else None
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
