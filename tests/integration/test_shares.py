"""Partner shares (issue 24 item 3; geo/shares.py): `nsp shares add|list|revoke`, pulls from
/ogc with the share's token (the share is the scope: its sections, layers, delay, lowest
impact, detail), read by GDAL's OAPIF driver as an independent client; every pull audited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner

from nsp import db
from nsp.auth_settings import auth_settings
from tests.support.live import dashboard_app, serve

SHARED = ["LV-LT-01", "LV-LT-02"]
OTHER = "LV-BY-01"
SECRET_TEXT = "Janis Berzins, phone +371 2000 0000"


def _seed(conn):
    """Per section (two shared, one not): events of each impact 5 minutes and 2 hours ago,
    with a description naming a person; an own unit's positions 5 minutes and 1 hour ago."""
    conn.execute(
        """INSERT INTO event (source, source_ref, category, subtype, occurred_at, geom, section_code,
                              distance_to_border_m, impact, persons, description)
           SELECT 'feed', s.code || '-' || i || '-' || m, 'unauthorised_border_crossing', 'on_foot',
                  date_trunc('second', now()) - m * interval '1 minute',
                  ST_Translate(ST_PointOnSurface(s.area), 0.001234, 0.004321), s.code, 100,
                  (ARRAY['low', 'medium', 'high', 'very_high'])[i], i, %s
             FROM border_section s CROSS JOIN generate_series(1, 4) i CROSS JOIN (VALUES (5), (120)) t(m)
            WHERE s.code = ANY(%s)""", (SECRET_TEXT, [*SHARED, OTHER]))
    conn.execute(
        """INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code)
           SELECT 'feed', 'ANDROID-' || code, 'own', now() - m * interval '1 minute',
                  ST_PointOnSurface(area), code
             FROM border_section CROSS JOIN (VALUES (5), (60)) t(m) WHERE code = ANY(%s)""",
        ([*SHARED, OTHER],))


def _add(*args) -> dict[str, str]:
    from nsp.cli import cli

    out = CliRunner().invoke(cli, ["shares", "add", *args, "--actor", "liaison"])
    assert out.exit_code == 0, out.output
    return dict(line.split(None, 1) for line in out.stdout.splitlines() if line.startswith(("token", "secret")))


@pytest.fixture
def site(db_url, conn, monkeypatch):
    for k, v in {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "s" * 64}.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    _seed(conn)
    with serve(dashboard_app().server) as live:
        yield {"base": live.url + "/ogc", "url": db_url}
    auth_settings.cache_clear()


