"""OGC API - Features at /ogc (dashboard/ogc.py) and personal access tokens (dashboard/tokens.py).

The dashboard's app is served by a real HTTP server in a thread; the picture is in a real
PostGIS (Latvia's sections, events in each). The requirement ids of OGC 17-069r4 (Part 1)
and 19-079 (Part 3, queryables) are in the test names. GDAL's OAPIF driver (ogrinfo,
ogr2ogr) is the independent client: it lists the layers, counts the features, and a sector
commander's token gets only their sections' events.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from dashboard import tokens
from nsp import db
from nsp.auth_settings import auth_settings
from tests.auth_helpers import login, make_user

PASSWORD = "correct horse battery"
OWN = "LV-BY-01"
GEOJSON = "application/geo+json"


@pytest.fixture
def site(db_url, conn, monkeypatch):
    for k, v in {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "o" * 64}.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    # three events per section: an hour, a day and two days ago; categories and impacts vary
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                              distance_to_border_m, impact, persons)
           SELECT 'feed', s.code || '-' || k, (ARRAY['unauthorised_border_crossing', 'cross_border_crime',
                  'other'])[k], date_trunc('second', now()) - (k - 1) * interval '1 day' - interval '1 hour',
                  ST_PointOnSurface(s.area), s.code, 100, (ARRAY['low', 'high', 'very_high'])[k], k
             FROM border_section s CROSS JOIN generate_series(1, 3) k""")
    conn.execute(
        """INSERT INTO patrol (source, source_ref, unit, started_at, ended_at, track)
           SELECT 'feed', code, 'unit-' || code, now() - interval '3 hours', now() - interval '2 hours',
                  ST_Multi(ST_MakeLine(p, ST_Translate(p, 0.001, 0)))
             FROM (SELECT code, ST_PointOnSurface(area) AS p FROM border_section WHERE kind <> 'air') s""")
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code)
           SELECT 'feed', 'unit-' || code, 'own', now() - k * interval '10 minutes',
                  ST_Translate(ST_PointOnSurface(area), k * 0.001, 0), code
             FROM border_section CROSS JOIN generate_series(1, 2) k""")
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code, speed_kn)
           VALUES ('ais', 'MMSI:275123000', 'vessel', now() - interval '20 minutes',
                   ST_SetSRID(ST_MakePoint(23.5, 57.1), 4326), NULL, 5),
                  ('ais', 'MMSI:275123000', 'vessel', now() - interval '2 minutes',
                   ST_SetSRID(ST_MakePoint(23.52, 57.11), 4326), NULL, 6)""")
    make_user(db_url, "cmd", "sector_commander", PASSWORD, [OWN])
    make_user(db_url, "watch", "watch_officer", PASSWORD)
    with db.connect(db_url) as c, c.transaction():
        _, cmd_token = tokens.create_token(c, "cmd", "qgis", actor="test")
        _, watch_token = tokens.create_token(c, "watch", "gdal", actor="test")
    from dashboard.app import app  # the process's one app (see test_access_dashboard.py)

    app.server.config["SESSION_COOKIE_SECURE"] = False
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield {"base": f"http://127.0.0.1:{srv.server_port}/ogc", "root": f"http://127.0.0.1:{srv.server_port}",
           "cmd": cmd_token, "watch": watch_token, "url": db_url}
    srv.shutdown()
    auth_settings.cache_clear()


def get(site, path, token=None, **params):
    token = token or site["watch"]
    return requests.get(site["base"] + path, params=params, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})


def rels(doc) -> dict[str, dict]:
    return {link["rel"]: link for link in doc["links"]}


# ------------------------------------------------------------------ Part 1 Core


