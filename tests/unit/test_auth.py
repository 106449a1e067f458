"""Pure parts of the login and hardening code (no database, no browser)."""

from __future__ import annotations

import pytest
from flask import Flask

from dashboard import auth, security
from nsp.access import Scope
from nsp.auth_settings import AuthSettings


def test_inline_script_hashes_cover_executable_scripts_only():
    html = ('<script id="_dash-config" type="application/json">{"a": 1}</script>'
            '<script src="/x.js"></script>'
            '<script id="_dash-renderer" type="application/javascript">var renderer = new DashRenderer();</script>'
            '<script>alert(1)</script>')
    hashes = security.inline_script_hashes(html)
    # sha256 of exactly the two executable bodies (values computed independently with openssl).
    assert hashes == sorted(["'sha256-jZlsGVOhUAIcH+4PVs7QuGZkthRMgvT2n0ilH6/zTM0='",
                             "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"])
    csp = security.csp_header(hashes)
    assert "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp


def test_origin_check():
    assert security.origin_allowed("http://127.0.0.1:8050", "127.0.0.1:8050", [])
    assert security.origin_allowed("https://NSP.example", "nsp.example", [])
    assert not security.origin_allowed("http://evil.example", "nsp.example", [])
    assert not security.origin_allowed("null", "nsp.example", [])
    assert security.origin_allowed("https://picture.ncc.lv", "10.0.0.5:8050", ["https://picture.ncc.lv"])


GROUPS = {"nsp-watch": {"role": "watch_officer"},
          "nsp-by": {"role": "sector_commander", "sections": ["LV-BY-01", "LV-BY-02"]},
          "nsp-by3": {"role": "sector_commander", "sections": ["LV-BY-03"]},
          "nsp-admin": {"role": "admin"}}


def _settings(**kw):
    return AuthSettings(mode="header", trusted_proxies=["10.1.0.0/16"], group_roles=GROUPS, **kw)


def test_header_mode_maps_groups_and_trusts_only_proxies():
    s = _settings()
    h = {"X-Remote-User": "ivars", "X-Remote-Groups": "nsp-by, nsp-by3,other"}
    u = auth.user_from_headers(h, "10.1.2.3", s)
    assert (u.name, u.role, u.sections) == ("ivars", "sector_commander", ("LV-BY-01", "LV-BY-02", "LV-BY-03"))
    assert auth.user_from_headers(h, "10.2.0.1", s) is None          # not a trusted proxy
    assert auth.user_from_headers(h, None, s) is None
    assert auth.user_from_headers({"X-Remote-Groups": "nsp-watch"}, "10.1.2.3", s) is None  # no user
    assert auth.user_from_headers({"X-Remote-User": "x", "X-Remote-Groups": "staff"}, "10.1.2.3", s) is None
    both = auth.user_from_headers({"X-Remote-User": "liga", "X-Remote-Groups": "nsp-by;nsp-watch"},
                                  "10.1.9.9", _settings(groups_separator=";"))
    assert (both.role, both.sections) == ("watch_officer", None)  # the wider role wins
    adm = auth.user_from_headers({"X-Remote-User": "a", "X-Remote-Groups": "nsp-admin"}, "10.1.0.1", s)
    assert adm.scope.sections == () and adm.scope.can_manage


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        AuthSettings(trusted_proxies=["not-an-address"])
    with pytest.raises(ValueError):
        AuthSettings(group_roles={"g": {"role": "superuser"}})


def test_scope_rules():
    with pytest.raises(ValueError):
        Scope(user="x", role="sector_commander")  # a commander must name sections
    with pytest.raises(ValueError):
        Scope(user="x", role="kiosk", sections=("LV-BY-01,LV-RU-01",))  # would widen nsp.sections
    with pytest.raises(ValueError):
        Scope(user="x", role="kiosk", sections=("LV-BY-01' OR 1=1",))
    assert Scope(user="x", role="admin").sections == ()
    cmd = Scope(user="c", role="sector_commander", sections=["LV-BY-01"])
    assert cmd.restrict(["LV-RU-01", "LV-BY-01"]) == ["LV-BY-01"] and cmd.restrict(None) == ["LV-BY-01"]
    assert not cmd.can_change_levels and cmd.can_export and not cmd.can_manage
    assert Scope(user="w", role="watch_officer").can_change_levels
    assert Scope(user="k", role="kiosk").read_only and not Scope(user="k", role="kiosk").can_export
    assert auth.NOBODY.sections == () and auth.current_scope() == auth.NOBODY  # outside a request


def test_timer_driven_callbacks_do_not_count_as_activity():
    app = Flask("t")
    body = {"changedPropIds": ["main-refresh.n_intervals"]}
    with app.test_request_context("/_dash-update-component", method="POST", json=body):
        assert auth.only_timer_driven()
    body = {"changedPropIds": ["main-refresh.n_intervals", "main-window.value"]}
    with app.test_request_context("/_dash-update-component", method="POST", json=body):
        assert not auth.only_timer_driven()
    with app.test_request_context("/", method="GET"):
        assert not auth.only_timer_driven()


def test_next_parameter_cannot_leave_the_site():
    assert auth.safe_next("/wall?x=1") == "/wall?x=1"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example", None, ""):
        assert auth.safe_next(bad) == "/"


def test_client_address_from_the_first_trusted_proxy():
    from werkzeug.datastructures import Headers

    from nsp.login_guard import client_address

    s = AuthSettings(trusted_proxies=["10.0.0.0/24", "192.0.2.10"])
    h = Headers([("X-Forwarded-For", "198.51.100.66, 203.0.113.7"), ("X-Forwarded-For", "192.0.2.10")])
    # right to left past the trusted proxies: the address the first trusted proxy saw
    assert client_address("10.0.0.5", h, s) == "203.0.113.7"
    # the same header from a peer that is no trusted proxy is ignored
    assert client_address("203.0.113.50", h, s) == "203.0.113.50"
    assert client_address("10.0.0.5", Headers(), s) == "10.0.0.5"  # no header: the proxy itself
    assert client_address("10.0.0.5", Headers([("X-Forwarded-For", "not-an-ip")]), s) == "10.0.0.5"
    assert client_address("10.0.0.5", h, AuthSettings(trusted_proxies=["10.0.0.0/24"],
                                                      client_address_header="")) == "10.0.0.5"


def test_a_slowed_name_waits_twice_as_long_per_failure_up_to_the_cap():
    from nsp.login_guard import delay_for

    s = AuthSettings(max_failed_logins=5, login_delay_seconds=1, login_delay_max_seconds=30)
    assert [delay_for(n, s) for n in (0, 4, 5, 6, 7, 9, 10, 1000)] == [0, 0, 1, 2, 4, 16, 30, 30]


def test_password_policy():
    from nsp.passwords import password_problem

    s = AuthSettings()
    assert password_problem("ilze", "short1", s).startswith("is too short: at least 10")
    assert password_problem("ilze.kalnina", "Ilze.Kalnina", s) == "must not be the user name"
    for weak in ("aaaaaaaaaa", "password123", "qwertyuiop", "1234567890", "ilze.kalnina1"):
        assert password_problem("ilze.kalnina", weak, s).startswith("is too easy to guess"), weak
    assert password_problem("ilze", "correct horse battery staple", s) is None
    assert password_problem("ilze", "a" * 10_000 + "x", s) is not None  # scored in bounded time
    assert password_problem("ilze", "aaaaaaaaaa", AuthSettings(password_min_score=0)) is None