def _items(site, token, cid, **params):
    r = requests.get(f"{site['base']}/collections/{cid}/items", params={"limit": 1000, **params},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return r


def test_nsp_shares_add_list_revoke_validated_and_audited(db_url, conn):
    from nsp.cli import cli

    keys = _add("lt-ncc", "--sections", ",".join(SHARED), "--layers", "events,own_assets", "--min-impact", "high",
                "--delay", "15m", "--detail", "no-personal-data", "--partner", "LT NCC")
    assert keys["token"].startswith("nsps_") and len(keys["secret"]) > 30
    row = conn.execute("SELECT * FROM partner_share").fetchone()
    assert row["sections"] == SHARED and row["layers"] == ["events", "own_assets"]
    assert row["min_impact"] == "high" and row["delay"].total_seconds() == 900
    assert row["detail"] == "no-personal-data" and keys["token"] not in json.dumps(row, default=str)
    listed = CliRunner().invoke(cli, ["shares", "list"])
    assert "lt-ncc" in listed.output and "active" in listed.output and "nsps_" not in listed.output
    for bad, why in ((["x", "--sections", "LV-XX-99"], "no section LV-XX-99"),
                     (["y", "--sections", SHARED[0], "--layers", "patrols"], "layers patrols"),
                     (["lt-ncc", "--sections", SHARED[0]], "exists"),
                     (["Bad Name", "--sections", SHARED[0]], "a name of")):
        out = CliRunner().invoke(cli, ["shares", "add", *bad])
        assert out.exit_code != 0 and why in out.output, out.output
    out = CliRunner().invoke(cli, ["shares", "revoke", "lt-ncc", "--actor", "liaison"])
    assert out.exit_code == 0, out.output
    assert conn.execute("SELECT revoked_at FROM partner_share").fetchone()["revoked_at"] is not None
    audit = [(r["actor"], r["action"], r["object"]) for r in conn.execute(
        "SELECT actor, action, object FROM audit_log WHERE action LIKE 'share%' ORDER BY id").fetchall()]
    assert audit == [("liaison", "share_add", "lt-ncc"), ("liaison", "share_revoke", "lt-ncc")]


def test_a_shares_token_reads_its_sections_layers_delay_and_impact_only_every_pull_audited(site, conn):
    keys = _add("lt-full", "--sections", ",".join(SHARED), "--layers", "events,own_assets",
                "--min-impact", "medium", "--delay", "15m")
    token = keys["token"]
    r = _items(site, token, "events")
    assert r.status_code == 200, r.text
    got = r.json()["features"]
    expected = conn.execute(
        "SELECT id::text FROM event WHERE section_code = ANY(%s) AND impact <> 'low' "
        "AND occurred_at <= now() - interval '15 minutes'", (SHARED,)).fetchall()
    assert len(expected) == 6  # 2 sections x 3 impacts, the 2-hour-old ones
    assert {f["id"] for f in got} == {e["id"] for e in expected}
    assert got[0]["properties"]["description"] == SECRET_TEXT  # full detail
    # asking for a low impact gets nothing; another section's event does not exist
    assert _items(site, token, "events", impact="low").json()["features"] == []
    other = conn.execute("SELECT id::text FROM event WHERE section_code = %s AND impact = 'high' "
                         "AND occurred_at < now() - interval '1 hour'", (OTHER,)).fetchone()["id"]
    assert requests.get(f"{site['base']}/collections/events/items/{other}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 404
    # own units: the latest position not newer than the delay, of the shared sections only
    units = _items(site, token, "own_assets").json()["features"]
    assert sorted(f["properties"]["section_code"] for f in units) == SHARED
    cutoff = datetime.now(UTC) - timedelta(minutes=15)
    assert all(datetime.fromisoformat(f["properties"]["observed_at"]) < cutoff for f in units)
    # layers not shared are not there
    ids = {c["id"] for c in requests.get(f"{site['base']}/collections", timeout=10,
                                         headers={"Authorization": f"Bearer {token}"}).json()["collections"]}
    assert ids == {"events", "own_assets"}
    assert _items(site, token, "patrols").status_code == 404
    assert _items(site, token, "vessels").status_code == 404
    # the token is no key to the vector tiles (they carry no delay)
    assert requests.get(site["base"].replace("/ogc", "/tiles/0/0/0.mvt"), timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401
    pulls = conn.execute("SELECT actor, object, details FROM audit_log WHERE action = 'share_pull' "
                         "ORDER BY id").fetchall()
    assert len(pulls) == 7  # the tile is not a pull (refused, below)
    assert {(p["actor"], p["object"]) for p in pulls} == {("share:lt-full", "lt-full")}
    assert pulls[0]["details"]["path"] == "/ogc/collections/events/items"
    # revoked: refused and audited as such
    with db.connect(site["url"]) as c, c.transaction():
        c.execute("UPDATE partner_share SET revoked_at = now()")
    assert _items(site, token, "events").status_code == 401
    failed = conn.execute("SELECT details FROM audit_log WHERE action = 'token_failed'").fetchall()
    assert [f["details"]["reason"] for f in failed] == ["a share's token reads /ogc only", "revoked share"]


def test_no_personal_data_keeps_only_the_european_pictures_fields_places_rounded(site, conn):
    token = _add("eu", "--sections", SHARED[0], "--layers", "events,own_assets", "--detail", "no-personal-data",
                 "--place-decimals", "2")["token"]
    events = _items(site, token, "events").json()["features"]
    assert len(events) == 8  # every impact, 5 minutes and 2 hours ago: no delay
    for f in events:
        assert set(f["properties"]) == {"category", "subtype", "occurred_at", "persons", "impact", "section_code"}
        lon, lat = f["geometry"]["coordinates"]
        assert round(lon, 2) == lon and round(lat, 2) == lat
    assert SECRET_TEXT not in json.dumps(events)
    units = _items(site, token, "own_assets").json()["features"]
    assert len(units) == 1 and set(units[0]["properties"]) == {"object_type", "observed_at", "section_code"}
    assert "ANDROID" not in json.dumps(units)


needs_gdal = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL's ogr2ogr is not installed")


def _gdal(args, **env) -> str:
    full = {**os.environ, "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", **env}
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=full)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_gdal
def test_gdal_oapif_with_a_shares_token_gets_its_sections_delayed_and_no_free_text(site, conn, tmp_path):
    token = _add("lt-gdal", "--sections", ",".join(SHARED), "--layers", "events", "--delay", "15m",
                 "--detail", "no-personal-data")["token"]
    layers = _gdal(["ogrinfo", "-ro", "-q", f"OAPIF:{site['base']}"],
                   GDAL_HTTP_AUTH="BASIC", GDAL_HTTP_USERPWD=f"lt:{token}")
    assert ": events" in layers and "own_assets" not in layers and "patrols" not in layers
    out = tmp_path / "events.geojson"
    _gdal(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{site['base']}", "events", "-oo", "PAGE_SIZE=3"],
          GDAL_HTTP_HEADERS=f"Authorization: Bearer {token}")
    got = json.loads(out.read_text())["features"]
    expected = conn.execute("SELECT count(*) n FROM event WHERE section_code = ANY(%s) "
                            "AND occurred_at <= now() - interval '15 minutes'", (SHARED,)).fetchone()["n"]
    assert len(got) == expected == 8
    assert {f["properties"]["section_code"] for f in got} == set(SHARED)
    assert all("description" not in f["properties"] and "source" not in f["properties"] for f in got)
    assert SECRET_TEXT not in out.read_text()


def test_nsp_shares_push_every_interval_signed_each_time_audited_until_sigterm(db_url, conn, tmp_path):
    """`nsp shares push --every 1s` in its own process, to a real HTTP receiver on loopback
    that checks each body's signature; SIGTERM stops it; every delivery audited."""
    import http.server
    import signal
    import sys
    import threading
    import time

    from geo.shares import verify

    _seed(conn)
    keys = _add("eu", "--sections", SHARED[0], "--layers", "events", "--detail", "no-personal-data")
    got: list[tuple[bool, int]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((verify(keys["secret"], body, self.headers.get("X-NSP-Signature")),
                        len(json.loads(body)["features"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "shares", "push", "eu", "--url",
                                 f"http://127.0.0.1:{httpd.server_port}/in", "--every", "1s", "--actor", "liaison"],
                                env={**os.environ, "DATABASE_URL": db_url}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(got) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        httpd.shutdown()
    assert proc.returncode == 0, err
    assert len(got) >= 2 and all(ok and n == 8 for ok, n in got), got
    assert out.count("pushed share eu: 8 features, HTTP 204") == len(got)
    pushes = conn.execute("SELECT actor, details FROM audit_log WHERE action = 'share_push' ORDER BY id").fetchall()
    assert len(pushes) == len(got)
    assert all(p["actor"] == "liaison" and p["details"]["status"] == 204 and p["details"]["features"] == 8
               for p in pushes)
