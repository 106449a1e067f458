"""Dashboard users and kiosk tokens: the functions that ``nsp users`` (dashboard/auth_cli.py),
the demo (ingest/delivery/demo.py) and the web share.

Each takes an open connection and writes its audit row in the same transaction; passwords are
checked against the policy (nsp/passwords.py) and stored as argon2 hashes, kiosk tokens as
their SHA-256 only.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import psycopg

from nsp import access, login_guard
from nsp.auth_settings import auth_settings
from nsp.errors import NspError
from nsp.passwords import hash_password, password_problem, token_sha256

__all__ = ["UserError", "add_user", "create_kiosk_token", "end_sessions", "list_users", "revoke_kiosk_token",
           "set_disabled", "set_password", "token_sha256"]


class UserError(NspError):
    """A user-management request that cannot be done (names the user and the reason)."""


def check_sections(conn: psycopg.Connection, codes: list[str]) -> None:
    if not codes:
        return
    known = {r["code"] for r in conn.execute(
        "SELECT code FROM border_section WHERE code = ANY(%s)", (codes,)).fetchall()}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UserError(f"unknown section code(s): {', '.join(unknown)} (see `nsp sections list`)")


def _check_password(name: str, password: str) -> None:
    problem = password_problem(name, password)
    if problem:
        raise UserError(f"password for {name!r} {problem}")


def end_sessions(conn, name: str, reason: str) -> int:
    """End every open dashboard session of user ``name``; returns how many."""
    return conn.execute("UPDATE app_session SET ended_at = now(), ended_reason = %s "
                        "WHERE kind = 'user' AND principal = %s AND ended_at IS NULL", (reason, name)).rowcount


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
    check_sections(conn, sections)
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
    """Disable (ending the user's sessions at once) or enable ``name`` (ending a slow-down)."""
    if disabled:
        _update_user(conn, name, "disabled = true", (), actor, "user_disable")
        end_sessions(conn, name, "disabled")
    else:
        _update_user(conn, name, "disabled = false, failed_logins = 0, locked_until = NULL",
                     (), actor, "user_enable")
        login_guard.clear(conn, name)


def set_password(conn, name: str, password: str, actor: str = "system") -> None:
    """A new password: checked against the policy; ends the user's sessions and any slow-down."""
    _check_password(name, password)
    _update_user(conn, name, "password_hash = %s, password_changed_at = now(), failed_logins = 0, "
                 "locked_until = NULL", (hash_password(password),), actor, "user_set_password")
    end_sessions(conn, name, "password changed")
    login_guard.clear(conn, name)


def list_users(conn) -> list[dict]:
    """Users with ``failures`` (failed sign-ins of the name in a row) and ``slowed`` (whether
    each further sign-in of the name is slowed down)."""
    s = auth_settings()
    return conn.execute(
        "SELECT u.name, u.role, u.sections, u.disabled, coalesce(t.failures, 0) AS failures, "
        "coalesce(t.failures, 0) >= %s AS slowed, u.created_at, u.created_by, u.last_login_at "
        "FROM app_user u LEFT JOIN login_throttle t ON t.name_key = lower(u.name) ORDER BY u.name",
        (s.max_failed_logins,)).fetchall()


def create_kiosk_token(conn, label: str, sections: list[str] | None = None,
                       expires_at: datetime | None = None, actor: str = "system") -> tuple[int, str]:
    """Make a read-only wall token; return (id, token). Only its SHA-256 is stored."""
    if sections:
        check_sections(conn, sections)
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
    conn.execute("UPDATE app_session SET ended_at = now(), ended_reason = 'revoked' "
                 "WHERE kind = 'kiosk' AND principal = %s AND ended_at IS NULL", (str(token_id),))
    access.audit(conn, actor, "kiosk_token_revoke", str(token_id))