def test_req_core_root_op_conformance_op_and_oas30_definition(site):
    """/req/core/root-op, /req/core/root-success, /req/core/conformance-op, /req/oas30/oas-definition-1."""
    r = get(site, "")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    links = rels(r.json())
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert requests.get(links["conformance"]["href"], headers={"Authorization": f"Bearer {site['watch']}"},
                        timeout=10).json()["conformsTo"][:2] == [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"]
    oas = get(site, "/api").json()
    assert oas["openapi"].startswith("3.0")
    assert "/collections/events/items" in oas["paths"]
    names = {p["name"] for p in oas["paths"]["/collections/events/items"]["get"]["parameters"]}
    assert {"limit", "bbox", "datetime", "category", "impact", "section_code"} <= names


def test_req_core_fc_md_success_lists_the_six_collections_with_items_links(site):
    """/req/core/fc-md-success, /req/core/sfc-md-success."""
    doc = get(site, "/collections").json()
    ids = [c["id"] for c in doc["collections"]]
    assert ids == ["border_sections", "border_lines", "events", "patrols", "own_assets", "vessels", "aircraft", "uavs"]
    for c in doc["collections"]:
        assert rels(c)["items"]["href"].endswith(f"/ogc/collections/{c['id']}/items")
        assert c["extent"]["spatial"]["bbox"][0][0] < c["extent"]["spatial"]["bbox"][0][2]
    one = get(site, "/collections/events").json()
    assert one["id"] == "events" and one["itemType"] == "feature"


def test_req_core_fc_limit_and_next_links_page_through_every_event_once(site, conn):
    """/req/core/fc-limit-response-1, /req/core/fc-next-1, /req/core/fc-numberMatched,
    /req/core/fc-numberReturned, /req/core/fc-timeStamp, /req/core/fc-rel-type; /req/geojson/content."""
    expected = {str(r["id"]) for r in conn.execute("SELECT id FROM event WHERE parent_id IS NULL").fetchall()}
    r = get(site, "/collections/events/items", limit=7)
    assert r.headers["Content-Type"].startswith(GEOJSON)
    seen, pages = [], 0
    while True:
        doc = r.json()
        pages += 1
        assert doc["type"] == "FeatureCollection" and doc["timeStamp"].endswith("Z")
        # counted on the first page (/req/core/fc-numberMatched: optional), not again on each
        assert doc.get("numberMatched") == (len(expected) if pages == 1 else None)
        assert doc["numberReturned"] == len(doc["features"]) <= 7
        assert {"self", "alternate", "collection"} <= set(rels(doc))
        seen += [f["id"] for f in doc["features"]]
        if "next" not in rels(doc):
            break
        r = requests.get(rels(doc)["next"]["href"], headers={"Authorization": f"Bearer {site['watch']}"},
                         timeout=10)
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert pages == -(-len(expected) // 7)
    # newest first
    first = get(site, "/collections/events/items", limit=3).json()["features"]
    times = [f["properties"]["occurred_at"] for f in first]
    assert times == sorted(times, reverse=True)
    # CRS84 named explicitly, as a client that read the collection's crs list may
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert get(site, "/collections/events/items", limit=3, crs=crs84, **{"bbox-crs": crs84},
               bbox="20,50,30,60").json()["features"] == first
    # above the maximum: the maximum
    assert get(site, "/collections/events/items", limit=10**9).status_code == 200
    # f=json: the same features, as application/json
    js = get(site, "/collections/events/items", limit=3, f="json")
    assert js.headers["Content-Type"].startswith("application/json")
    assert [f["id"] for f in js.json()["features"]] == [f["id"] for f in first]


def test_req_core_fc_bbox_response_only_features_in_the_box(site, conn):
    """/req/core/fc-bbox-definition, /req/core/fc-bbox-response."""
    box = conn.execute("SELECT ST_XMin(area) x0, ST_YMin(area) y0, ST_XMax(area) x1, ST_YMax(area) y1 "
                       "FROM border_section WHERE code = %s", (OWN,)).fetchone()
    bbox = [box["x0"], box["y0"], box["x1"], box["y1"]]
    expected = {str(r["id"]) for r in conn.execute(
        "SELECT id FROM event WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", bbox).fetchall()}
    doc = get(site, "/collections/events/items", bbox=",".join(map(str, bbox)), limit=1000).json()
    got = {f["id"] for f in doc["features"]}
    total = conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    assert got == expected and 0 < len(got) < total
    sections = get(site, "/collections/border_sections/items", bbox=",".join(map(str, bbox))).json()
    assert OWN in {f["id"] for f in sections["features"]} and sections["numberMatched"] < 20


def test_req_core_fc_time_response_instants_intervals_and_open_ends(site, conn):
    """/req/core/fc-time-definition, /req/core/fc-time-response."""
    newest = conn.execute("SELECT max(occurred_at) t FROM event").fetchone()["t"]
    iso = newest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    day_ago = (datetime.now(UTC) - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def count(sql, *args):
        return conn.execute(f"SELECT count(*) n FROM event WHERE {sql}", args).fetchone()["n"]

    def matched(dt):
        return get(site, "/collections/events/items", datetime=dt, limit=1).json()["numberMatched"]

    n_instant = count("occurred_at = %s", newest)
    assert n_instant > 0 and matched(iso) == n_instant
    assert matched(f"{day_ago}/..") == count("occurred_at >= %s", day_ago) > 0
    assert matched(f"../{day_ago}") == count("occurred_at <= %s", day_ago) > 0
    assert matched(f"{day_ago}/") == matched(f"{day_ago}/..")
    week_ago = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert matched(f"{week_ago}/{day_ago}") == count("occurred_at BETWEEN %s AND %s", week_ago, day_ago)
    # a date: its whole UTC day
    today = newest.astimezone(UTC).date().isoformat()
    assert matched(today) == count("(occurred_at AT TIME ZONE 'UTC')::date = %s", today)
    # the sections have no time: datetime does not filter them
    all_sections = get(site, "/collections/border_sections/items").json()["numberMatched"]
    assert get(site, "/collections/border_sections/items", datetime=iso).json()["numberMatched"] == all_sections


def test_queryables_and_their_query_parameters_filter_events(site, conn):
    """Part 3: /req/queryables/get-queryables-op, /req/queryables-query-parameters/parameters."""
    q = get(site, "/collections/events/queryables")
    assert q.status_code == 200 and q.headers["Content-Type"].startswith("application/schema+json")
    props = q.json()["properties"]
    assert set(props) == {"category", "impact", "section_code"}
    assert "cross_border_crime" in props["category"]["enum"]
    doc = get(site, "/collections/events/items", category="cross_border_crime", impact="high",
              limit=1000).json()
    assert doc["numberMatched"] == conn.execute(
        "SELECT count(*) n FROM event WHERE category = 'cross_border_crime' AND impact = 'high'").fetchone()["n"] > 0
    assert {(f["properties"]["category"], f["properties"]["impact"]) for f in doc["features"]} == {
        ("cross_border_crime", "high")}
    two = get(site, "/collections/events/items", section_code=f"{OWN},LV-RU-01").json()
    assert {f["properties"]["section_code"] for f in two["features"]} == {OWN, "LV-RU-01"}


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "ten"}, {"cursor": "-1"}, {"cursor": "WyJ4IiwgInkiXQ"}, {"offset": "10"}, {"bbox": "1,2,3"}, {"bbox": "27,56,26,57"},
    {"bbox": "a,b,c,d"}, {"bbox": "20,95,21,96"}, {"datetime": "yesterday"}, {"datetime": "../.."},
    {"datetime": "2024-01-02T00:00:00Z/2024-01-01T00:00:00Z"}, {"datetime": "2024-01-01T00:00:00"},
    {"category": "smuggling"}, {"colour": "red"}, {"f": "xml"},
    {"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3059"}, {"crs": "http://www.opengis.net/def/crs/EPSG/0/3059"},
])
def test_req_core_query_param_invalid_and_unknown_get_400(site, params):
    """/req/core/query-param-invalid, /req/core/query-param-unknown."""
    r = get(site, "/collections/events/items", **params)
    assert r.status_code == 400, (params, r.text)
    assert r.json()["code"] == "InvalidParameterValue" and r.json()["description"]


