"""The real dashboard, as the commander of LV-BY-01, over real HTTP (issue 6 part 6).

Every server-side callback registered in the app (read from ``/_dash-dependencies``) is
called with crafted inputs: other sections in the filter, no filter, SQL-injection strings.
Nothing outside LV-BY-01 may come back. Every route requires a login.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from nsp.auth_settings import auth_settings
from tests.auth_helpers import login, make_user
from tests.support.live import dashboard_app, serve

OWN = "LV-BY-01"
PASSWORD = "correct horse battery"
INJECTION = "LV-BY-01' OR '1'='1' --"
ROUNDS = {
    "other sections": {"sections": ["LV-RU-01", "LV-BY-02", "LV-SEA-01"],
                       "search": "?sections=LV-RU-01,LV-BY-02,LV-SEA-01&window=7d", "text": "LV-RU-01"},
    "no filter": {"sections": None, "search": "", "text": None},
    "empty filter": {"sections": [], "search": "?sections=&window=7d", "text": ""},
    "own and others": {"sections": [OWN, "LV-RU-01"], "search": f"?sections={OWN},LV-RU-01&window=7d",
                       "text": OWN},
    "sql injection": {"sections": [INJECTION, "'; DROP TABLE event; --"],
                      "search": "?sections=LV-BY-01%27%20OR%201%3D1--&window=24h%27--&category=x%27",
                      "text": INJECTION},
    # Every text value crafted: callbacks may refuse (500) but must not leak.
    "injection everywhere": {"sections": [INJECTION], "search": "?sections=LV-RU-01'--", "text": INJECTION,
                             "everywhere": True, "pathname": "/wall'--"},
}


@pytest.fixture
def dashboard_site(db_url, conn, monkeypatch):
    for k, v in {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "d" * 64,
                 "NSP_WEB_REFRESH_SECONDS": "15"}.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                              distance_to_border_m, impact, persons, description, subtype)
           SELECT 'feed-' || code, 'marker-' || code, 'unauthorised_border_crossing', now() - interval '30 minutes',
                  ST_PointOnSurface(area), code, 100, 'very_high', 7, 'marker-' || code, 'marker-' || code
             FROM border_section"""
    )
    conn.execute(
        """INSERT INTO patrol (source, source_ref, unit, started_at, ended_at, track)
           SELECT 'feed-' || code, 'marker-' || code, 'unit-marker-' || code, now() - interval '2 hours',
                  now() - interval '1 hour', ST_Multi(ST_MakeLine(p, ST_Translate(p, 0.00001, 0)))
             FROM (SELECT code, ST_PointOnSurface(area) AS p FROM border_section WHERE kind <> 'air') s"""
    )
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code)
           SELECT 'feed-' || code, 'asset-marker-' || code, 'own', now() - interval '5 minutes',
                  ST_PointOnSurface(area), code FROM border_section"""
    )
    codes = [r["code"] for r in conn.execute("SELECT code FROM border_section ORDER BY code").fetchall()]
    ids = {r["section_code"]: str(r["id"]) for r in conn.execute("SELECT id, section_code FROM event").fetchall()}
    levels = conn.execute("SELECT code, impact_level FROM border_section ORDER BY code").fetchall()
    make_user(db_url, "cmd", "sector_commander", PASSWORD, [OWN])
    app = dashboard_app()
    with serve(app.server) as live:
        yield {"base": live.url, "app": app, "codes": codes, "ids": ids, "levels": levels}
    auth_settings.cache_clear()


def _foreign_markers(site) -> dict[str, list[re.Pattern]]:
    """Per foreign section: its code, its event's id and the marker text of its rows."""
    out = {}
    for code in site["codes"]:
        if code == OWN:
            continue
        out[code] = [re.compile(rf"(?<![A-Z0-9-]){re.escape(code)}(?![0-9A-Z])"),
                     re.compile(re.escape(f"marker-{code}") + r"(?![0-9A-Z])"),
                     re.compile(re.escape(f"feed-{code}") + r"(?![0-9A-Z])")]
        if code in site["ids"]:
            out[code].append(re.compile(re.escape(site["ids"][code])))
    return out


