"""Login, lockout, kiosk, SSO header mode, CSRF and headers over real HTTP (issue 6 parts 2, 5, 6).

A small Dash app with one data callback (reading events under the request's scope, as the
dashboard's callbacks do) is served by a real HTTP server in a thread on 127.0.0.1.
"""

from __future__ import annotations

import threading

import pytest
import requests
from dash import Dash, Input, Output, dcc, html
from flask import Flask
from werkzeug.serving import make_server

from dashboard import auth
from dashboard.auth_settings import auth_settings
from nsp import access, db
from tests.auth_helpers import kiosk_url, login, make_user

PASSWORD = "correct horse battery"


def serve(flask_app):
    srv = make_server("127.0.0.1", 0, flask_app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, f"http://127.0.0.1:{srv.server_port}"


@pytest.fixture
def auth_env(monkeypatch):
    def apply(**values):
        base = {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "k" * 64,
                "NSP_AUTH_MAX_FAILED_LOGINS": "3", "NSP_AUTH_LOCKOUT_MINUTES": "15"}
        base.update(values)
        for k, v in base.items():
            monkeypatch.setenv(k, v)
        auth_settings.cache_clear()

    apply()
    yield apply
    auth_settings.cache_clear()


def make_app() -> Flask:
    server = Flask("access-test")
    app = Dash("access-test", server=server, serve_locally=True)
    app.layout = html.Div([dcc.Input(id="t-filter", value=""), html.Pre(id="t-out")])

    @app.callback(Output("t-out", "children"), Input("t-filter", "value"))
    def events(wanted):
        if wanted == "boom":
            raise RuntimeError("secret internal detail")
        scope = auth.current_scope()
        codes = scope.restrict([c for c in (wanted or "").split(",") if c] or None)
        with access.connection(scope) as conn:
            rows = conn.execute(
                "SELECT section_code FROM event WHERE (%(codes)s::text[] IS NULL OR section_code = ANY(%(codes)s)) "
                "ORDER BY 1", {"codes": codes}).fetchall()
        return ",".join(r["section_code"] or "-" for r in rows)

    @server.route("/private-download")
    def private_download():
        return "data"

    auth.init_app(server)
    return server


@pytest.fixture
def site(db_url, conn, auth_env):
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code, distance_to_border_m)
           SELECT 'test', code, 'other', now(), ST_PointOnSurface(area), code, 1 FROM border_section"""
    )
    make_user(db_url, "cmd", "sector_commander", PASSWORD, ["LV-BY-01"])
    make_user(db_url, "watch", "watch_officer", PASSWORD)
    srv, base = serve(make_app())
    yield base
    srv.shutdown()


def callback(session, base, value, origin=True):
    body = {"output": "t-out.children", "outputs": {"id": "t-out", "property": "children"},
            "inputs": [{"id": "t-filter", "property": "value", "value": value}],
            "changedPropIds": ["t-filter.value"], "state": []}
    headers = {} if origin else {"Origin": None}
    return session.post(f"{base}/_dash-update-component", json=body, headers=headers, timeout=30)


def audit_rows(conn, action):
    return conn.execute("SELECT actor, object, details FROM audit_log WHERE action = %s ORDER BY id",
                        (action,)).fetchall()


def test_pages_and_callbacks_require_login(site):
    s = requests.Session()
    for path in ("/", "/private-download", "/_dash-layout", "/_dash-dependencies"):
        r = s.get(site + path, allow_redirects=False)
        assert r.status_code in (302, 401), path
        if r.status_code == 302:
            assert r.headers["Location"].startswith("/login")
    s.headers["Origin"] = site
    r = callback(s, site, "")
    assert r.status_code == 401 and "LV-" not in r.text
    assert s.get(site + "/login").status_code == 200


def test_commander_callback_sees_only_own_section(site):
    s = login(requests.Session(), site, "cmd", PASSWORD)
    for value in ("", None, "LV-RU-01", "LV-RU-01,LV-BY-02,LV-SEA", "LV-BY-01,LV-RU-01",
                  "' OR 1=1 --", "LV-BY-01'); DELETE FROM event; --", "*"):
        r = callback(s, site, value)
        assert r.status_code == 200, (value, r.text[:200])
        out = r.json()["response"]["t-out"]["children"]
        assert set(filter(None, out.split(","))) <= {"LV-BY-01"}, (value, out)
    assert callback(s, site, "").json()["response"]["t-out"]["children"] == "LV-BY-01"
    w = login(requests.Session(), site, "watch", PASSWORD)
    assert len(callback(w, site, "").json()["response"]["t-out"]["children"].split(",")) > 20


def test_login_is_audited_and_lockout_works(site, conn):
    s = requests.Session()
    s.headers["Origin"] = site
    for _ in range(3):
        r = s.post(site + "/login", data={"username": "cmd", "password": "wrong password!"}, allow_redirects=False)
        assert r.status_code == 401
    # Locked now: even the right password is refused.
    r = s.post(site + "/login", data={"username": "cmd", "password": PASSWORD}, allow_redirects=False)
    assert r.status_code == 401 and "locked" in r.text
    with pytest.raises(AssertionError):
        login(requests.Session(), site, "cmd", PASSWORD)
    failed = audit_rows(conn, "login_failed")
    assert [f["details"]["reason"] for f in failed] == ["wrong password"] * 3 + ["locked", "locked"]
    assert conn.execute("SELECT locked_until > now() + interval '14 minutes' AS l FROM app_user "
                        "WHERE name = 'cmd'").fetchone()["l"]
    # The lock runs out (simulated by moving it into the past), then login works and is audited.
    conn.execute("UPDATE app_user SET locked_until = now() - interval '1 second' WHERE name = 'cmd'")
    login(requests.Session(), site, "cmd", PASSWORD)
    ok = audit_rows(conn, "login")
    assert ok[-1]["actor"] == "cmd"
    # Unknown users are audited too, with the same answer as a wrong password.
    r = s.post(site + "/login", data={"username": "nobody", "password": "whatever123"})
    assert r.status_code == 401 and "Invalid user name or password" in r.text
    assert audit_rows(conn, "login_failed")[-1]["details"]["reason"] == "unknown user"


def test_session_cookie_flags_and_logout(site, conn, auth_env):
    s = requests.Session()
    s.headers["Origin"] = site
    r = s.post(site + "/login", data={"username": "watch", "password": PASSWORD}, allow_redirects=False)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "nsp_session=" in cookie
    assert s.get(site + "/", allow_redirects=False).status_code == 200
    s.post(site + "/logout")
    assert s.get(site + "/", allow_redirects=False).status_code == 302
    assert audit_rows(conn, "logout")[-1]["actor"] == "watch"


def test_secure_cookie_by_default(db_url, auth_env):
    auth_env(NSP_AUTH_COOKIE_SECURE="true")
    make_user(db_url, "watch", "watch_officer", PASSWORD)
    client = make_app().test_client()
    r = client.post("/login", data={"username": "watch", "password": PASSWORD},
                    headers={"Origin": "http://localhost"})
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]


def test_idle_timeout_and_disabled_user(site, conn, auth_env):
    s = login(requests.Session(), site, "watch", PASSWORD)
    assert s.get(site + "/", allow_redirects=False).status_code == 200
    # A disabled user's session ends at the next request.
    conn.execute("UPDATE app_user SET disabled = true WHERE name = 'watch'")
    assert s.get(site + "/", allow_redirects=False).status_code == 302
    conn.execute("UPDATE app_user SET disabled = false WHERE name = 'watch'")
    # A password change ends the sessions opened before it.
    s = login(requests.Session(), site, "watch", PASSWORD)
    from dashboard.auth_cli import set_password

    with db.connect(conn.info.dsn) as c2, c2.transaction():
        set_password(c2, "watch", PASSWORD + "!", actor="test")
    assert s.get(site + "/", allow_redirects=False).status_code == 302
    login(requests.Session(), site, "watch", PASSWORD + "!")
    conn.execute("UPDATE app_user SET password_hash = %s WHERE name = 'watch'", (auth.hash_password(PASSWORD),))
    # Idle timeout: a session whose last activity is older than NSP_AUTH_IDLE_MINUTES ends.
    s = login(requests.Session(), site, "watch", PASSWORD)
    server = make_app()
    with server.test_client() as c:
        c.post("/login", data={"username": "watch", "password": PASSWORD}, headers={"Origin": "http://localhost"})
        assert c.get("/").status_code == 200
        with c.session_transaction() as sess:
            sess["seen"] -= 31 * 60
        assert c.get("/").status_code == 302
    assert audit_rows(conn, "logout")[-1]["details"] == {"reason": "idle timeout"}


def test_csrf_origin_check(site):
    s = login(requests.Session(), site, "watch", PASSWORD)
    assert callback(s, site, "").status_code == 200
    evil = s.post(f"{site}/_dash-update-component", json={}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    none = s.post(f"{site}/_dash-update-component", json={}, headers={"Origin": None})
    assert none.status_code == 403
    anonymous = requests.Session()
    anonymous.headers["Origin"] = site
    assert callback(anonymous, site, "").status_code == 401  # right origin, no session: no data
    # A Referer of our own page is enough when a client sends no Origin.
    body = {"output": "t-out.children", "outputs": {"id": "t-out", "property": "children"},
            "inputs": [{"id": "t-filter", "property": "value", "value": ""}],
            "changedPropIds": ["t-filter.value"], "state": []}
    r = s.post(f"{site}/_dash-update-component", json=body, headers={"Origin": None, "Referer": site + "/"})
    assert r.status_code == 200
    # The login form is protected too (login CSRF).
    r = requests.post(site + "/login", data={"username": "watch", "password": PASSWORD},
                      headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert r.status_code == 403


def test_security_headers_and_no_tracebacks(site):
    s = login(requests.Session(), site, "watch", PASSWORD)
    r = s.get(site + "/")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "'sha256-" in csp  # Dash's inline renderer script, by hash
    assert "http" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"
    boom = callback(s, site, "boom")
    assert boom.status_code == 500
    assert "Traceback" not in boom.text and "secret internal detail" not in boom.text
    assert "Strict-Transport-Security" not in r.headers  # plain http here



def test_hsts_on_https(db_url, auth_env):
    make_user(db_url, "watch", "watch_officer", PASSWORD)
    with make_app().test_client() as c:
        r = c.get("/login", base_url="https://nsp.example")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_kiosk_token_is_read_only_and_scoped(site, db_url, conn):
    k = requests.Session()
    r = k.get(kiosk_url(db_url, site, sections=["LV-BY-01"]))
    assert r.status_code == 200 and r.url.endswith("/wall")
    assert audit_rows(conn, "kiosk_login")
    # Anywhere else than the wall: back to the wall.
    r = k.get(site + "/", allow_redirects=False, headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/wall")
    assert k.get(site + "/export/weekly", allow_redirects=False).status_code == 403
    k.headers["Origin"] = site
    out = callback(k, site, "LV-RU-01,LV-BY-01").json()["response"]["t-out"]["children"]
    assert out == "LV-BY-01"
    with access.connection(access.Scope(user="kiosk", role="kiosk")) as c, pytest.raises(Exception):
        c.execute("INSERT INTO impact_level_change (section_code, to_level, decided_by, reason) "
                  "VALUES ('LV-BY-01', 'high', 'kiosk', 'x')")
    # Revoked or bad tokens end the session / are refused.
    conn.execute("UPDATE kiosk_token SET revoked_at = now()")
    assert k.get(site + "/wall", allow_redirects=False).status_code == 302
    assert requests.get(site + "/kiosk/not-a-token").status_code == 403
    # Expired tokens too.
    url = kiosk_url(db_url, site)
    conn.execute("UPDATE kiosk_token SET expires_at = now() - interval '1 minute' WHERE revoked_at IS NULL")
    assert requests.get(url, allow_redirects=False).status_code == 403


GROUPS = ('{"nsp-watch": {"role": "watch_officer"}, '
          '"nsp-daugavpils": {"role": "sector_commander", "sections": ["LV-BY-01"]}}')


def test_sso_header_mode(db_url, conn, auth_env):
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code, distance_to_border_m)
           SELECT 'test', code, 'other', now(), ST_PointOnSurface(area), code, 1 FROM border_section"""
    )
    auth_env(NSP_AUTH_MODE="header", NSP_AUTH_TRUSTED_PROXIES='["127.0.0.1/32"]', NSP_AUTH_GROUP_ROLES=GROUPS)
    srv, base = serve(make_app())
    try:
        s = requests.Session()
        s.headers.update({"Origin": base, "X-Remote-User": "ivars", "X-Remote-Groups": "staff, nsp-daugavpils"})
        assert s.get(base + "/", allow_redirects=False).status_code == 200
        out = callback(s, base, "LV-RU-01,LV-BY-01").json()["response"]["t-out"]["children"]
        assert out == "LV-BY-01"
        assert audit_rows(conn, "login")[-1]["actor"] == "ivars"
        # No mapped group, no header: refused; the login page says who signs in.
        assert requests.get(base + "/", headers={"X-Remote-User": "x", "X-Remote-Groups": "staff"},
                            allow_redirects=False).status_code in (302, 401)
        assert requests.get(base + "/", allow_redirects=False).status_code in (302, 401)
        assert requests.get(base + "/login").status_code == 403
        w = requests.Session()
        w.headers.update({"Origin": base, "X-Remote-User": "liga", "X-Remote-Groups": "nsp-watch,nsp-daugavpils"})
        assert len(callback(w, base, "").json()["response"]["t-out"]["children"].split(",")) > 20
    finally:
        srv.shutdown()
    # The same headers from an address that is not a trusted proxy are ignored.
    auth_env(NSP_AUTH_MODE="header", NSP_AUTH_TRUSTED_PROXIES='["10.0.0.1"]', NSP_AUTH_GROUP_ROLES=GROUPS)
    srv, base = serve(make_app())
    try:
        r = requests.get(base + "/", headers={"X-Remote-User": "ivars", "X-Remote-Groups": "nsp-watch"},
                         allow_redirects=False)
        assert r.status_code in (302, 401)
    finally:
        srv.shutdown()


