"""The weekly snapshot export against a real PostGIS: a seeded week, every file checked."""

from __future__ import annotations

import csv
import json
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from geo.snapshot import export as snapshot
from geo.snapshot.bundle import sha256
from geo.snapshot.offline import external_urls
from geo.snapshot.settings import ExportSettings
from geo.snapshot.week import Week
from geo.symbology import LEVEL_BARS, LEVEL_WEIGHTS
from nsp.access import Scope

WEEK = Week(2026, 40, "Europe/Riga")  # Mon 28 Sep - Sun 4 Oct 2026, Riga time
UTC = timezone.utc


def _at(day: int, hour: int, week: Week = WEEK) -> datetime:
    """Local time on day ``day`` (0 = Monday) of ``week``, as UTC."""
    return (week.start + timedelta(days=day, hours=hour)).astimezone(UTC)


def seed_week(conn) -> None:
    """A handful of events, patrols and positions in WEEK, around it, and a level change."""
    # ST_GeneratePoints on a point gives nothing; use a point inside the area instead.
    conn.execute("""CREATE OR REPLACE FUNCTION pg_temp.inside(code_ text, i int) RETURNS geometry
                    LANGUAGE sql AS $$ SELECT (ST_Dump(ST_GeneratePoints(area, 20, 11))).geom
                    FROM border_section WHERE code = code_ OFFSET i LIMIT 1 $$""")
    events = [
        # ref, section, category, day, hour, impact, persons, reported delay h
        ("e1", "LV-BY-02", "unauthorised_border_crossing", 0, 2, "high", 12, 30),  # reported late
        ("e2", "LV-BY-02", "unauthorised_border_crossing", 1, 3, "very_high", 25, 2),
        ("e3", "LV-BY-02", "unauthorised_border_crossing", 2, 23, "medium", 5, None),
        ("e4", "LV-BY-02", "unauthorised_border_crossing", 6, 22, "low", 3, None),
        ("e5", "LV-BY-02", "cross_border_crime", 3, 10, "low", None, None),
        ("e6", "LV-BY-01", "cross_border_crime", 0, 12, "medium", 2, 1),
        ("e7", "LV-BY-01", "cross_border_crime", 4, 14, "low", None, None),
        ("e8", "LV-BY-01", "crisis_situation", 5, 9, "high", 40, 3),
        ("e9", "LV-RU-05", "other", 2, 8, "low", None, None),
        ("e10", "LV-RU-05", "unauthorised_border_crossing", 3, 1, "medium", 4, None),
        # around the week: not exported (the previous week counts for the comparison)
        ("p1", "LV-BY-02", "unauthorised_border_crossing", -2, 3, "low", 6, None),
        ("p2", "LV-BY-02", "unauthorised_border_crossing", -7, 0, "low", 6, None),
        ("p3", "LV-BY-01", "cross_border_crime", -1, 23, "low", None, None),
        ("n1", "LV-BY-02", "unauthorised_border_crossing", 7, 0, "high", 8, None),
    ]
    for i, (ref, section, cat, day, hour, impact, persons, delay) in enumerate(events):
        occurred = _at(day, hour)
        conn.execute(
            """INSERT INTO event (source, source_ref, category, subtype, occurred_at, reported_at, received_at,
                                  geom, persons, impact, description)
               VALUES ('seed', %s, %s, %s, %s, %s, %s, pg_temp.inside(%s, %s), %s, %s,
                       'seeded, "quoted" — Krāslava')""",
            (ref, cat, "group_crossing_attempt" if cat == "unauthorised_border_crossing" else None, occurred,
             occurred + timedelta(hours=delay) if delay is not None else None,
             occurred + timedelta(hours=(delay or 0) + 1), section, i, persons, impact),
        )
    patrols = [  # ref, section, start day, start hour, hours
        ("t1", "LV-BY-02", 1, 8, 6), ("t2", "LV-BY-01", 3, 20, 8),
        ("t3", "LV-BY-02", -1, 20, 6),  # overlaps the week's start: exported
        ("t4", "LV-BY-02", -3, 8, 4),  # the week before: not exported
    ]
    for i, (ref, section, day, hour, hours) in enumerate(patrols):
        conn.execute(
            """INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track)
               VALUES ('seed', %s, %s, 'vehicle', %s, %s,
                       ST_Multi(ST_MakeLine(ARRAY[pg_temp.inside(%s, %s), pg_temp.inside(%s, %s),
                                                  pg_temp.inside(%s, %s)])))""",
            (ref, f"Unit {i + 1}", _at(day, hour), _at(day, hour + hours),
             section, 10 + i, section, 14 + i, section, 18 - i),
        )
    for i in range(7):  # 5 in the week, 2 outside it
        day = i - 1 if i < 6 else 7
        conn.execute(
            """INSERT INTO asset_position (source, object_id, kind, object_type, observed_at, geom, section_code,
                                           speed_kn)
               VALUES ('seed', 'BG-01', 'own', 'vehicle', %s, pg_temp.inside('LV-BY-02', %s), 'LV-BY-02', 12.5)""",
            (_at(day, 12), i),
        )
    conn.execute(
        """INSERT INTO impact_level_change (section_code, to_level, decided_at, decided_by, reason)
           VALUES ('LV-BY-02', 'critical', %s, 'duty.officer', 'mass crossing attempts near Krāslava')""",
        (_at(1, 6),),
    )