def _leaks(text: str, markers: dict, asked: str = "") -> list[str]:
    """Foreign sections whose data is in ``text``; a code the request itself named (an echo
    of the filter) only counts with its rows' markers or ids."""
    found = []
    for code, pats in markers.items():
        hits = [p for p in pats if p.search(text)]
        if code in asked:
            hits = hits[1:] if hits and hits[0] is pats[0] else hits
        if hits:
            found.append(code)
    return found


def _value(dep_id: str, prop: str, round_: dict, pool: dict):
    key = f"{dep_id}.{prop}"
    if prop in ("n_intervals", "n_clicks"):
        return 1
    if prop == "pathname":
        return round_.get("pathname", "/")
    if prop == "search":
        return round_["search"]
    if "section" in dep_id and prop == "value":
        return round_["sections"] if "sections" in dep_id else round_["text"]
    if round_.get("everywhere") and prop == "value":
        return round_["text"]
    return pool.get(key)


def _walk(node, pool: dict) -> None:
    """Collect the initial props of every component with an id in a layout tree."""
    if isinstance(node, list):
        for n in node:
            _walk(n, pool)
    elif isinstance(node, dict):
        props = node.get("props") if "namespace" in node else None
        if props is not None:
            cid = props.get("id")
            if isinstance(cid, str):
                for k, v in props.items():
                    if k not in ("children", "id"):
                        pool.setdefault(f"{cid}.{k}", v)
            _walk(props.get("children"), pool)
        else:
            for v in node.values():
                _walk(v, pool)


def _page_layouts(session, base) -> dict:
    """Initial component props of every page (the pages container renders them on demand)."""
    import dash

    pool: dict = {}
    _walk(session.get(f"{base}/_dash-layout").json(), pool)
    for page in dash.page_registry.values():
        body = {"output": ".._pages_content.children..._pages_store.data..",
                "outputs": [{"id": "_pages_content", "property": "children"},
                            {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": page["path"]},
                           {"id": "_pages_location", "property": "search", "value": ""}],
                "changedPropIds": ["_pages_location.pathname"], "state": []}
        r = session.post(f"{base}/_dash-update-component", json=body, timeout=60)
        assert r.status_code == 200, page["path"]
        _walk(r.json(), pool)
    return pool


def _deps(session, base) -> list[dict]:
    r = session.get(f"{base}/_dash-dependencies")
    assert r.status_code == 200
    seen, out = set(), []
    for d in r.json():
        if d["output"] in seen:
            continue
        seen.add(d["output"])
        out.append(d)
    return out


def _outputs(spec: str) -> list[dict]:
    parts = spec[2:-2].split("...") if spec.startswith("..") else [spec]
    outs = []
    for part in parts:
        cid, _, prop = part.split("@")[0].rpartition(".")
        outs.append({"id": cid, "property": prop})
    return outs


@pytest.mark.seconds(10)
def test_every_callback_as_commander_sees_only_own_section(dashboard_site, conn):
    base = dashboard_site["base"]
    s = login(requests.Session(), base, "cmd", PASSWORD)
    patterns = _foreign_markers(dashboard_site)
    layout = s.get(f"{base}/_dash-layout")
    assert layout.status_code == 200 and not _leaks(layout.text, patterns)
    deps = [d for d in _deps(s, base) if not d.get("clientside_function")]
    assert len(deps) >= 10, "the dashboard's callbacks are not registered"
    pattern_ids = [d["output"] for d in deps if d["output"].lstrip(".").startswith("{")]
    assert not pattern_ids, f"pattern-matching callbacks need concrete ids in this test: {pattern_ids}"
    called, ok, own_seen, failures = set(), 0, False, []
    initial = _page_layouts(s, base)
    for round_name, round_ in ROUNDS.items():
        pool = dict(initial)
        for _ in range(2):  # the second pass feeds outputs of the first (main-state.data, ...)
            for dep in deps:
                outs = _outputs(dep["output"])
                body = {
                    "output": dep["output"],
                    "outputs": outs if dep["output"].startswith("..") else outs[0],
                    "inputs": [{**i, "value": _value(i["id"], i["property"], round_, pool)} for i in dep["inputs"]],
                    "state": [{**i, "value": _value(i["id"], i["property"], round_, pool)} for i in dep["state"]],
                    "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"]],
                }
                asked = json.dumps(body)
                r = s.post(f"{base}/_dash-update-component", json=body, timeout=60)
                called.add(dep["output"])
                assert "Traceback" not in r.text
                if r.status_code == 204:
                    continue
                if r.status_code != 200:
                    if round_.get("everywhere"):
                        continue
                    failures.append((round_name, dep["output"][:60], r.status_code))
                    continue
                ok += 1
                leaks = _leaks(r.text, patterns, asked)
                assert not leaks, f"{round_name}: {dep['output'][:80]} returned other sections: {leaks}"
                own_seen = own_seen or OWN in r.text
                for cid, props in r.json().get("response", {}).items():
                    for prop, value in props.items():
                        pool[f"{cid}.{prop}"] = value
    assert called == {d["output"] for d in deps}
    print(f"{len(deps)} callbacks, {ok} answers with data, refused: {failures}")
    assert not failures
    assert ok >= len(deps) * 4, f"too few callbacks answered: {ok}; failures: {failures}"
    assert own_seen, "the commander's own section never came back: the test would prove nothing"
    # Nothing changed: commanders may not record impact-level decisions.
    assert conn.execute("SELECT code, impact_level FROM border_section ORDER BY code").fetchall() \
        == dashboard_site["levels"]
    # Calls with our own crafted JSON still end in audit-free, data-free refusals for strangers.
    anon = requests.Session()
    anon.headers["Origin"] = base
    r = anon.post(f"{base}/_dash-update-component", json={"output": deps[0]["output"], "inputs": []})
    assert r.status_code == 401 and not _leaks(r.text, patterns)


