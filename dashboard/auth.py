"""Login, sessions, kiosk tokens and the SSO header mode for the Dash app's Flask server.

``init_app(server)`` (called by ``dashboard.app.create_app``) makes every route require a
logged-in user, except the login page, the kiosk-token URL and the paths that carry their
own bearer tokens (``NSP_AUTH_TOKEN_AUTH_PREFIXES``, the ingest API). Dash callbacks get the
user's row-level-security scope from :func:`current_scope`.

Three kinds of session:

- **password** (``NSP_AUTH_MODE=password``): ``app_user`` rows with argon2 hashes, a login
  page at ``/login``; N failed logins in a row lock the account for M minutes.
- **header** (``NSP_AUTH_MODE=header``): a reverse proxy that authenticated the user sends
  ``X-Remote-User`` and ``X-Remote-Groups``; they are honoured only from
  ``NSP_AUTH_TRUSTED_PROXIES`` and mapped to a role and sections by ``NSP_AUTH_GROUP_ROLES``.
- **kiosk**: ``/kiosk/<token>`` (a token made by ``nsp users kiosk-token``) starts a
  read-only session, scoped to the token's sections, and redirects to ``/wall``.
"""

from __future__ import annotations

import hashlib
import html
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

import flask_login
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, Response, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, login_user, logout_user

from dashboard import i18n
from dashboard.auth_settings import AuthSettings, auth_settings
from dashboard.i18n import t
from dashboard.security import init_security
from nsp import access
from nsp.access import Scope

#: The scope of the login machinery itself (reads users, writes audit rows).
AUTH_SCOPE = Scope(user="nsp-auth", role="system")
#: What an unauthenticated caller (or code outside a request) may see: nothing.
NOBODY = Scope(user="anonymous", role="kiosk", sections=())
# What the sign-in page says (translated there: dashboard/locale).
BAD_LOGIN = "Invalid user name or password."
LOCKED = "This account is locked after too many failed logins; try again later."
MISSING = "Enter a user name and a password."
SSO_NOTE = "Sign-in is handled by your organisation's identity provider."
LOGIN_MESSAGES = (BAD_LOGIN, LOCKED, MISSING, SSO_NOTE)

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown users (same work as for a real one); made on
    first use, not at import, so that every `nsp` command does not pay an argon2 hash."""
    return _hasher.hash("not a password of anyone")
# A kiosk session may navigate to the wall only, and never export or post outside Dash.
KIOSK_PAGES = ("/wall", "/logout")
KIOSK_DENIED = ("/export", "/api/", "/audit")
PUBLIC_ENDPOINTS = {"nsp_auth.login", "nsp_auth.kiosk", "nsp_auth.logout", "nsp_auth.css",
                    "nsp_health.healthz"}  # says nothing operational (dashboard/health.py)


@dataclass
class User(flask_login.UserMixin):
    """A logged-in principal: a user, a kiosk token or a proxy-authenticated user."""

    kind: str  # "user" | "kiosk" | "header"
    name: str
    role: str
    sections: tuple[str, ...] | None  # None: every section

    def get_id(self) -> str:
        return f"{self.kind[0]}:{self.name}"

    @property
    def scope(self) -> Scope:
        return Scope(user=self.name, role=self.role, sections=self.sections)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_user() -> User | None:
    try:
        user = flask_login.current_user
        return user if user and user.is_authenticated else None
    except (RuntimeError, AttributeError):  # outside a request context
        return None


def current_scope() -> Scope:
    """The scope of the request's user; :data:`NOBODY` (sees nothing) when there is none."""
    user = current_user()
    return user.scope if user is not None else NOBODY


def _remote_addr() -> str | None:
    return request.remote_addr if request else None


def _user_sections(row) -> tuple[str, ...] | None:
    if row["role"] == "sector_commander":
        return tuple(row["sections"])
    if row["role"] == "admin":
        return ()
    return None


# ------------------------------------------------------------------ password login


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


