"""The weekly snapshot export against a real PostGIS: a seeded week, every file checked."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import timedelta

import pytest

from geo.snapshot import export as snapshot
from geo.snapshot.bundle import sha256
from geo.snapshot.offline import external_urls
from geo.snapshot.settings import ExportSettings
from geo.snapshot.week import Week
from geo.symbology import LEVEL_BARS, LEVEL_WEIGHTS
from nsp.access import Scope
from tests.support.export import WEEK, db_counts, ogr_counts, seed_week
from tests.support.export import at as _at


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
    assert expected == {"border_sections": 1, "border_lines": 1, "events": 3, "patrols": 1, "asset_positions": 0,
                        "level_changes": 0}
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
    assert counts == {"border_sections": 36, "border_lines": db_counts(conn)["border_lines"], "events": 0,
                      "patrols": 0, "asset_positions": 0, "level_changes": 0}
    with (result.folder / "events.csv").open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["id", "source", "source_ref"] and "lon" in header and "lat" in header


def test_map_switches_to_grid_above_the_marker_limit(seeded, tmp_path):
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana", "analyst"),
                                    settings=ExportSettings(pdf=False, map_max_markers=5))
    page = (result.folder / "snapshot.html").read_text()
    labels = page.count('"className": "nsp-sec-label-icon"')  # the section labels' layer
    assert labels >= 10  # the external sections' codes
    # the crossing points' only, beside the labels
    assert page.count("className: 'nsp-cell nsp-") == 4 and page.count("L.divIcon(") - labels == 10
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


def test_the_geopackage_has_border_lines_the_weeks_levels_object_names_and_qgis_styles(seeded, tmp_path):
    import sqlite3
    import xml.etree.ElementTree as ET

    import pyogrio

    from geo.symbology import CATEGORY_STYLE, LEVEL_COLOURS, LEVEL_WEIGHTS
    from nsp.vocab import LEVELS

    # after the week LV-BY-02 went from critical (decided in the week) to low; the export tells both
    seeded.execute("INSERT INTO impact_level_change (section_code, to_level, decided_by, reason) "
                   "VALUES ('LV-BY-02', 'low', 'duty.officer', 'calm again')")
    seeded.execute("INSERT INTO tracked_object (object_id, kind, name, callsign) "
                   "VALUES ('BG-01', 'own', 'Border guard car 01', 'BG01')")
    first = {r["section_code"]: r["to_level"] for r in seeded.execute(
        "SELECT DISTINCT ON (section_code) section_code, to_level FROM impact_level_change "
        "ORDER BY section_code, decided_at, id").fetchall()}
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana.lyst", "analyst"), settings=SETTINGS)
    gpkg = result.folder / "picture.gpkg"

    areas = pyogrio.read_dataframe(gpkg, layer="border_sections").set_index("code")
    assert (areas.loc["LV-BY-02", "impact_level"], areas.loc["LV-BY-02", "impact_level_now"],
            areas.loc["LV-BY-02", "level_changes"]) == ("critical", "low", 1)
    # a section with no decision before the week's end: its first recorded level
    assert areas.loc["LV-BY-01", "impact_level"] == first["LV-BY-01"]
    lines = pyogrio.read_dataframe(gpkg, layer="border_lines").set_index("code")
    assert set(lines.geometry.geom_type) == {"MultiLineString"}
    assert lines.loc["LV-BY-02", "impact_level"] == "critical" and len(lines) == result.counts["border_lines"] > 0
    changes = pyogrio.read_dataframe(gpkg, layer="level_changes", read_geometry=False)
    assert changes[["section_code", "to_level", "decided_by"]].values.tolist() == [
        ["LV-BY-02", "critical", "duty.officer"]]
    positions = pyogrio.read_dataframe(gpkg, layer="asset_positions")
    assert set(positions["object_name"]) == {"Border guard car 01"} and set(positions["callsign"]) == {"BG01"}

    con = sqlite3.connect(gpkg)
    rows = con.execute("SELECT f_table_name, useAsDefault, styleQML FROM layer_styles").fetchall()
    # QGIS loads a layer's default style with this filter, the geometry column as GDAL names it
    for layer in ("border_sections", "border_lines", "events", "patrols", "asset_positions"):
        column = pyogrio.read_info(gpkg, layer=layer)["geometry_name"]
        found = con.execute("SELECT styleName FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ? "
                            "AND f_geometry_column = ? AND useAsDefault", (layer, column)).fetchall()
        assert found == [(f"nsp {layer}",)], (layer, column, found)
    con.close()
    styles = {name: ET.fromstring(qml.split("'SYSTEM'>", 1)[1]) for name, default, qml in rows if default == 1}
    assert sorted(styles) == sorted(["border_sections", "border_lines", "events", "patrols", "asset_positions"])
    assert all(root.tag == "qgis" and root.find("renderer-v2") is not None for root in styles.values())

    def categories(layer: str) -> dict[str, dict[str, str]]:
        r = styles[layer].find("renderer-v2")
        symbols = {s.get("name"): {o.get("name"): o.get("value") for o in s.find("layer/Option")}
                   for s in r.find("symbols")}
        return {c.get("value"): symbols[c.get("symbol")] for c in r.find("categories")}

    line_cats = categories("border_lines")
    assert [v for v in line_cats if v] == list(LEVELS)
    widths = [float(line_cats[lv]["line_width"]) for lv in LEVELS]
    assert widths == sorted(widths) and len(set(widths)) == 4 and LEVEL_WEIGHTS["critical"] > LEVEL_WEIGHTS["low"]
    assert line_cats["critical"]["line_color"].startswith(
        ",".join(str(int(LEVEL_COLOURS["critical"][i:i + 2], 16)) for i in (1, 3, 5)))
    event_cats = categories("events")
    assert {c: o["name"] for c, o in event_cats.items()} == {c: shape for c, (_col, shape) in CATEGORY_STYLE.items()}
    assert styles["border_sections"].find("labeling").find(".//text-style").get("fieldName") == "code"