def test_404_for_an_unknown_collection_or_feature_and_the_feature_itself(site, conn):
    """/req/core/f-op, /req/core/f-success, /req/core/f-links; 404 otherwise."""
    assert get(site, "/collections/ships").status_code == 404
    assert get(site, "/collections/ships/items").status_code == 404
    assert get(site, "/collections/events/items/00000000-0000-0000-0000-000000000000").status_code == 404
    assert get(site, "/collections/events/items/not-a-uuid").status_code == 404
    eid = str(conn.execute("SELECT id FROM event WHERE section_code = %s LIMIT 1", (OWN,)).fetchone()["id"])
    r = get(site, f"/collections/events/items/{eid}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(GEOJSON)
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == eid and f["geometry"]["type"] == "Point"
    assert {"self", "alternate", "collection"} <= set(rels(f))
    pid = str(conn.execute("SELECT id FROM patrol LIMIT 1").fetchone()["id"])
    assert get(site, f"/collections/patrols/items/{pid}").json()["geometry"]["type"] == "MultiLineString"
    assert get(site, f"/collections/patrols/items/{pid.upper()}").json()["id"] == pid
    assert get(site, "/collections/patrols/items/LV-BY-01").status_code == 404
    section = get(site, f"/collections/border_sections/items/{OWN}").json()
    assert section["geometry"]["type"] == "MultiPolygon" and section["properties"]["impact_level"]


def test_latest_position_per_own_unit_and_per_vessel(site, conn):
    doc = get(site, "/collections/own_assets/items", limit=1000).json()
    expected = {r["object_id"]: r["t"] for r in conn.execute(
        "SELECT object_id, max(observed_at) t FROM asset_position WHERE kind = 'own' GROUP BY 1").fetchall()}
    assert len(doc["features"]) == len(expected)
    for f in doc["features"]:
        got = datetime.fromisoformat(f["properties"]["observed_at"].replace("Z", "+00:00"))
        assert got == expected[f["id"]]
    vessels = get(site, "/collections/vessels/items").json()["features"]
    assert [(v["id"], v["properties"]["speed_kn"]) for v in vessels] == [("MMSI:275123000", 6)]
    # within a datetime interval: the latest position inside it
    until = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = get(site, "/collections/vessels/items", datetime=f"../{until}").json()["features"]
    assert [v["properties"]["speed_kn"] for v in old] == [5]
    # a unit last seen three days ago is not where it is now: left out, as on the map
    # (NSP_WEB_ASSET_MAX_AGE_HOURS, 24), unless the interval reaches back to it
    conn.execute("""INSERT INTO asset_position (source, object_id, kind, observed_at, geom)
                    VALUES ('feed', 'unit-gone', 'own', now() - interval '3 days',
                            ST_SetSRID(ST_MakePoint(27, 56), 4326))""")
    ids = {f["id"] for f in get(site, "/collections/own_assets/items", limit=1000).json()["features"]}
    assert "unit-gone" not in ids and ids == set(expected)
    since = (datetime.now(UTC) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = {f["id"] for f in get(site, "/collections/own_assets/items", limit=1000,
                                datetime=f"{since}/..").json()["features"]}
    assert "unit-gone" in ids
    assert get(site, "/collections/own_assets/items/unit-gone").json()["id"] == "unit-gone"


def test_aircraft_and_uavs_with_their_altitude_squawk_and_operator(site, conn):
    """The air picture's latest positions: an aircraft with its altitude in feet, squawk and state of registry, a
    UAV with its height in metres and its operator; the ground collections carry none of these."""
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, speed_kn, attrs)
           VALUES ('adsb', 'ICAO:4B1A2C', 'aircraft', now() - interval '5 minutes',
                   ST_SetSRID(ST_MakePoint(24.0, 56.9), 4326), 410, '{"altitude_ft": 37000, "squawk": "7700"}'),
                  ('adsb', 'ICAO:4B1A2C', 'aircraft', now() - interval '1 minute',
                   ST_SetSRID(ST_MakePoint(24.1, 56.95), 4326), 405,
                   '{"altitude_ft": 36000, "squawk": "7700", "registry": "CH"}'),
                  ('rid', 'RID:1581F5FHB229F00202DR', 'uav', now() - interval '2 minutes',
                   ST_SetSRID(ST_MakePoint(27.2, 55.8), 4326), 20,
                   '{"altitude_m": 120, "operator_lon": 27.21, "operator_lat": 55.70}')""")
    [plane] = get(site, "/collections/aircraft/items").json()["features"]
    assert plane["id"] == "ICAO:4B1A2C" and plane["properties"]["altitude_ft"] == 36000  # the latest
    assert plane["properties"]["squawk"] == "7700" and "operator_lon" not in plane["properties"]
    assert plane["properties"]["registry"] == "CH"  # the state of registry the parser read off its address
    [drone] = get(site, "/collections/uavs/items").json()["features"]
    assert drone["id"] == "RID:1581F5FHB229F00202DR" and drone["properties"]["altitude_m"] == 120
    assert (drone["properties"]["operator_lon"], drone["properties"]["operator_lat"]) == (27.21, 55.70)
    assert "squawk" not in drone["properties"] and "registry" not in drone["properties"]
    vessel = get(site, "/collections/vessels/items").json()["features"][0]
    assert not set(vessel["properties"]) & {"altitude_ft", "altitude_m", "squawk", "registry", "operator_lon"}


# ------------------------------------------------------------------ scope and authentication


def _sections_seen(site, token, basic_user=None) -> dict[str, set]:
    headers = ({"Authorization": "Basic " + base64.b64encode(f"{basic_user}:{token}".encode()).decode()}
               if basic_user is not None else {"Authorization": f"Bearer {token}"})
    out = {}
    for cid, key in (("events", "section_code"), ("border_sections", "code"), ("own_assets", "section_code")):
        r = requests.get(f"{site['base']}/collections/{cid}/items", params={"limit": 1000}, headers=headers,
                         timeout=30)
        assert r.status_code == 200, r.text
        out[cid] = {f["properties"][key] for f in r.json()["features"]}
    return out


def test_a_commanders_token_sees_only_their_sections_bearer_or_basic(site, conn):
    all_codes = {r["code"] for r in conn.execute("SELECT code FROM border_section").fetchall()}
    assert _sections_seen(site, site["watch"]) == {"events": all_codes, "border_sections": all_codes,
                                                   "own_assets": all_codes}
    own = {"events": {OWN}, "border_sections": {OWN}, "own_assets": {OWN}}
    assert _sections_seen(site, site["cmd"]) == own
    assert _sections_seen(site, site["cmd"], basic_user="cmd") == own
    assert _sections_seen(site, site["cmd"], basic_user="anything") == own
    # another section's event does not exist for the commander
    other = str(conn.execute("SELECT id FROM event WHERE section_code <> %s LIMIT 1", (OWN,)).fetchone()["id"])
    assert get(site, f"/collections/events/items/{other}", token=site["cmd"]).status_code == 404
    assert get(site, f"/collections/events/items/{other}").status_code == 200


def test_401_without_or_with_a_bad_token_audited_and_tokens_only_on_ogc(site, conn):
    r = requests.get(f"{site['base']}/collections", timeout=10)
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    assert r.json()["code"] == "Unauthorized"
    bad = get(site, "/collections", token="nsp_wrong")
    assert bad.status_code == 401
    basic = requests.get(f"{site['base']}/collections", auth=("cmd", "nsp_wrong"), timeout=10)
    assert basic.status_code == 401
    failures = conn.execute("SELECT actor, details FROM audit_log WHERE action = 'token_failed' "
                            "ORDER BY id").fetchall()
    assert [(f["actor"], f["details"]["reason"]) for f in failures] == [("token", "unknown token"),
                                                                        ("cmd", "unknown token")]
    # a browser without a session is sent to the login page
    page = requests.get(f"{site['base']}/collections", headers={"Accept": "text/html"}, allow_redirects=False,
                        timeout=10)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    # a token is not a session for the dashboard's other routes
    other = requests.get(f"{site['root']}/export/weekly", headers={"Authorization": f"Bearer {site['watch']}",
                         "Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert other.status_code == 302 and "/login" in other.headers["Location"]


def test_a_browser_session_reads_ogc_under_its_scope(site):
    s = requests.Session()
    login(s, site["root"], "cmd", PASSWORD)
    doc = s.get(f"{site['base']}/collections/events/items", timeout=10).json()
    assert {f["properties"]["section_code"] for f in doc["features"]} == {OWN}


def test_revoked_expired_and_disabled_users_tokens_stop_working(site, conn):
    assert get(site, "/collections", token=site["cmd"]).status_code == 200
    with db.connect(site["url"]) as c, c.transaction():
        tid, short = tokens.create_token(c, "cmd", "short", datetime.now(UTC) - timedelta(seconds=1), actor="test")
        token_id = c.execute("SELECT id FROM personal_token WHERE label = 'qgis'").fetchone()["id"]
        tokens.revoke_token(c, token_id, actor="admin-anna")
    assert get(site, "/collections", token=site["cmd"]).status_code == 401
    assert get(site, "/collections", token=short).status_code == 401
    assert get(site, "/collections").status_code == 200
    conn.execute("UPDATE app_user SET disabled = true WHERE name = 'watch'")
    assert get(site, "/collections").status_code == 401
    reasons = [r["details"]["reason"] for r in conn.execute(
        "SELECT details FROM audit_log WHERE action = 'token_failed' ORDER BY id").fetchall()]
    assert reasons == ["revoked token", "expired token", "disabled user"]
    assert conn.execute("SELECT count(*) n FROM audit_log WHERE action = 'token_revoke' "
                        "AND actor = 'admin-anna' AND object = %s", (str(token_id),)).fetchone()["n"] == 1
    with pytest.raises(tokens.TokenError, match="no active personal token"):
        with db.connect(site["url"]) as c, c.transaction():
            tokens.revoke_token(c, token_id)


def test_nsp_users_token_commands_print_once_store_hashed_list_and_revoke(db_url, conn):
    from nsp.cli import cli as main

    make_user(db_url, "anna", "analyst", PASSWORD)
    runner = CliRunner()
    made = runner.invoke(main, ["users", "token", "anna", "--label", "qgis", "--expires-days", "30",
                                "--actor", "admin-bob"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("nsp_") and len(token) > 40
    stored = conn.execute("SELECT token_sha256, expires_at, created_by FROM personal_token").fetchone()
    assert stored["token_sha256"] != token and stored["token_sha256"] == tokens.auth.token_sha256(token)
    assert stored["created_by"] == "admin-bob" and stored["expires_at"] > datetime.now(UTC) + timedelta(days=29)
    listed = runner.invoke(main, ["users", "tokens", "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["user_name"], r["label"], r["state"]) for r in rows] == [("anna", "qgis", "active")]
    assert token not in listed.stdout
    revoked = runner.invoke(main, ["users", "token-revoke", str(rows[0]["id"])])
    assert revoked.exit_code == 0
    assert json.loads(runner.invoke(main, ["users", "tokens", "anna", "--json"]).stdout)[0]["state"] == "revoked"
    again = runner.invoke(main, ["users", "token-revoke", str(rows[0]["id"])])
    assert again.exit_code != 0 and "no active personal token" in again.output
    nobody = runner.invoke(main, ["users", "token", "ghost"])
    assert nobody.exit_code != 0 and "no user named 'ghost'" in nobody.output
    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE action LIKE 'token%' ORDER BY id").fetchall()]
    assert actions == ["token_add", "token_revoke"]


# ------------------------------------------------------------------ GDAL's OAPIF driver


needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")


def _gdal(args, **env) -> str:
    full = {**os.environ, "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", **env}
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=full)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_gdal
def test_gdal_oapif_lists_the_layers_and_counts_the_features(site, conn):
    env = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"watch:{site['watch']}"}
    layers = _gdal(["ogrinfo", "-ro", "-q", f"OAPIF:{site['base']}"], **env)
    for cid in ("border_sections", "border_lines", "events", "patrols", "own_assets", "vessels", "aircraft", "uavs"):
        assert f": {cid}" in layers
    summary = _gdal(["ogrinfo", "-ro", "-so", f"OAPIF:{site['base']}", "events"], **env)
    n_events = conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    assert f"Feature Count: {n_events}" in summary


@needs_gdal
def test_gdal_oapif_with_a_commanders_token_gets_only_their_sections(site, conn, tmp_path):
    out = tmp_path / "events.geojson"
    # the bearer token through GDAL_HTTP_HEADERS; a small page size, so GDAL follows next links
    _gdal(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{site['base']}", "events", "-oo", "PAGE_SIZE=2"],
          GDAL_HTTP_HEADERS=f"Authorization: Bearer {site['cmd']}")
    got = json.loads(out.read_text())["features"]
    expected = {str(r["id"]) for r in conn.execute(
        "SELECT id FROM event WHERE section_code = %s", (OWN,)).fetchall()}
    assert {f["properties"]["id"] if "id" in f["properties"] else f["id"] for f in got} == expected
    assert {f["properties"]["section_code"] for f in got} == {OWN}
    # the same through Basic authentication with the token as password
    out2 = tmp_path / "sections.geojson"
    _gdal(["ogr2ogr", "-f", "GeoJSON", str(out2), f"OAPIF:{site['base']}", "border_sections"],
          GDAL_HTTP_AUTH="BASIC", GDAL_HTTP_USERPWD=f"cmd:{site['cmd']}")
    assert [f["properties"]["code"] for f in json.loads(out2.read_text())["features"]] == [OWN]


def test_a_kiosk_wall_session_may_not_read_ogc(site):
    from tests.auth_helpers import kiosk_url

    s = requests.Session()
    s.get(kiosk_url(site["url"], site["root"]), timeout=10)
    assert "nsp_session" in s.cookies
    r = s.get(f"{site['base']}/collections/events/items", timeout=10)
    assert r.status_code == 403


def test_real_tak_beacons_are_own_assets_with_their_call_signs(site, conn, monkeypatch):
    """Real ATAK, iTAK and WinTAK SA beacons (tests/data/real/cot), ingested, read back
    through /ogc: one feature per device, at its beacon's place and time. They lie outside
    Latvia (outside every section): a watch officer sees them, a commander does not."""
    from pathlib import Path

    from ingest.loading.pipeline import ingest_file
    from nsp.settings import geo_settings

    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")  # let the validator take them
    geo_settings.cache_clear()

    real = Path(__file__).resolve().parents[1] / "data" / "real" / "cot"
    for name in ("atak_sa.cot.xml", "itak_sa.cot.xml", "wintak_sa_h-e.cot.xml"):
        ingest_file(real / name, source="tak")
    rows = conn.execute("""SELECT object_id, max(observed_at) t FROM asset_position
                            WHERE kind = 'own' AND source = 'tak' GROUP BY 1""").fetchall()
    assert len(rows) >= 2
    since = min(r["t"] for r in rows).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = max(r["t"] for r in rows).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = get(site, "/collections/own_assets/items", datetime=f"{since}/{until}").json()
    got = {f["id"]: f for f in doc["features"]}
    assert set(got) == {r["object_id"] for r in rows} and doc["numberMatched"] == len(rows)
    for r in conn.execute("""SELECT p.object_id, ST_X(p.geom) x, ST_Y(p.geom) y, o.callsign
                               FROM asset_position p LEFT JOIN tracked_object o USING (object_id)
                              WHERE p.source = 'tak'""").fetchall():
        f = got[r["object_id"]]
        assert f["geometry"]["coordinates"] == pytest.approx([r["x"], r["y"]], abs=1e-6)
        assert f["properties"]["callsign"] == r["callsign"] and r["callsign"]
    # not seen within the last day: not on the map, nor in the default page
    assert not {f["id"] for f in get(site, "/collections/own_assets/items").json()["features"]} & set(got)
    mine = get(site, "/collections/own_assets/items", token=site["cmd"], datetime=f"{since}/{until}").json()
    assert mine["numberMatched"] == 0 and mine["features"] == []
    geo_settings.cache_clear()


# ------------------------------------------------------------------ vector tiles


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    rad = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n)


@needs_gdal
def test_vector_tiles_hold_sections_and_events_under_the_tokens_scope(site, conn, tmp_path):
    p = conn.execute("SELECT ST_X(geom) x, ST_Y(geom) y FROM event WHERE section_code = %s LIMIT 1",
                     (OWN,)).fetchone()
    z = 6
    x, y = _tile_of(p["x"], p["y"], z)
    root = site["root"]

    def layers(token, **params) -> dict[str, list]:
        r = requests.get(f"{root}/tiles/{z}/{x}/{y}.mvt", headers={"Authorization": f"Bearer {token}"},
                         params=params, timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        path = tmp_path / f"{token[-6:]}.mvt"
        path.write_bytes(r.content)
        # GDAL's MVT driver reads the tile: an independent decoder
        out = _gdal(["ogrinfo", "-ro", "-al", "-geom=NO", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}",
                     str(path)])
        found: dict[str, list] = {}
        layer = None
        for line in out.splitlines():
            if line.startswith("Layer name: "):
                layer = line.split(": ", 1)[1]
                found[layer] = []
            elif layer == "events" and line.strip().startswith("section_code (String) = "):
                found[layer].append(line.split(" = ", 1)[1])
            elif layer == "border_sections" and line.strip().startswith("code (String) = "):
                found[layer].append(line.split(" = ", 1)[1])
        return found

    # of the three events of each section (an hour, a day and two days ago), the last day's
    assert layers(site["cmd"]) == {"border_sections": [OWN], "events": [OWN]}
    everyone = layers(site["watch"])
    assert OWN in everyone["events"] and len(set(everyone["events"])) > 1
    week = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert layers(site["cmd"], datetime=f"{week}/..")["events"] == [OWN] * 3
    assert requests.get(f"{root}/tiles/{z}/{x}/{y}.mvt", timeout=10).status_code == 401
    bad = requests.get(f"{root}/tiles/3/8/1.mvt", headers={"Authorization": f"Bearer {site['watch']}"},
                       timeout=10)
    assert bad.status_code == 400
