"""Two nsp instances share with each other over loopback, both ways (issue 24 item 3).

Centre A: this process's dashboard, on database A (the ``db_url`` fixture), served over real
HTTP (tests/support/live.py). Centre B: ``nsp serve`` in another process on database B and a
port of its own. A shares its LV-LT sections with B (full detail, pushed as signed GeoJSON and
pulled from A's /ogc); B shares its LV-EE sections with A (no personal data, pushed and
pulled). Each lands in the other's neighbour picture, marked with the sender's country, exact
in count, and leaves the receiver's own section figures unchanged."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import psycopg
import pytest
import requests
from click.testing import CliRunner

from geo import picture, shares
from nsp import db
from nsp.access import Scope
from nsp.auth_settings import auth_settings
from tests.support import nsp_serve
from tests.support.live import dashboard_app, serve

A_SECTIONS = ["LV-LT-01", "LV-LT-02"]
B_SECTIONS = ["LV-EE-01"]
PERSONAL = "reported by Anna Ozola, +371 2999 9999"
ENV = nsp_serve.CENTRE_ENV


def _seed(url: str, sections: list[str], other: str) -> None:
    """Two events per shared section (one low, one high, an hour ago), one in ``other``
    section (not shared), each with personal free text."""
    with db.connect(url) as conn, conn.transaction():
        conn.execute(
            """INSERT INTO event (source, source_ref, category, subtype, occurred_at, geom, section_code,
                                  distance_to_border_m, impact, persons, description)
               SELECT 'feed', s.code || '-' || i, 'unauthorised_border_crossing', 'on_foot',
                      date_trunc('second', now()) - interval '1 hour' - i * interval '1 minute',
                      ST_Translate(ST_PointOnSurface(s.area), 0.00321, 0.00123), s.code, 50,
                      (ARRAY['low', 'high'])[i], i + 1, %s
                 FROM border_section s CROSS JOIN generate_series(1, 2) i WHERE s.code = ANY(%s)""",
            (PERSONAL, [*sections, other]))


@pytest.fixture
def centres(db_url, conn, pg_admin_url, sections_template, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    b_name = f"{db_url.rsplit('/', 1)[1]}_b"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{b_name}" TEMPLATE "{sections_template}"')
    b_url = db_url.rsplit("/", 1)[0] + "/" + b_name
    _seed(db_url, A_SECTIONS, "LV-BY-01")
    _seed(b_url, B_SECTIONS, "LV-EE-02")
    b, b_root = nsp_serve.start({**os.environ, **ENV, "DATABASE_URL": b_url})
    try:
        nsp_serve.wait_until_answers(b, b_root + "/healthz", timeout=90)
        with serve(dashboard_app().server) as a:
            yield {"a_url": db_url, "a_root": a.url, "b_url": b_url, "b_root": b_root}
    finally:
        nsp_serve.stop(b)
        auth_settings.cache_clear()
        db.close_pool()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{b_name}" WITH (FORCE)')


def _neighbour_rows(url: str, name: str) -> list[dict]:
    with db.connect(url) as conn:
        return conn.execute("SELECT country, layer, feature_id, impact, properties, ST_X(geom) x, ST_Y(geom) y "
                            "FROM neighbour_feature WHERE neighbour = %s ORDER BY feature_id", (name,)).fetchall()


def _own_figures(url: str) -> list[dict]:
    now = picture.now_utc()
    f = picture.PictureFilter(start=now - timedelta(days=1), end=now)
    rows = picture.section_table(Scope(user="test", role="watch_officer"), f)
    with db.connect(url) as conn:
        n = conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    return [n, sorted((r["code"], r["events"], r["persons"]) for r in rows if r["events"])]


def test_two_centres_share_both_ways_pushed_and_pulled(centres):
    from nsp.cli import cli

    a_url, b_url = centres["a_url"], centres["b_url"]
    runner = CliRunner()
    # A -> B: LV-LT sections, full detail
    out = runner.invoke(cli, ["shares", "add", "to-b", "--sections", ",".join(A_SECTIONS), "--layers", "events",
                              "--actor", "a-liaison"])
    assert out.exit_code == 0, out.output
    a_keys = dict(line.split(None, 1) for line in out.stdout.splitlines())
    # B -> A: LV-EE-01, high impact only, no personal data, places to 2 decimals
    b_keys = dict(line.split(None, 1) for line in nsp_serve.as_centre(
        b_url, "shares", "add", "to-a", "--sections", ",".join(B_SECTIONS), "--layers", "events",
        "--min-impact", "high", "--detail", "no-personal-data").splitlines())
    # each registers the other as a neighbour: pushes (secret) and pulls (its OGC API and token)
    nsp_serve.as_centre(b_url, "neighbours", "add", "centre-a", "--country", "LVA", "--secret", a_keys["secret"],
         "--pull-url", centres["a_root"] + "/ogc", "--token", a_keys["token"])
    out = runner.invoke(cli, ["neighbours", "add", "centre-b", "--country", "LTU", "--secret", b_keys["secret"],
                              "--pull-url", centres["b_root"] + "/ogc", "--token", b_keys["token"]])
    assert out.exit_code == 0, out.output
    a_before = _own_figures(a_url)

    # pushes, both ways
    done = shares.push("to-b", centres["b_root"] + "/api/ingest/neighbours/centre-a", actor="a-liaison")
    assert done == {"status": 200, "features": 4, "delivery": done["delivery"]}
    assert "pushed share to-a: 1 features, HTTP 200" in nsp_serve.as_centre(
        b_url, "shares", "push", "to-a", "--url", centres["a_root"] + "/api/ingest/neighbours/centre-b")

    in_b = _neighbour_rows(b_url, "centre-a")
    assert len(in_b) == 4 and {r["country"] for r in in_b} == {"LVA"}
    assert {r["properties"]["section_code"] for r in in_b} == set(A_SECTIONS)
    assert all(r["properties"]["description"] == PERSONAL for r in in_b)  # full detail
    in_a = _neighbour_rows(a_url, "centre-b")
    assert len(in_a) == 1 and in_a[0]["country"] == "LTU" and in_a[0]["impact"] == "high"
    assert set(in_a[0]["properties"]) == {"category", "subtype", "occurred_at", "persons", "impact",
                                          "section_code", "layer"}
    assert PERSONAL not in json.dumps([r["properties"] for r in in_a])
    assert round(in_a[0]["x"], 2) == in_a[0]["x"] and round(in_a[0]["y"], 2) == in_a[0]["y"]

    # pulls, both ways: the same pictures (replaced, not added to)
    assert "4 features loaded, 0 quarantined" in nsp_serve.as_centre(b_url, "neighbours", "pull", "centre-a")
    out = runner.invoke(cli, ["neighbours", "pull", "centre-b"])
    assert out.exit_code == 0 and "1 features loaded, 0 quarantined" in out.output, out.output
    assert [r["feature_id"] for r in _neighbour_rows(b_url, "centre-a")] == [r["feature_id"] for r in in_b]
    assert [r["feature_id"] for r in _neighbour_rows(a_url, "centre-b")] == [r["feature_id"] for r in in_a]
    assert PERSONAL not in json.dumps([r["properties"] for r in _neighbour_rows(a_url, "centre-b")])

    # A's own figures are not changed by B's picture
    assert _own_figures(a_url) == a_before
    # every delivery and every pull audited on the sending side
    with db.connect(a_url) as conn:
        a_audit = [r["action"] for r in conn.execute(
            "SELECT action FROM audit_log WHERE object = 'to-b' ORDER BY id").fetchall()]
    assert a_audit[:2] == ["share_add", "share_push"] and "share_pull" in a_audit
    with db.connect(b_url) as conn:
        b_audit = [r["action"] for r in conn.execute(
            "SELECT action FROM audit_log WHERE object = 'to-a' ORDER BY id").fetchall()]
    assert b_audit[:2] == ["share_add", "share_push"] and "share_pull" in b_audit


def test_a_push_with_a_wrong_signature_is_refused_and_bad_features_quarantined(db_url, conn, monkeypatch):
    from geo import neighbours
    from ingest.delivery.alerts import sign

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    with db.connect(db_url) as c, c.transaction():
        neighbours.add_neighbour(c, "ee", "EST", secret="s3cret", actor="test")
    good = {"type": "Feature", "id": "e1", "geometry": {"type": "Point", "coordinates": [25.0, 57.5]},
            "properties": {"layer": "events", "category": "other", "impact": "low"}}
    bad = {"type": "Feature", "id": "e2", "geometry": None, "properties": {"layer": "events"}}
    body = json.dumps({"type": "FeatureCollection", "features": [good, bad]}).encode()
    with serve(dashboard_app().server) as live:
        url = live.url + "/api/ingest/neighbours/ee"
        refused = requests.post(url, data=body, headers={"X-NSP-Signature": sign("wrong", body)}, timeout=10)
        assert refused.status_code == 401
        ok = requests.post(url, data=body, headers={"X-NSP-Signature": sign("s3cret", body)}, timeout=10)
        assert ok.status_code == 200 and ok.json() == {"loaded": 1, "quarantined": 1}, ok.text
    q = conn.execute("SELECT source, location, raw, reason FROM quarantine").fetchall()
    assert [(r["source"], r["location"], r["reason"]) for r in q] == [("neighbour:ee", "feature 2", "no geometry")]
    assert '"e2"' in q[0]["raw"]
    assert conn.execute("SELECT count(*) n FROM audit_log WHERE action = 'neighbour_push_refused'").fetchone()["n"] == 1
    auth_settings.cache_clear()


def test_the_neighbour_layer_serves_the_partners_picture_to_all_section_scopes_only(db_url, conn, monkeypatch):
    from geo import neighbours
    from tests.auth_helpers import login, make_user

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    with db.connect(db_url) as c, c.transaction():
        neighbours.add_neighbour(c, "lt", "LTU", secret="x", actor="test")
        neighbours.load(c, "lt", [
            {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [24.1, 56.2]},
             "properties": {"layer": "events", "category": "other", "impact": "high", "persons": 3,
                            "occurred_at": "2026-01-01T10:00:00Z", "section_code": "LT-LV-01"}},
            {"type": "Feature", "id": "b", "geometry": {"type": "Point", "coordinates": [24.2, 56.3]},
             "properties": {"layer": "own_assets", "object_type": "vehicle"}}], origin="test")
    make_user(db_url, "watch", "watch_officer")
    make_user(db_url, "cmd", "sector_commander", sections=["LV-LT-01"])
    own_events = conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    with serve(dashboard_app().server) as live:
        s = requests.Session()
        login(s, live.url, "watch")
        got = s.get(live.url + "/neighbours.geojson", timeout=10).json()["features"]
        assert sorted((f["properties"]["country"], f["properties"]["layer"]) for f in got) == [
            ("LTU", "events"), ("LTU", "own_assets")]
        assert next(f for f in got if f["properties"]["layer"] == "events")["properties"]["persons"] == 3
        c = requests.Session()
        login(c, live.url, "cmd")
        assert c.get(live.url + "/neighbours.geojson", timeout=10).json()["features"] == []
        assert requests.get(live.url + "/neighbours.geojson", timeout=10,
                            allow_redirects=False).status_code in (302, 401)
    assert own_events == 0 == conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    # drawn on the main page's and the wall's maps, from that URL
    from dashboard.components import mapview

    for prefix in ("main", "wall"):
        ids = {getattr(ch, "id", None): ch for ch in mapview.build_map(prefix).children}
        assert ids[f"{prefix}-neighbours"].url == "/neighbours.geojson"
    # read-only: the app's role cannot write the neighbour picture
    from nsp import access

    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            access.connection(Scope(user="test", role="system")) as app_conn:
        app_conn.execute("DELETE FROM neighbour_feature")
    auth_settings.cache_clear()