def test_users_cli(db_url, conn):
    from click.testing import CliRunner

    from nsp.cli import cli

    run = CliRunner().invoke
    r = run(cli, ["users", "add", "maris", "--role", "sector_commander", "--sections", "LV-BY-01,LV-BY-02",
                  "--password-stdin", "--actor", "admin1"], input="long enough pw\n")
    assert r.exit_code == 0, r.output
    r = run(cli, ["users", "add", "x", "--role", "sector_commander", "--sections", "LV-XX-99",
                  "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 1 and "unknown section code(s): LV-XX-99" in r.output
    r = run(cli, ["users", "add", "y", "--role", "analyst", "--password-stdin"], input="short\n")
    assert r.exit_code == 1 and "too short" in r.output
    r = run(cli, ["users", "add", "maris", "--role", "analyst", "--password-stdin"], input="long enough pw\n")
    assert r.exit_code == 1 and "already exists" in r.output
    r = run(cli, ["users", "list", "--json"])
    assert '"maris"' in r.output and "password" not in r.output
    assert run(cli, ["users", "disable", "maris", "--actor", "admin1"]).exit_code == 0
    assert run(cli, ["users", "set-password", "maris", "--password-stdin", "--actor", "admin1"],
               input="another long pw\n").exit_code == 0
    assert run(cli, ["users", "disable", "ghost"]).exit_code == 1
    r = run(cli, ["users", "kiosk-token", "--sections", "LV-BY-01", "--expires-days", "7",
                  "--base-url", "http://wall.example:8050", "--actor", "admin1"])
    assert r.exit_code == 0 and r.stdout.strip().startswith("http://wall.example:8050/kiosk/")
    token = r.stdout.strip().rsplit("/", 1)[1]
    stored = conn.execute("SELECT token_sha256, sections FROM kiosk_token").fetchone()
    assert stored["token_sha256"] != token and stored["sections"] == ["LV-BY-01"]
    row = conn.execute("SELECT password_hash, disabled FROM app_user WHERE name = 'maris'").fetchone()
    assert row["password_hash"].startswith("$argon2id$") and row["disabled"]
    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE actor = 'admin1' ORDER BY id").fetchall()]
    assert actions == ["user_add", "user_disable", "user_set_password", "kiosk_token_add"]
    assert db.database_url() == db_url
