"""Login, sessions, kiosk tokens and the SSO header mode for the Dash app's Flask server.

``init_app(server)`` (called by ``dashboard.app.create_app``) makes every route require a
logged-in user, except the login page, the kiosk-token URL and the paths that carry their
own bearer tokens (``NSP_AUTH_TOKEN_AUTH_PREFIXES``, the ingest API). Dash callbacks get the
user's row-level-security scope from :func:`current_scope`.

Three kinds of session:

- **password** (``NSP_AUTH_MODE=password``): ``app_user`` rows with argon2 hashes, a login
  page at ``/login``. Every failure gets the same answer after the same time; repeated
  failures slow a name down and too many attempts from one client are refused
  (``nsp.login_guard``); nobody is locked out.
- **header** (``NSP_AUTH_MODE=header``): a reverse proxy that authenticated the user sends
  ``X-Remote-User`` and ``X-Remote-Groups``; they are honoured only from
  ``NSP_AUTH_TRUSTED_PROXIES`` and mapped to a role and sections by ``NSP_AUTH_GROUP_ROLES``.
- **kiosk**: ``/kiosk/<token>`` (a token made by ``nsp users kiosk-token``) starts a
  read-only session, scoped to the token's sections, and redirects to ``/wall``.

Password and kiosk sessions are rows of ``app_session``: the signed cookie carries a random
session id, and every request checks that its row has not ended. Logout (a POST with a form
token; ``GET /logout`` only asks), an idle timeout, disabling the user, a password change and
revoking a kiosk token end it, so a copy of the cookie is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

import flask_login
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, Response, current_app, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, login_user, logout_user

from dashboard import i18n
from dashboard.i18n import t
from dashboard.security import check_callback_body, init_security
from nsp import access, login_guard
from nsp.access import Scope
from nsp.auth_settings import AuthSettings, auth_settings
from nsp.passwords import hasher, token_sha256

#: The scope of the login machinery itself (reads users, writes audit rows).
AUTH_SCOPE = Scope(user="nsp-auth", role="system")
#: What an unauthenticated caller (or code outside a request) may see: nothing.
NOBODY = Scope(user="anonymous", role="kiosk", sections=())
# What the sign-in page says (translated there: dashboard/locale).
BAD_LOGIN = "Invalid user name or password."
TOO_MANY = "Too many sign-in attempts from your address; try again in a few minutes."
MISSING = "Enter a user name and a password."
SSO_NOTE = "Sign-in is handled by your organisation's identity provider."
LOGIN_MESSAGES = (BAD_LOGIN, TOO_MANY, MISSING, SSO_NOTE)

def _dummy_hash() -> str:
    """A hash to verify against for unknown users (same work as for a real one); made on
    first use, not at import, so that every `nsp` command does not pay an argon2 hash."""
    return _dummy_at(hasher())


@lru_cache(maxsize=4)
def _dummy_at(at_cost) -> str:
    """The dummy hash at a hasher's cost (``NSP_AUTH_HASH_*``), made once per cost."""
    return at_cost.hash("not a password of anyone")


# A kiosk session may navigate to the wall only, and never export or post outside Dash.
KIOSK_PAGES = ("/wall", "/logout")
KIOSK_DENIED = ("/export", "/api/", "/audit", "/ogc")
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
    """The client's address (behind a trusted proxy: the one it names; see login_guard)."""
    if not request:
        return None
    return login_guard.client_address(request.remote_addr, request.headers, auth_settings())


