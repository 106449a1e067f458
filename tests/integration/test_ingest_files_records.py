"""CSV, GeoJSON and GPX end to end: one hostile record costs only itself (issue 25), a
phone's GPS log loads as a unit's track through the mapping file (issue 20), and an
observation linked to no patrol is scoped by its section (row-level security)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from ingest.loading.pipeline import ingest_file
from nsp import access
from nsp.access import Scope
from tests.support.feeds import HEAD, track, trkpt, wpt

ROOT = Path(__file__).resolve().parents[2]


def feature(i: int, **props) -> str:
    base = {"category": "ubc", "time": f"2026-11-20T10:{i:02d}:00Z", **props}
    return json.dumps({"type": "Feature", "id": f"H{i}", "geometry": {"type": "Point", "coordinates": [27.5, 56.1]},
                       "properties": base})


def test_hostile_records_are_quarantined_alone_and_the_good_ones_load(conn, tmp_path: Path):
    deep = "[" * 260 + "]" * 260
    geo = tmp_path / "h.geojsonl"
    geo.write_text(feature(1) + "\n" + feature(2)[:-2] + ', "deep": ' + deep + "}}\n" + feature(3) + "\n"
                   + feature(6).replace('"H6"', '"' + "N" * 3000 + '"') + "\n")  # over the btree limit
    coll = tmp_path / "h.geojson"
    coll.write_text('{"type": "FeatureCollection", "features": [' + feature(4)[:-2] + ', "deep": '
                    + "[" * 600 + "]" * 600 + "}}, " + feature(5) + "]}")
    table = tmp_path / "h.csv"
    table.write_text("id,lat,lon,date,time,category,persons\n"
                     "C1,56.1,27.5,22.11.2026,14:05,ubc,inf\n"
                     "C2,56.1,27.5,31.12.9999 23:00,23:30,ubc,2\n"
                     "C3,56.1,27.5,22.11.2025,14:07,ubc,3\n")
    nest = "<extensions>" + "<a>" * 1000 + "x" + "</a>" * 1000 + "</extensions>"
    gpx = tmp_path / "h.gpx"
    gpx.write_text(HEAD + track("SILENE-P9", points=[trkpt(55.87, 26.95, "2024-05-01T21:00:00Z", nest)] + [
        trkpt(55.87 + i * 0.001, 26.95, f"2024-05-01T21:0{i}:00Z") for i in range(1, 4)]) + "</gpx>\n")
    expected = {geo: (2, 2), coll: (1, 1), table: (1, 2), gpx: (4, 1)}  # accepted, quarantined
    for path, (accepted, quarantined) in expected.items():
        summary = ingest_file(path, source="hostile")
        assert (summary.status, summary.accepted, summary.quarantined) == ("done", accepted, quarantined), (
            path.name, summary)
    reasons = {r["reason"] for r in conn.execute("SELECT reason FROM quarantine WHERE source = 'hostile'")}
    assert any("nested too deeply" in r for r in reasons) and any("finite" in r for r in reasons)
    assert any("year 9999" in r for r in reasons) and any("nested more than 64 deep" in r for r in reasons)
    assert any(r.startswith("id is longer than 512 bytes") for r in reasons)


def test_a_phone_gps_log_loads_as_positions_of_its_unit_through_the_cli(conn, db_url, tmp_path: Path):
    log = tmp_path / "gpslogger.csv"
    log.write_text(  # GPSLogger for Android's CSV columns
        "time,lat,lon,elevation,accuracy,bearing,speed,satellites,provider,hdop,vdop,pdop,geoidheight,"
        "ageofdgpsdata,dgpsid,activity,battery,annotation,timestamp_ms,time_offset,distance,"
        "starttimestamp_ms,profile_name,battery_charging\n"
        "2025-11-20T10:00:00.000Z,56.1,27.5,120.5,4.2,90.0,1.25,9,gps,,,,,,,,81,,1763632800000,"
        "2025-11-20T12:00:00.000+02:00,0.0,1763632800000,Default Profile,false\n"
        "2025-11-20T10:00:10.000Z,56.1001,27.5003,121.0,3.9,91.0,1.5,10,gps,,,,,,,,81,,1763632810000,"
        "2025-11-20T12:00:10.000+02:00,21.3,1763632800000,Default Profile,false\n")
    mapping = tmp_path / "phone.toml"
    mapping.write_text('kind = "positions"\n[columns]\nobserved_at = "timestamp_ms"\n[defaults]\nunit = "PHONE-1"\n')
    env = {**os.environ, "DATABASE_URL": db_url}
    args = [sys.executable, "-m", "nsp.cli", "ingest", str(log), "--mapping", str(mapping), "--source", "phones",
            "--json"]
    first = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)[0]["accepted"] == 2
    again = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    assert json.loads(again.stdout)[0]["duplicates"] == 2
    rows = conn.execute("SELECT object_id, kind, observed_at, speed_kn, course_deg, accuracy_m, section_code,"
                        " attrs->>'battery' AS battery FROM asset_position WHERE source = 'phones'"
                        " ORDER BY observed_at").fetchall()
    assert [(r["object_id"], r["kind"], r["course_deg"], r["battery"]) for r in rows] == [
        ("PHONE-1", "own", 90.0, "81"), ("PHONE-1", "own", 91.0, "81")]
    assert rows[0]["observed_at"].timestamp() == 1763632800 and abs(rows[0]["speed_kn"] - 2.43) < 0.01
    assert rows[0]["section_code"] is not None
    assert conn.execute("SELECT count(*) AS n FROM event WHERE source = 'phones'").fetchone()["n"] == 0


def test_an_unlinked_observation_is_seen_by_who_sees_its_section(conn, db_url, tmp_path: Path):
    path = tmp_path / "marks.gpx"
    path.write_text(HEAD + wpt(55.87, 26.95, "2024-05-01T21:00:00Z", name="near Silene") + "</gpx>\n")
    assert ingest_file(path, source="marks").accepted == 1
    (row,) = conn.execute("SELECT section_code FROM patrol_observation WHERE source = 'marks'").fetchall()
    inside = Scope(user="c1", role="sector_commander", sections=(row["section_code"],))
    other = conn.execute("SELECT code FROM border_section WHERE code <> %s AND kind <> 'air' LIMIT 1",
                         (row["section_code"],)).fetchone()["code"]
    outside = Scope(user="c2", role="sector_commander", sections=(other,))

    def names(scope: Scope) -> list[str]:
        with psycopg.connect(db_url, row_factory=psycopg.rows.dict_row) as c, c.transaction():
            access.as_app_role(c)
            access.apply_scope(c, scope)
            return [r["name"] for r in c.execute("SELECT name FROM patrol_observation WHERE source = 'marks'")]

    assert names(inside) == ["near Silene"] and names(outside) == []
