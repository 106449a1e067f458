"""Login, sessions, kiosk, SSO header mode, CSRF and headers over real HTTP (issue 6 parts 2, 5, 6;
issue 25 items 3, 5, 6: sessions that end, a login that tells nothing, HTTP hygiene).

A small Dash app with one data callback (reading events under the request's scope, as the
dashboard's callbacks do) is served by a real HTTP server in a thread on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import statistics
import time

import psycopg
import pytest
import requests
from dash import Dash, Input, Output, dcc, html
from flask import Flask

from dashboard import auth
from nsp import access, db
from nsp.auth_settings import auth_settings
from nsp.passwords import hash_password
from tests.auth_helpers import kiosk_url, login, logout, make_user
from tests.support import nsp_serve
from tests.support.live import start

PASSWORD = "correct horse battery"


@pytest.fixture
def auth_env(monkeypatch):
    def apply(**values):
        base = {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "k" * 64,
                "NSP_AUTH_MAX_FAILED_LOGINS": "3", "NSP_AUTH_LOGIN_DELAY_SECONDS": "0.2",
                "NSP_AUTH_LOGIN_DELAY_MAX_SECONDS": "0.4", "NSP_AUTH_LOGIN_FAILURE_SECONDS": "0.3"}
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

    from dashboard.exports import blueprint as exports

    server.register_blueprint(exports)  # the real export routes (/export/events.csv, ...)
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
    srv = start(make_app())
    base = srv.url
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


def post_login(session, base, name, password, **headers):
    return session.post(base + "/login", data={"username": name, "password": password},
                        allow_redirects=False, headers=headers, timeout=60)


def test_failures_slow_a_name_down_but_never_lock_it(site, conn, auth_env):
    auth_env(NSP_AUTH_LOGIN_DELAY_SECONDS="1.5", NSP_AUTH_LOGIN_DELAY_MAX_SECONDS="2")
    s = requests.Session()
    s.headers["Origin"] = site
    for _ in range(5):  # two past NSP_AUTH_MAX_FAILED_LOGINS (3)
        r = post_login(s, site, "cmd", "wrong password!")
        assert r.status_code == 401 and "Invalid user name or password" in r.text
    # The next sign-in is held until the wait after the last failure is over, then checked:
    # the right password still gets in (five requests cannot lock anyone out).
    started = time.monotonic()
    login(requests.Session(), site, "cmd", PASSWORD)
    held = time.monotonic() - started
    assert held >= 1.2, held  # 2 s after the last failure, of which its 0.3 s answer took part
    failed = audit_rows(conn, "login_failed")
    assert [(f["details"]["reason"], f["details"]["failures"]) for f in failed] == \
        [("wrong password", n) for n in range(1, 6)]
    assert audit_rows(conn, "login")[-1]["actor"] == "cmd"
    assert conn.execute("SELECT count(*) AS n FROM login_throttle").fetchone()["n"] == 0  # success clears it
    # Unknown users are audited too, with the same answer as a wrong password.
    r = post_login(s, site, "nobody", "whatever123")
    assert r.status_code == 401 and "Invalid user name or password" in r.text
    assert audit_rows(conn, "login_failed")[-1]["details"] == {"reason": "unknown user", "failures": 1}


@pytest.mark.seconds(30)
def test_every_failure_has_the_same_answer_and_time(site, db_url, conn, auth_env):
    # The per-client limit is tested below; a slowed name's wait (the same for every name, see
    # above) is kept short here so that the answer time is the failure time alone.
    # The failure time (1.5 s) is above what an argon2 check takes on a loaded test machine.
    auth_env(NSP_AUTH_CLIENT_MAX_ATTEMPTS="100", NSP_AUTH_LOGIN_DELAY_SECONDS="0.01",
             NSP_AUTH_LOGIN_DELAY_MAX_SECONDS="0.01", NSP_AUTH_MAX_FAILED_LOGINS="1",
             NSP_AUTH_LOGIN_FAILURE_SECONDS="1.5")
    make_user(db_url, "gone", "analyst", PASSWORD)
    conn.execute("UPDATE app_user SET disabled = true WHERE name = 'gone'")
    s = requests.Session()
    s.headers["Origin"] = site
    names = {"cmd": "a real user", "ghost": "no such user", "gone": "a disabled user"}
    for _ in range(2):  # every name past NSP_AUTH_MAX_FAILED_LOGINS: slowed ("locked" before)
        for name in names:
            post_login(s, site, name, "wrong password!")
    times, bodies = {name: [] for name in names}, set()
    for _ in range(5):
        for name in names:
            started = time.monotonic()
            r = post_login(s, site, name, "wrong password!")
            times[name].append(time.monotonic() - started)
            assert r.status_code == 401
            bodies.add(r.text)
    assert len(bodies) == 1  # word for word the same page
    medians = {names[n]: statistics.median(v) for n, v in times.items()}
    print("median failure answer (s):", {k: round(v, 3) for k, v in medians.items()})
    assert max(medians.values()) - min(medians.values()) < 0.06, medians


def test_per_client_limit_counts_the_client_a_trusted_proxy_names(site, conn, auth_env):
    auth_env(NSP_AUTH_CLIENT_MAX_ATTEMPTS="4", NSP_AUTH_LOGIN_FAILURE_SECONDS="0")
    s = requests.Session()
    s.headers["Origin"] = site
    login(requests.Session(), site, "watch", PASSWORD)  # a success does not count
    for i in range(4):
        assert post_login(s, site, f"guess{i}", "wrong password!").status_code == 401
    r = post_login(s, site, "watch", PASSWORD)  # the fifth attempt: refused before any check
    assert r.status_code == 429 and "Too many sign-in attempts" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 300
    assert post_login(s, site, "cmd", PASSWORD).status_code == 429
    assert audit_rows(conn, "login_failed")[-1]["details"]["reason"] == "too many attempts from the client"
    # Behind a trusted proxy the client is the address the proxy saw (the header's last
    # untrusted hop), not the proxy and not what the client itself wrote in front of it.
    auth_env(NSP_AUTH_CLIENT_MAX_ATTEMPTS="4", NSP_AUTH_LOGIN_FAILURE_SECONDS="0",
             NSP_AUTH_TRUSTED_PROXIES='["127.0.0.1/32"]')
    r = post_login(s, site, "watch", PASSWORD, **{"X-Forwarded-For": "127.0.0.1, 203.0.113.7"})
    assert r.status_code == 302
    assert conn.execute("SELECT remote_addr FROM audit_log WHERE action = 'login' ORDER BY id DESC "
                        "LIMIT 1").fetchone()["remote_addr"] == "203.0.113.7"
    for i in range(4):
        post_login(s, site, f"guess{i}", "wrong", **{"X-Forwarded-For": "198.51.100.1, 203.0.113.8"})
    assert post_login(s, site, "watch", PASSWORD, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 429
    assert post_login(s, site, "watch", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 302


def test_logout_ends_the_session_for_every_copy_of_the_cookie(site, conn):
    s = login(requests.Session(), site, "watch", PASSWORD)
    kept = requests.Session()  # a copy of the cookie, taken before the logout
    kept.cookies.update(s.cookies)
    kept.headers["Origin"] = site
    export = "/export/events.geojson?window=7d"
    r = kept.get(site + export, allow_redirects=False)
    assert r.status_code == 200 and "LV-BY-01" in r.text
    # A GET of /logout (a link or an image on another site) only asks.
    r = s.get(site + "/logout", allow_redirects=False)
    assert r.status_code == 200 and 'name="token"' in r.text and r.headers["Cache-Control"] == "no-store"
    assert s.get(site + "/", allow_redirects=False).status_code == 200
    # A POST without the form token (even from our own origin) logs nobody out.
    assert s.post(site + "/logout", data={"token": "0" * 64}, allow_redirects=False).status_code == 403
    assert s.get(site + "/", allow_redirects=False).status_code == 200
    logout(s, site)
    for client in (s, kept):
        r = client.get(site + export, allow_redirects=False)
        assert r.status_code == 302 and "LV-" not in r.text
        assert callback(client, site, "").status_code == 401
    assert conn.execute("SELECT ended_reason FROM app_session WHERE principal = 'watch'").fetchone() \
        == {"ended_reason": "logout"}
    assert audit_rows(conn, "logout")[-1]["details"] == {"reason": "user"}


def test_a_wall_logged_out_stays_out(site, db_url, conn):
    wall = requests.Session()
    assert wall.get(kiosk_url(db_url, site)).url.endswith("/wall")
    kept = requests.Session()
    kept.cookies.update(wall.cookies)
    assert kept.get(site + "/wall", allow_redirects=False).status_code == 200
    logout(wall, site)
    assert kept.get(site + "/wall", allow_redirects=False).status_code == 302
    assert conn.execute("SELECT kind, ended_reason FROM app_session").fetchall() == \
        [{"kind": "kiosk", "ended_reason": "logout"}]


def test_session_cookie_flags_and_logout(site, conn, auth_env):
    s = requests.Session()
    s.headers["Origin"] = site
    r = s.post(site + "/login", data={"username": "watch", "password": PASSWORD}, allow_redirects=False)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "nsp_session=" in cookie
    assert s.get(site + "/", allow_redirects=False).status_code == 200
    logout(s, site)
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
    from nsp.users import set_disabled, set_password

    # `nsp users disable` ends every session of the user at once: enabling them again
    # does not bring an old cookie back.
    s = login(requests.Session(), site, "watch", PASSWORD)
    with db.connect(conn.info.dsn) as c2, c2.transaction():
        set_disabled(c2, "watch", True, actor="test")
        set_disabled(c2, "watch", False, actor="test")
    assert s.get(site + "/", allow_redirects=False).status_code == 302
    # A password change ends the sessions opened before it.
    s = login(requests.Session(), site, "watch", PASSWORD)
    with db.connect(conn.info.dsn) as c2, c2.transaction():
        set_password(c2, "watch", PASSWORD + "!", actor="test")
    assert s.get(site + "/", allow_redirects=False).status_code == 302
    ended = [r["ended_reason"] for r in conn.execute(
        "SELECT ended_reason FROM app_session WHERE principal = 'watch' ORDER BY created_at").fetchall()]
    assert ended[-2:] == ["disabled", "password changed"]
    login(requests.Session(), site, "watch", PASSWORD + "!")
    conn.execute("UPDATE app_user SET password_hash = %s WHERE name = 'watch'", (hash_password(PASSWORD),))
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



def test_no_store_everywhere_but_assets_and_bad_callback_input_is_400(site):
    s = login(requests.Session(), site, "watch", PASSWORD)
    page = s.get(site + "/")
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/private-download", "/login",
                 "/export/events.csv?window=24h"):
        r = s.get(site + path)
        assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store", (path, r.headers)
    assert callback(s, site, "").headers["Cache-Control"] == "no-store"
    bundle = re.search(r'src="(/_dash-component-suites/[^"]+)"', page.text).group(1)
    r = s.get(site + bundle)
    assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")
    assert s.get(site + "/auth/login.css").headers.get("Cache-Control") != "no-store"
    # A callback input of the wrong type, or a body that is no callback, is the client's error.
    for value in (5, {"a": 1}, ["LV-BY-01"]):
        r = callback(s, site, value)
        assert r.status_code == 400 and "Traceback" not in r.text, value
    for body in ([1, 2], "text", None):
        assert s.post(f"{site}/_dash-update-component", json=body).status_code == 400, body
    r = s.post(f"{site}/_dash-update-component", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert callback(s, site, "LV-BY-01").status_code == 200  # a well-formed one still works


def test_a_browser_keeps_the_static_assets_though_the_session_cookie_is_signed_anew(site):
    # The cookie is signed again at every answer (the idle time slides); the bundles' answers
    # said "Vary: Cookie", so a browser could use no kept bundle a second later and every page
    # load fetched Dash's scripts (some 9 MB for the main view) again.
    s = login(requests.Session(), site, "watch", PASSWORD)
    page = s.get(site + "/")
    assert "Cookie" in page.headers.get("Vary", "") and page.headers["Cache-Control"] == "no-store"
    assert "nsp_session" in page.headers.get("Set-Cookie", "")  # signed anew
    bundles = re.findall(r'src="(/_dash-component-suites/[^"]+\.v[^"]+)"', page.text)
    assert bundles
    for path in bundles:
        r = s.get(site + path)
        cache = {d.strip() for d in r.headers.get("Cache-Control", "").split(",")}
        assert r.status_code == 200 and "private" in cache and any(d.startswith("max-age=") for d in cache), \
            (path, r.headers)
        assert "cookie" not in r.headers.get("Vary", "").lower(), (path, r.headers)
    bundle = bundles[0]
    # a signed-out browser is still refused, and nothing of that answer is kept
    r = requests.get(site + bundle, allow_redirects=False)
    assert r.status_code in (302, 401) and r.headers.get("Cache-Control") == "no-store", r.headers


@pytest.mark.parametrize("workers", [1, 2], ids=["werkzeug", "gunicorn"])
def test_nsp_serve_names_no_server_version(db_url, workers):
    """`nsp serve` itself, as an operator starts it: one worker (werkzeug) or more (gunicorn)."""
    env = {**os.environ, "NSP_AUTH_SECRET_KEY": "s" * 64, "NSP_AUTH_COOKIE_SECURE": "false"}
    proc, site = nsp_serve.start(env, "--workers", str(workers))
    try:
        r = nsp_serve.wait_until_answers(proc, site + "/login", accept=lambda r: True)
        assert r.status_code == 200
        servers = r.raw.headers.getlist("Server")
        assert servers and not any(re.search(r"\d|werkzeug|python", v, re.I) for v in servers), servers
        assert r.headers["Cache-Control"] == "no-store"
    finally:
        nsp_serve.stop(proc)


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
    with access.connection(access.Scope(user="kiosk", role="kiosk")) as c, pytest.raises(psycopg.Error):
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
    srv = start(make_app())
    base = srv.url
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
    srv = start(make_app())
    base = srv.url
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
    # The password policy: common passwords, repeats and keyboard rows are refused, with why.
    for weak in ("aaaaaaaaaa", "password1234", "qwertyuiop", "1234567890", "maris12345"):
        r = run(cli, ["users", "add", "liga", "--role", "analyst", "--password-stdin"], input=weak + "\n")
        assert r.exit_code == 1 and "too easy to guess" in r.output, (weak, r.output)
    r = run(cli, ["users", "set-password", "maris", "--password-stdin"], input="aaaaaaaaaa\n")
    assert r.exit_code == 1 and "password for 'maris' is too easy to guess" in r.output
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