def db_counts(conn, sections: list[str] | None = None) -> dict:
    p = {"s": WEEK.start, "e": WEEK.end, "c": sections}
    one = lambda q: conn.execute(q, p).fetchone()["n"]  # noqa: E731
    return {
        "border_sections": one("SELECT count(*) n FROM border_section WHERE %(c)s::text[] IS NULL OR code = ANY(%(c)s)"),
        "events": one("SELECT count(*) n FROM event WHERE occurred_at >= %(s)s AND occurred_at < %(e)s "
                      "AND (%(c)s::text[] IS NULL OR section_code = ANY(%(c)s))"),
        "patrols": one("SELECT count(*) n FROM patrol WHERE started_at < %(e)s AND ended_at >= %(s)s "
                       "AND (%(c)s::text[] IS NULL OR section_codes && %(c)s::text[])"),
        "asset_positions": one("SELECT count(*) n FROM asset_position WHERE observed_at >= %(s)s "
                               "AND observed_at < %(e)s AND (%(c)s::text[] IS NULL OR section_code = ANY(%(c)s))"),
    }


def ogr_counts(path) -> dict:
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True)
    assert "ERROR" not in out.stderr, out.stderr
    counts, layer = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("Layer name:"):
            layer = line.split(":", 1)[1].strip()
        elif line.startswith("Feature Count:"):
            counts[layer] = int(line.split(":", 1)[1])
    return counts


@pytest.fixture
def seeded(conn):
    seed_week(conn)
    return conn


SETTINGS = ExportSettings(pdf=False)


