"""Personal access tokens: how a GIS client (QGIS, GDAL, a script) signs in to ``/ogc``.

``nsp users token NAME`` makes a token for user NAME (printed once; only its SHA-256 is
stored, table ``personal_token``, migration 0075). A client sends it on every request, as

- ``Authorization: Bearer <token>``, or
- HTTP Basic authentication with the token as the password (the user name may be anything,
  usually the user's own name): what QGIS's "Basic" authentication configuration and GDAL's
  ``GDAL_HTTP_AUTH=BASIC`` send.

Tokens are honoured only under :data:`PREFIXES`; everywhere else the session login applies.
A token acts as its user, with the user's role and sections as they are at that request
(so a sector commander's token sees only their sections, through row-level security); a
disabled user's tokens stop working. Creating and revoking tokens, and every request with a
wrong, revoked or expired token, write an audit row.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime

from flask import Request, jsonify, request

from dashboard import auth, share_auth
from nsp import access

#: Path prefixes where a personal access token authenticates a request.
PREFIXES = ("/ogc", "/tiles")
#: Every token starts with this, so that a leaked one is recognisable (secret scanners).
TOKEN_PREFIX = "nsp_"
REALM = "nsp"


class TokenError(Exception):
    """A token request that cannot be done (names the user or token and the reason)."""


def covers(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


# ------------------------------------------------------------------ management (nsp users token)


def create_token(conn, user_name: str, label: str = "", expires_at: datetime | None = None,
                 actor: str = "system") -> tuple[int, str]:
    """Make a token for ``user_name``; return (id, token). Only its SHA-256 is stored."""
    user = conn.execute("SELECT role, disabled FROM app_user WHERE name = %s", (user_name,)).fetchone()
    if user is None:
        raise TokenError(f"no user named {user_name!r} (see `nsp users list`)")
    if user["disabled"]:
        raise TokenError(f"user {user_name!r} is disabled: enable them first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO personal_token (user_name, label, token_sha256, expires_at, created_by) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (user_name, label, auth.token_sha256(token), expires_at, actor),
    ).fetchone()
    access.audit(conn, actor, "token_add", str(row["id"]),
                 {"user": user_name, "label": label, "expires_at": expires_at})
    return row["id"], token


def list_tokens(conn, user_name: str | None = None) -> list[dict]:
    """Tokens (never the tokens themselves), with their state."""
    return conn.execute(
        "SELECT id, user_name, label, created_at, created_by, expires_at, last_used_at, revoked_at, "
        "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
        "     WHEN expires_at <= now() THEN 'expired' ELSE 'active' END AS state "
        "FROM personal_token WHERE %(user)s::text IS NULL OR user_name = %(user)s ORDER BY id",
        {"user": user_name}).fetchall()


def revoke_token(conn, token_id: int, actor: str = "system") -> None:
    row = conn.execute("UPDATE personal_token SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL "
                       "RETURNING user_name", (token_id,)).fetchone()
    if row is None:
        raise TokenError(f"no active personal token with id {token_id} (see `nsp users tokens`)")
    access.audit(conn, actor, "token_revoke", str(token_id), {"user": row["user_name"]})


# ------------------------------------------------------------------ authenticating a request


def credentials(req: Request) -> tuple[str | None, str] | None:
    """(Basic user name or None, token) from the Authorization header, or None if it has none."""
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            name, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return (name or None), (password if sep else "")
    return None


def user_from_request(req: Request) -> auth.User | None:
    """The user a valid token in ``req`` stands for (under :data:`PREFIXES` only), else None.

    A request that carries a token that is wrong, revoked, expired, or whose user is
    disabled, is audited (``token_failed``) and gets no user."""
    if not covers(req.path):
        return None
    given = credentials(req)
    if given is None:
        return None
    basic_name, token = given
    actor = (basic_name or "token")[:64]
    with access.connection(auth.AUTH_SCOPE) as conn:
        row = conn.execute(
            "SELECT t.id, t.revoked_at IS NOT NULL AS revoked, t.expires_at <= now() AS expired, "
            "       u.name, u.role, u.sections, u.disabled "
            "  FROM personal_token t JOIN app_user u ON u.name = t.user_name "
            " WHERE t.token_sha256 = %s", (auth.token_sha256(token),)).fetchone()
        if row is None:  # a partner share's token (dashboard/share_auth.py)?
            user, why = share_auth.user_for_token(conn, auth.token_sha256(token), req, auth.User)
            if user is not None:
                return user
        reason = (why or "unknown token" if row is None else "revoked token" if row["revoked"]
                  else "expired token" if row["expired"] else "disabled user" if row["disabled"] else None)
        if reason:
            details = {"reason": reason, "path": req.path}
            if row is not None:
                details["token"] = row["id"]
            access.audit(conn, row["name"] if row else actor, "token_failed",
                         str(row["id"]) if row else None, details, req.remote_addr)
            return None
        conn.execute("UPDATE personal_token SET last_used_at = now() WHERE id = %s "
                     "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", (row["id"],))
    return auth.User("token", row["name"], row["role"], auth.user_sections(row))


def challenge():
    """401 for a client without (valid) credentials: it may retry with Basic or Bearer."""
    given = credentials(request)
    reason = ("login required: send a personal access token (Authorization: Bearer <token>, "
              "or Basic authentication with the token as password)" if given is None
              else "invalid, revoked or expired token")
    response = jsonify({"code": "Unauthorized", "description": reason})
    response.status_code = 401
    response.headers.add("WWW-Authenticate", f'Basic realm="{REALM}"')
    response.headers.add("WWW-Authenticate", f'Bearer realm="{REALM}"')
    return response


def wants_login_page() -> bool:
    """A browser navigating (it prefers HTML and sent no credentials): the login page is the
    better answer than a 401."""
    accept = request.accept_mimetypes
    return (credentials(request) is None and any(m == "text/html" for m, _q in accept)
            and accept.quality("text/html") >= accept.quality("application/json"))