def user_sections(row) -> tuple[str, ...] | None:
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
    """Check a name and password, count failures of the name, write the audit row.

    Every failure (unknown user, disabled, wrong password) does the same work: one row read,
    one argon2 verification, one failure counted for the name as typed, one audit row; and
    it gets the same answer, :data:`BAD_LOGIN`. No state refuses a right password."""
    with access.connection(AUTH_SCOPE) as conn:
        row = conn.execute(
            "SELECT name, role, sections, password_hash, disabled FROM app_user WHERE name = %s FOR UPDATE",
            (name,),
        ).fetchone()
        ok = _verify(row["password_hash"] if row else _dummy_hash(), password)
        if row is None or row["disabled"] or not ok:
            reason = "unknown user" if row is None else "disabled" if row["disabled"] else "wrong password"
            failures = login_guard.record_failure(conn, name)
            access.audit(conn, name[:64], "login_failed", name[:64],
                         {"reason": reason, "failures": failures}, remote_addr)
            return LoginResult(None, BAD_LOGIN)
        login_guard.clear(conn, name)
        conn.execute("UPDATE app_user SET last_login_at = now() WHERE name = %s", (name,))
        access.audit(conn, name, "login", name, {"role": row["role"]}, remote_addr)
        return LoginResult(User("user", row["name"], row["role"], user_sections(row)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ------------------------------------------------------------------ loading sessions


def _session_hash() -> str | None:
    sid = session.get("sid")
    return token_sha256(sid) if isinstance(sid, str) and sid else None


def _start_session(kind: str, principal: str, remote_addr: str | None) -> None:
    """A fresh cookie session with a new ``app_session`` row (after a successful login)."""
    sid = secrets.token_urlsafe(32)
    with access.connection(AUTH_SCOPE) as conn:  # rows ended, or idle past any timeout, for 2 days
        conn.execute("DELETE FROM app_session WHERE coalesce(ended_at, seen_at) "
                     "< now() - make_interval(mins => greatest(%s, 0) + 2880)", (auth_settings().idle_minutes,))
        conn.execute("INSERT INTO app_session (id_sha256, kind, principal, remote_addr) VALUES (%s, %s, %s, %s)",
                     (token_sha256(sid), kind, principal, remote_addr))
    session.clear()
    now = time.time()
    session.permanent = True
    session.update(sid=sid, auth_at=now, seen=now, seen_db=now)


def end_session(reason: str) -> None:
    """End this request's server-side session (its cookie stops working everywhere)."""
    sid_hash = _session_hash()
    if sid_hash is not None:
        with access.connection(AUTH_SCOPE) as conn:
            conn.execute("UPDATE app_session SET ended_at = now(), ended_reason = %s "
                         "WHERE id_sha256 = %s AND ended_at IS NULL", (reason, sid_hash))
    logout_user()
    session.clear()


def _touch_session(now: float) -> None:
    """Note activity on the session row, at most once a minute (rows idle for days are removed)."""
    if now - session.get("seen_db", 0) < 60:
        return
    sid_hash = _session_hash()
    if sid_hash is not None:
        with access.connection(AUTH_SCOPE) as conn:
            conn.execute("UPDATE app_session SET seen_at = now() WHERE id_sha256 = %s", (sid_hash,))
    session["seen_db"] = now


def _load_user(user_id: str) -> User | None:
    """The session's user, if its ``app_session`` row is still open (and the user enabled,
    the kiosk token valid)."""
    kind, _, name = user_id.partition(":")
    sid_hash = _session_hash()
    if sid_hash is None or kind not in ("u", "k"):
        return None  # header-mode users are never stored in the session
    if kind == "u":
        with access.connection(AUTH_SCOPE) as conn:
            row = conn.execute(
                "SELECT u.name, u.role, u.sections FROM app_user u JOIN app_session s "
                "ON s.kind = 'user' AND s.principal = u.name "
                "WHERE u.name = %s AND s.id_sha256 = %s AND s.ended_at IS NULL AND NOT u.disabled",
                (name, sid_hash),
            ).fetchone()
        return None if row is None else User("user", row["name"], row["role"], user_sections(row))
    token_id = name.split("-", 1)[0]
    with access.connection(AUTH_SCOPE) as conn:
        open_ = conn.execute("SELECT 1 FROM app_session WHERE id_sha256 = %s AND kind = 'kiosk' "
                             "AND principal = %s AND ended_at IS NULL", (sid_hash, token_id)).fetchone()
    row = _kiosk_row(token_hash=None, token_id=int(token_id)) if open_ and token_id.isdigit() else None
    return None if row is None else _kiosk_user(row)


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


def only_timer_driven() -> bool:
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
        from dashboard import tokens  # personal access tokens (/ogc): a 401 a GIS client can answer

        if tokens.covers(request.path) and not tokens.wants_login_page():
            return tokens.challenge()
        if s.mode == "header":
            return _deny("not authenticated by the trusted proxy", 401 if request.method == "GET" else 403)
        return _deny("login required")
    now = time.time()
    if user.kind == "user":
        if now - session.get("seen", 0) > s.idle_minutes * 60:
            _audit(user.name, "logout", {"reason": "idle timeout"})
            end_session("idle timeout")
            return _deny("session expired")
        if not only_timer_driven():
            session["seen"] = now
            _touch_session(now)
    elif user.kind == "kiosk":
        _touch_session(now)
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


def safe_next(target: str | None) -> str:
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
    nxt = html.escape(quote(safe_next(request.args.get("next")), safe="/"), quote=True)
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
    started = time.monotonic()
    name = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not name or not password:
        return _login_page(MISSING, status=400)
    addr = _remote_addr()
    with access.connection(AUTH_SCOPE) as conn:
        attempts, window_left = login_guard.client_attempt(conn, addr, s)
        if attempts > s.client_max_attempts:
            if attempts == s.client_max_attempts + 1:  # once per window: the log is not a flood target
                access.audit(conn, name[:64], "login_failed", name[:64],
                             {"reason": "too many attempts from the client", "attempts": attempts}, addr)
            page = _login_page(TOO_MANY, status=429)
            page.headers["Retry-After"] = str(max(1, math.ceil(window_left)))
            return page
        wait = min(login_guard.wait_before_check(conn, name, s), s.login_delay_max_seconds)
    time.sleep(wait)  # a slowed name: held, then checked (never refused)
    result = authenticate(name, password, addr, s)
    if result.user is None:
        # Every failure answers at the same time after the request (and its wait) began.
        time.sleep(max(0.0, started + wait + s.login_failure_seconds - time.monotonic()))
        return _login_page(result.error, status=401)
    with access.connection(AUTH_SCOPE) as conn:
        login_guard.client_refund(conn, addr)
    _start_session("user", result.user.name, addr)
    login_user(result.user)
    return redirect(safe_next(request.args.get("next")))


def logout_token() -> str:
    """The form token of this session's logout button (an HMAC of its session id)."""
    key = (current_app.secret_key or "").encode()
    return hmac.new(key, f"logout:{session.get('sid', '')}".encode(), hashlib.sha256).hexdigest()


def _logout_page(status: int = 200) -> Response:
    lang = i18n.current()

    def say(text: str) -> str:
        return html.escape(t(text, lang))

    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nsp — {say("Log out")}</title><link rel="stylesheet" href="{url_for('nsp_auth.css')}"></head>
<body><main class="login">
<h1>{say("Log out?")}</h1>
<p class="sub">{say("Your session ends on this and every other copy of it.")}</p>
<form method="post" action="{url_for('nsp_auth.logout')}">
<input type="hidden" name="token" value="{logout_token()}">
<button id="logout-submit" type="submit">{say("Log out")}</button>
</form>
<p><a id="logout-cancel" href="/">{say("Back to the picture")}</a></p>
</main></body></html>"""
    return Response(body, status=status, mimetype="text/html")


def _logout():
    """GET asks (a link from another site logs nobody out); POST with the form token logs out."""
    user = current_user()
    if user is None:
        logout_user()
        session.clear()
        return redirect(url_for("nsp_auth.login"))
    if request.method == "GET":
        return _logout_page()
    if not hmac.compare_digest(request.form.get("token") or "", logout_token()):
        return _logout_page(status=403)
    if user.kind != "header":
        _audit(user.name, "logout", {"reason": "user"})
    end_session("logout")
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
    _start_session("kiosk", str(row["id"]), _remote_addr())
    login_user(_kiosk_user(row))
    target = "/wall" + (f"?{request.query_string.decode()}" if request.query_string else "")
    return redirect(target)


def _request_user(req) -> User | None:
    """A user from the request itself, not the session: a personal access token under
    dashboard/tokens.py's prefixes, or the trusted proxy's headers (SSO header mode)."""
    from dashboard import tokens

    user = tokens.user_from_request(req)
    if user is None and auth_settings().mode == "header":
        user = user_from_headers(req.headers, req.remote_addr, auth_settings())
    return user


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
    manager.request_loader(_request_user)
    manager.init_app(server)
    server.before_request(_gate)
    server.before_request(check_callback_body)