def test_seeded_week_export(seeded, tmp_path):
    expected = db_counts(seeded)
    assert expected["events"] == 10 and expected["patrols"] == 3 and expected["asset_positions"] == 5
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana.lyst", "analyst"), settings=SETTINGS)

    assert result.folder == tmp_path / "nsp-snapshot-2026-W40"
    assert sorted(p.name for p in result.folder.iterdir()) == sorted(snapshot.FILES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"

    # GeoPackage: valid for ogrinfo, per-layer counts equal the database's
    assert ogr_counts(result.folder / "picture.gpkg") == expected
    for layer in snapshot.LAYERS:
        assert result.counts[layer] == expected[layer]

    # CSV reads back with the same rows as the database
    with (result.folder / "events.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    db_rows = seeded.execute(
        "SELECT id::text, source_ref, ST_X(geom) lon, ST_Y(geom) lat, persons FROM event "
        "WHERE occurred_at >= %s AND occurred_at < %s", (WEEK.start, WEEK.end)).fetchall()
    assert {r["id"] for r in rows} == {r["id"] for r in db_rows}
    by_id = {r["id"]: r for r in db_rows}
    for r in rows:
        d = by_id[r["id"]]
        assert abs(float(r["lon"]) - d["lon"]) < 1e-6 and abs(float(r["lat"]) - d["lat"]) < 1e-6
        assert (int(r["persons"]) if r["persons"] else None) == d["persons"]
        assert r["description"] == 'seeded, "quoted" — Krāslava'
    assert (result.folder / "events.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    # manifest: week, sections, who, counts, sha256 of every file
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["week"] == "2026-W40" and manifest["sections"] == "all"
    assert manifest["generated_by"]["user"] == "ana.lyst"
    assert manifest["counts"]["events"] == 10 and manifest["counts"]["events_csv_rows"] == 10
    assert set(manifest["files"]) == set(snapshot.FILES) - {"manifest.json"}
    for name, info in manifest["files"].items():
        assert info["sha256"] == sha256(result.folder / name)

    # the zip holds the same files
    with zipfile.ZipFile(result.zip_path) as z:
        assert z.testzip() is None
        assert sorted(n.split("/", 1)[1] for n in z.namelist()) == sorted(snapshot.FILES)

    # no external URL in any file
    for name in ("snapshot.html", "summary.html", "events.csv", "manifest.json"):
        assert external_urls((result.folder / name).read_text(encoding="utf-8")) == [], name

    # the sections' levels read without colour: line width and bars (geo/symbology.py)
    page = (result.folder / "snapshot.html").read_text(encoding="utf-8")
    for level in ("low", "medium", "high", "critical"):
        assert f'stroke-width="{LEVEL_WEIGHTS[level]}"' in page and f"{LEVEL_BARS[level]} {level}" in page
    assert f'"weight": {LEVEL_WEIGHTS["critical"]}' in page  # LV-BY-02, critical this week
    # the border crossing points, as on the dashboard, the hand-placed ones marked approximate
    assert "Border crossing points (10)" in page and "border crossing point (road, rail, air, sea)" in page
    assert "Terehova: road crossing point (position approximate)" in page
    assert "Riga airport: air crossing point" in page and "Riga airport: air crossing point (" not in page

    # summary: per section, the level change, the late report flagged
    summary = (result.folder / "summary.html").read_text()
    assert "LV-BY-02" in summary and "critical" in summary and "mass crossing attempts" in summary
    assert "1 reported more than 24 hours" in summary
    assert "1 d 6 h 00 min" in summary  # e1: reported 30 h after it occurred
    # subtypes in words, as on the dashboard; the files keep the feed's code
    assert "group crossing attempt" in summary and "group_crossing_attempt" not in summary
    assert '"group crossing attempt"' in page
    assert "group_crossing_attempt" in (result.folder / "events.csv").read_text(encoding="utf-8-sig")
    assert "<svg" in summary

    # audit row: who, week, sections
    audit = seeded.execute("SELECT actor, action, object, details FROM audit_log WHERE action = 'export'").fetchall()
    assert len(audit) == 1
    assert audit[0]["actor"] == "ana.lyst" and audit[0]["object"] == "2026-W40"
    assert audit[0]["details"]["sections"] == "all" and audit[0]["details"]["counts"]["events"] == 10


def test_sector_commander_exports_only_own_sections(seeded, tmp_path):
    commander = Scope("cmdr.silene", "sector_commander", ("LV-BY-01",))
    result = snapshot.export_weekly(WEEK, tmp_path, commander, settings=SETTINGS)
    expected = db_counts(seeded, ["LV-BY-01"])
    assert expected == {"border_sections": 1, "events": 3, "patrols": 1, "asset_positions": 0}
    assert ogr_counts(result.folder / "picture.gpkg") == expected
    assert result.folder.name == "nsp-snapshot-2026-W40-LV-BY-01"
    with (result.folder / "events.csv").open(encoding="utf-8-sig") as f:
        assert {r["section_code"] for r in csv.DictReader(f)} == {"LV-BY-01"}
    assert "LV-BY-02" not in (result.folder / "summary.html").read_text()

    with pytest.raises(snapshot.ExportError, match="may not export section.*LV-BY-02"):
        snapshot.export_weekly(WEEK, tmp_path, commander, ["LV-BY-02"], settings=SETTINGS)
    with pytest.raises(snapshot.ExportError, match="unknown section.*LV-XX-99"):
        snapshot.export_weekly(WEEK, tmp_path, Scope("ana", "analyst"), ["LV-XX-99"], settings=SETTINGS)
    with pytest.raises(snapshot.ExportError, match="may not export"):
        snapshot.export_weekly(WEEK, tmp_path, Scope("wall", "kiosk"), settings=SETTINGS)
    rows = seeded.execute("SELECT actor, details FROM audit_log WHERE action = 'export'").fetchall()
    assert [(r["actor"], r["details"]["sections"]) for r in rows] == [("cmdr.silene", ["LV-BY-01"])]


def test_empty_week_still_writes_every_layer(conn, tmp_path):
    result = snapshot.export_weekly(Week(2026, 2, "Europe/Riga"), tmp_path, Scope("ana", "analyst"), settings=SETTINGS)
    counts = ogr_counts(result.folder / "picture.gpkg")
    assert counts == {"border_sections": 36, "events": 0, "patrols": 0, "asset_positions": 0}
    with (result.folder / "events.csv").open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["id", "source", "source_ref"] and "lon" in header and "lat" in header


def test_map_switches_to_grid_above_the_marker_limit(seeded, tmp_path):
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana", "analyst"),
                                    settings=ExportSettings(pdf=False, map_max_markers=5))
    page = (result.folder / "snapshot.html").read_text()
    assert page.count("className: 'nsp-cell nsp-") == 4 and page.count("L.divIcon(") == 10  # the crossing points' only
    assert result.counts["events"] == 10  # the files still have every event


def test_summary_and_map_count_what_the_picture_counts_and_the_files_keep_every_report(seeded, tmp_path):
    """A follow-up report and a report its source rejected on validation are in events.csv and
    the GeoPackage, but are not events of the summary or of the map; the summary says so."""
    import re

    parent = seeded.execute("SELECT id FROM event WHERE source_ref = 'e2'").fetchone()["id"]
    for ref, parent_id, validation in (("e2-follow", parent, "unvalidated"), ("rej", None, "rejected")):
        seeded.execute(
            """INSERT INTO event (source, source_ref, category, occurred_at, geom, persons, impact, parent_id,
                                  validation, description)
               VALUES ('seed', %s, 'unauthorised_border_crossing', %s, pg_temp.inside('LV-BY-02', 3), 30,
                       'very_high', %s, %s, %s)""", (ref, _at(2, 5), parent_id, validation, f"text of {ref}"))
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana.lyst", "analyst"), settings=SETTINGS)
    assert result.counts["events"] == 12 and ogr_counts(result.folder / "picture.gpkg")["events"] == 12
    assert result.counts["picture_events"] == 10  # the summary's and the map's count, in the manifest too
    summary = (result.folder / "summary.html").read_text()
    # the Total row: four categories, then events and persons
    total = re.search(r'<th class="l">Total</th><th></th>\s*((?:<th>\d+</th>){4})\s*<th>(\d+)</th><th>(\d+)</th>',
                      summary)
    assert total and total.group(2) == "10" and total.group(3) == "91", total and total.group(0)
    assert re.findall(r"<th>(\d+)</th>", total.group(1)) == ["5", "3", "1", "1"]
    assert "Not counted here: 1 follow-up report and\n1 report rejected on validation" in summary
    # the week's high / very high first reports: e1, e2 and e8, not the rejected one
    assert "3 high or very high first reports" in summary
    page = (result.folder / "snapshot.html").read_text()
    assert "Unauthorised border crossing (5)" in page
    # e2's popup: its own text and its follow-up's; the follow-up and the rejected one have no marker
    assert ',1,"text of e2-follow"]' in page and page.count("text of e2-follow") == 1
    assert "text of rej" not in page


def test_summary_lists_the_weeks_decisions_on_events(seeded, tmp_path):
    e2 = seeded.execute("SELECT id FROM event WHERE source_ref = 'e2'").fetchone()["id"]
    for when, action, before, after, reason in (
            (_at(3, 10), "impact", "high", "very_high", "armed group <b>reported</b>"),
            (_at(4, 8), "close", "open", "closed", "group apprehended"),
            (WEEK.end + timedelta(hours=1), "reopen", "closed", "open", "after the week")):
        seeded.execute("""INSERT INTO event_decision (event_id, section_code, decided_at, decided_by, action,
                                                      from_value, to_value, reason)
                          VALUES (%s, 'LV-BY-02', %s, 'anna', %s, %s, %s, %s)""",
                       (e2, when, action, before, after, reason))
    seeded.execute("UPDATE event SET impact = 'very_high', impact_decided_at = %s, status = 'closed', closed_at = %s "
                   "WHERE id = %s", (_at(3, 10), _at(4, 8), e2))
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana.lyst", "analyst"), settings=SETTINGS)
    # the files say when the NCC decided the impact and when the event was closed
    with (result.folder / "events.csv").open(encoding="utf-8-sig", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == str(e2))
    assert (row["impact"], row["status"]) == ("very_high", "closed")
    assert (row["impact_decided_at"], row["closed_at"]) == (f"{_at(3, 10):%Y-%m-%dT%H:%M:%SZ}",
                                                            f"{_at(4, 8):%Y-%m-%dT%H:%M:%SZ}")
    summary = (result.folder / "summary.html").read_text()
    part = summary.split("<h2>Decisions on events during the week</h2>")[1].split("<h2>")[0]
    assert "impact high → very high" in part and "closed" in part and "(seed e2)" in part
    assert "armed group &lt;b&gt;reported&lt;/b&gt;" in part  # escaped
    assert "after the week" not in part and part.count("<tr>") == 3  # the heading and two decisions
    # a commander of another sector does not get them
    other = snapshot.export_weekly(WEEK, tmp_path / "c", Scope("c", "sector_commander", sections=("LV-BY-01",)),
                                   settings=SETTINGS)
    assert "No decision on an event during the week." in (other.folder / "summary.html").read_text()