def authenticate(name: str, password: str, remote_addr: str | None = None,
                 settings: AuthSettings | None = None) -> LoginResult:
    """Check a name and password, keep the lockout counters, write the audit row."""
    s = settings or auth_settings()
    bad = BAD_LOGIN
    with access.connection(AUTH_SCOPE) as conn:
        row = conn.execute(
            "SELECT name, role, sections, password_hash, disabled, failed_logins, locked_until, "
            "locked_until > now() AS locked FROM app_user WHERE name = %s FOR UPDATE",
            (name,),
        ).fetchone()
        if row is None:
            _verify(_dummy_hash(), password)  # same work as for a real user
            access.audit(conn, name[:64], "login_failed", name[:64], {"reason": "unknown user"}, remote_addr)
            return LoginResult(None, bad)
        if row["disabled"]:
            _verify(row["password_hash"], password)
            access.audit(conn, name, "login_failed", name, {"reason": "disabled"}, remote_addr)
            return LoginResult(None, bad)
        if row["locked"]:
            access.audit(conn, name, "login_failed", name, {"reason": "locked",
                         "locked_until": row["locked_until"]}, remote_addr)
            return LoginResult(None, LOCKED)
        if not _verify(row["password_hash"], password):
            failed = row["failed_logins"] + 1
            details = {"reason": "wrong password", "failed_logins": failed}
            if failed >= s.max_failed_logins:
                conn.execute(
                    "UPDATE app_user SET failed_logins = 0, "
                    "locked_until = now() + make_interval(mins => %s) WHERE name = %s",
                    (s.lockout_minutes, name),
                )
                details["locked_minutes"] = s.lockout_minutes
            else:
                conn.execute("UPDATE app_user SET failed_logins = %s WHERE name = %s", (failed, name))
            access.audit(conn, name, "login_failed", name, details, remote_addr)
            if "locked_minutes" in details:
                return LoginResult(None, LOCKED)
            return LoginResult(None, bad)
        conn.execute(
            "UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = now() "
            "WHERE name = %s", (name,),
        )
        access.audit(conn, name, "login", name, {"role": row["role"]}, remote_addr)
        return LoginResult(User("user", row["name"], row["role"], _user_sections(row)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ------------------------------------------------------------------ loading sessions


def _load_user(user_id: str) -> User | None:
    kind, _, name = user_id.partition(":")
    if kind == "u":
        with access.connection(AUTH_SCOPE) as conn:
            row = conn.execute(
                "SELECT name, role, sections, disabled, extract(epoch FROM password_changed_at) AS pw "
                "FROM app_user WHERE name = %s", (name,),
            ).fetchone()
        if row is None or row["disabled"] or float(row["pw"]) > session.get("auth_at", 0):
            return None  # gone, disabled, or the password changed since this login
        return User("user", row["name"], row["role"], _user_sections(row))
    if kind == "k":
        row = _kiosk_row(token_hash=None, token_id=int(name.split("-", 1)[0]))
        if row is None:
            return None
        return _kiosk_user(row)
    return None  # header-mode users are never stored in the session


def _kiosk_row(token_hash: str | None, token_id: int | None = None):
    with access.connection(AUTH_SCOPE) as conn:
        return conn.execute(
            "SELECT id, label, sections FROM kiosk_token "
            "WHERE (id = %s OR token_sha256 = %s) AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > now())",
            (token_id, token_hash),
        ).fetchone()


def _kiosk_user(row) -> User:
    sections = None if row["sections"] is None else tuple(row["sections"])
    return User("kiosk", f"{row['id']}-{row['label']}", "kiosk", sections)


_ROLE_PRECEDENCE = ("watch_officer", "analyst", "sector_commander", "admin")


def user_from_headers(headers, remote_addr: str | None, s: AuthSettings) -> User | None:
    """SSO: the user a trusted proxy vouches for, with role and sections from the groups."""
    if not s.is_trusted_proxy(remote_addr):
        return None
    name = (headers.get(s.header_user) or "").strip()
    if not name:
        return None
    groups = [g.strip() for g in (headers.get(s.header_groups) or "").split(s.groups_separator) if g.strip()]
    grants = [s.group_roles[g] for g in groups if g in s.group_roles]
    if not grants:
        return None  # authenticated by the proxy, but no group of theirs is mapped
    role = min((g.role for g in grants), key=_ROLE_PRECEDENCE.index)
    sections = None
    if role == "sector_commander":
        sections = tuple(sorted({c for g in grants if g.role == role for c in g.sections}))
    elif role == "admin":
        sections = ()
    return User("header", name, role, sections)


# ------------------------------------------------------------------ the gate


def _is_dash_ajax() -> bool:
    return request.path.startswith("/_dash-") or request.accept_mimetypes.best == "application/json"


def _only_timer_driven() -> bool:
    """A Dash callback fired by a dcc.Interval only (not user activity)."""
    if request.path != "/_dash-update-component":
        return False
    body = request.get_json(silent=True) or {}
    changed = body.get("changedPropIds") or []
    return bool(changed) and all(str(p).endswith(".n_intervals") for p in changed)


def _deny(reason: str, status: int = 401):
    if status == 401 and request.method == "GET" and not _is_dash_ajax():
        nxt = request.full_path if request.query_string else request.path
        return redirect(url_for("nsp_auth.login", next=nxt))
    return jsonify({"error": reason}), status


def _gate():
    s = auth_settings()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if any(request.path.startswith(p) for p in s.token_auth_prefixes):
        return None
    user = current_user()
    if user is None:
        if s.mode == "header":
            return _deny("not authenticated by the trusted proxy", 401 if request.method == "GET" else 403)
        return _deny("login required")
    now = time.time()
    if user.kind == "user":
        if now - session.get("seen", 0) > s.idle_minutes * 60:
            _audit(user.name, "logout", {"reason": "idle timeout"})
            logout_user()
            session.clear()
            return _deny("session expired")
        if not _only_timer_driven():
            session["seen"] = now
    elif user.kind == "kiosk":
        navigation = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
        if navigation and not request.path.startswith(KIOSK_PAGES):
            return redirect("/wall")
        if request.path.startswith(KIOSK_DENIED) or (
                request.method not in ("GET", "HEAD") and not request.path.startswith("/_dash-")):
            return _deny("a kiosk session shows the wall only", 403)
    elif user.kind == "header" and session.get("sso_user") != user.get_id():
        session["sso_user"] = user.get_id()
        _audit(user.name, "login", {"role": user.role, "via": "header"})
    return None


def _audit(actor: str, action: str, details: dict | None = None) -> None:
    with access.connection(AUTH_SCOPE) as conn:
        access.audit(conn, actor, action, actor, details, _remote_addr())


# ------------------------------------------------------------------ routes


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(error: str | None = None, status: int = 200, note: str | None = None) -> Response:
    """The sign-in form, in the language of :func:`dashboard.i18n.current` (``error`` and
    ``note`` are English texts, translated here), with EN · LV links."""
    lang = i18n.current()

    def say(text: str) -> str:
        return html.escape(t(text, lang))

    msg = f'<p class="error" role="alert">{say(error)}</p>' if error else ""
    if note:
        msg += f'<p class="note">{say(note)}</p>'
    # the deep link, URL-encoded (its own & and = stay in it) and then HTML-escaped
    nxt = html.escape(quote(_safe_next(request.args.get("next")), safe="/"), quote=True)
    switch = " · ".join(
        f"<b>{code.upper()}</b>" if code == lang else
        f'<a href="{url_for("nsp_auth.login")}?lang={code}&amp;next={nxt}">{code.upper()}</a>'
        for code in i18n.LANGUAGES)
    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nsp — {say("sign in")}</title><link rel="stylesheet" href="{url_for('nsp_auth.css')}"></head>
<body><main class="login">
<p class="lang">{switch}</p>
<h1>{say("National situational picture")}</h1>
<p class="sub">{say("Sensitive non-classified. Access is logged.")}</p>
{msg}
<form method="post" action="{url_for('nsp_auth.login')}?next={nxt}" autocomplete="off">
<label for="login-username">{say("User name")}</label>
<input id="login-username" name="username" autocomplete="username" required autofocus>
<label for="login-password">{say("Password")}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
<button id="login-submit" type="submit">{say("Sign in")}</button>
</form></main></body></html>"""
    return Response(body, status=status, mimetype="text/html")


_CSS = """
body{margin:0;background:#0f1720;color:#e6edf3;font:16px/1.4 system-ui,sans-serif}
.login{max-width:22rem;margin:12vh auto;padding:2rem;background:#17212b;border:1px solid #2b3a48;border-radius:6px}
h1{font-size:1.25rem;margin:0 0 .25rem}.sub{color:#8b9bab;font-size:.85rem;margin:0 0 1.5rem}
label{display:block;margin:.75rem 0 .25rem;font-size:.9rem}
input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #3a4b5c;border-radius:4px;background:#0f1720;color:#e6edf3}
button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:4px;background:#2f81f7;color:#fff;font-weight:600;cursor:pointer}
.error{background:#4a1d1f;border:1px solid #a33;padding:.5rem;border-radius:4px}.note{color:#8b9bab}
.lang{float:right;margin:0;font-size:.8rem;color:#8b9bab}.lang a{color:#9fd0ff}
"""


def _css():
    return Response(_CSS, mimetype="text/css")


def _login():
    s = auth_settings()
    if s.mode == "header":
        return _login_page(note=SSO_NOTE, status=403)
    if request.method == "GET":
        return _login_page()
    name = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not name or not password:
        return _login_page(MISSING, status=400)
    result = authenticate(name, password, _remote_addr(), s)
    if result.user is None:
        return _login_page(result.error, status=401)
    session.clear()
    now = time.time()
    session.permanent = True
    session["auth_at"] = now
    session["seen"] = now
    login_user(result.user)
    return redirect(_safe_next(request.args.get("next")))


def _logout():
    user = current_user()
    if user is not None and user.kind != "header":
        _audit(user.name, "logout", {"reason": "user"})
    logout_user()
    session.clear()
    return redirect(url_for("nsp_auth.login"))


def _kiosk(token: str):
    row = _kiosk_row(token_sha256(token))
    if row is None:
        _audit("kiosk", "login_failed", {"reason": "unknown, revoked or expired kiosk token"})
        return Response("This kiosk link is not valid.\n", status=403, mimetype="text/plain")
    with access.connection(AUTH_SCOPE) as conn:
        conn.execute("UPDATE kiosk_token SET last_used_at = now() WHERE id = %s", (row["id"],))
        access.audit(conn, f"kiosk:{row['label']}", "kiosk_login", str(row["id"]),
                     {"sections": row["sections"]}, _remote_addr())
    session.clear()
    session.permanent = True
    login_user(_kiosk_user(row))
    target = "/wall" + (f"?{request.query_string.decode()}" if request.query_string else "")
    return redirect(target)


def init_app(server: Flask) -> None:
    """Require login on every route of ``server`` and harden it."""
    from flask import Blueprint

    s = auth_settings()
    server.secret_key = s.resolved_secret_key()
    server.config.update(
        SESSION_COOKIE_NAME="nsp_session",
        SESSION_COOKIE_SECURE=s.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE=s.cookie_samesite,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=s.idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
    )
    init_security(server)

    bp = Blueprint("nsp_auth", __name__)
    bp.add_url_rule("/login", "login", _login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", _logout, methods=["GET", "POST"])
    bp.add_url_rule("/kiosk/<token>", "kiosk", _kiosk, methods=["GET"])
    bp.add_url_rule("/auth/login.css", "css", _css, methods=["GET"])
    server.register_blueprint(bp)

    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(_load_user)
    manager.request_loader(lambda req: user_from_headers(req.headers, req.remote_addr, auth_settings())
                           if auth_settings().mode == "header" else None)
    manager.init_app(server)
    server.before_request(_gate)
