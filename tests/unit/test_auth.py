"""Pure parts of the login and hardening code (no database, no browser)."""

from __future__ import annotations

import pytest
from flask import Flask

from dashboard import auth, security
from dashboard.auth_settings import AuthSettings
from nsp.access import Scope


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
        assert auth._only_timer_driven()
    body = {"changedPropIds": ["main-refresh.n_intervals", "main-window.value"]}
    with app.test_request_context("/_dash-update-component", method="POST", json=body):
        assert not auth._only_timer_driven()
    with app.test_request_context("/", method="GET"):
        assert not auth._only_timer_driven()


def test_next_parameter_cannot_leave_the_site():
    assert auth._safe_next("/wall?x=1") == "/wall?x=1"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example", None, ""):
        assert auth._safe_next(bad) == "/"