def test_every_route_requires_login(dashboard_site):
    base = dashboard_site["base"]
    public = {"/login", "/kiosk/<token>", "/auth/login.css", "/logout", "/api/ingest",
              "/healthz"}  # nothing operational: tests/integration/test_health.py
    rules = [r for r in dashboard_site["app"].server.url_map.iter_rules() if r.rule not in public]
    assert len(rules) >= 8
    s = requests.Session()
    s.headers["Origin"] = base
    for rule in rules:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "x", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            r = s.request(method, base + path, allow_redirects=False, timeout=30)
            assert r.status_code in (302, 401, 403), f"{method} {rule.rule}: {r.status_code}"
            if r.status_code == 302:
                assert r.headers["Location"].startswith("/login")
    for page in ("/", "/wall", "/audit", "/export"):
        r = s.get(base + page, allow_redirects=False, headers={"Accept": "text/html"})
        assert r.status_code == 302 and r.headers["Location"].startswith("/login"), page


def test_audit_page_only_for_admins(dashboard_site, db_url):
    base = dashboard_site["base"]
    make_user(db_url, "root", "admin", PASSWORD)
    body = {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"},
                        {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/audit"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}
    cmd = login(requests.Session(), base, "cmd", PASSWORD)
    r = cmd.post(f"{base}/_dash-update-component", json=body)
    assert r.status_code == 200 and "audit-table" not in r.text and "not permitted" in r.text
    adm = login(requests.Session(), base, "root", PASSWORD)
    r = adm.post(f"{base}/_dash-update-component", json=body)
    assert r.status_code == 200 and "audit-table" in r.text
    rows = json.dumps(r.json())
    assert "login" in rows and "cmd" in rows  # the commander's login above is in the log


def test_audit_filter_callback(dashboard_site, db_url):
    base = dashboard_site["base"]
    make_user(db_url, "root", "admin", PASSWORD)
    login(requests.Session(), base, "cmd", PASSWORD)
    body = {"output": "audit-table.rowData", "outputs": {"id": "audit-table", "property": "rowData"},
            "inputs": [{"id": "audit-actor", "property": "value", "value": "cmd"},
                       {"id": "audit-action", "property": "value", "value": "login"},
                       {"id": "audit-since", "property": "value", "value": "24h"}],
            "changedPropIds": ["audit-actor.value"], "state": []}
    adm = login(requests.Session(), base, "root", PASSWORD)
    rows = adm.post(f"{base}/_dash-update-component", json=body).json()["response"]["audit-table"]["rowData"]
    assert rows and {(r["actor"], r["action"]) for r in rows} == {("cmd", "login")}
    cmd = login(requests.Session(), base, "cmd", PASSWORD)
    r = cmd.post(f"{base}/_dash-update-component", json=body)
    assert r.json()["response"]["audit-table"]["rowData"] == []


def test_unknown_paths_answer_404_and_the_pages_stay(dashboard_site):
    base = dashboard_site["base"]
    s = login(requests.Session(), base, "cmd", PASSWORD)
    for page in ("/", "/wall", "/export", "/audit", "/wall/", "/?window=7d"):
        r = s.get(base + page, allow_redirects=False)
        assert r.status_code == 200 and "_dash-config" in r.text, page
    for path in ("/nope", "/wall/extra", "/export.php", "/.env", "/admin/login", "/wall%27--"):
        r = s.get(base + path, allow_redirects=False)
        assert r.status_code == 404 and "_dash-config" not in r.text, path
        assert r.headers["Cache-Control"] == "no-store"
    # A stranger is still sent to the login page first (a 404 would tell which paths exist).
    r = requests.get(base + "/nope", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def _export_run(session, base, week, sections):
    dep = next(d for d in _deps(session, base) if "export-request.data" in d["output"])
    values = {"export-run.n_clicks": 1, "export-week.value": week, "export-sections.value": sections}
    body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
            "inputs": [{**i, "value": values[f"{i['id']}.{i['property']}"]} for i in dep["inputs"]],
            "state": [{**i, "value": values[f"{i['id']}.{i['property']}"]} for i in dep["state"]],
            "changedPropIds": ["export-run.n_clicks"]}
    return session.post(f"{base}/_dash-update-component", json=body, timeout=60)


def test_weekly_export_refuses_other_sections_when_asked(dashboard_site, conn):
    """The "Export week" button as the commander of LV-BY-01: another section is refused in
    the request (as the indicators route does), and no job is queued to fail in the worker."""
    from geo.snapshot.settings import export_settings
    from geo.snapshot.week import Week

    base = dashboard_site["base"]
    week = Week.last_complete(export_settings().timezone).label
    s = login(requests.Session(), base, "cmd", PASSWORD)

    def jobs() -> int:
        return conn.execute("SELECT count(*) AS n FROM procrastinate_jobs").fetchone()["n"]

    before = jobs()
    for sections in (["LV-RU-01"], [OWN, "LV-RU-01"], ["LV-XX-99"]):
        r = _export_run(s, base, week, sections)
        assert r.status_code == 200, r.text[:200]
        status = r.json()["response"]["export-status"]["children"]
        assert "Cannot export" in status, (sections, status)
        assert jobs() == before, sections
    assert "may not export section(s): LV-RU-01" in _export_run(s, base, week, ["LV-RU-01"]).text
    # Wrongly typed input: the client's error (400), not a server error (500).
    assert _export_run(s, base, 5, None).status_code == 400
    assert _export_run(s, base, week, 7).status_code == 400
    # Its own section is queued.
    r = _export_run(s, base, week, [OWN])
    assert r.status_code == 200 and "queued" in r.json()["response"]["export-status"]["children"]
    assert jobs() == before + 1
