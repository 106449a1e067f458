"""Monthly indicators on real PostGIS: exact values from seeded events, patrols and level
decisions, the month before, the scope of a sector commander, the CLI, the export page's link."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from geo.snapshot import indicators
from geo.snapshot.week import Month
from nsp.access import Scope
from nsp.cli import cli
from tests.support.export import export_routes

RIGA = ZoneInfo("Europe/Riga")
NOV = Month(2026, 11)
ANALYST = Scope("ana.lyst", "analyst")
BY01 = Scope("janis", "sector_commander", sections=("LV-BY-01",))


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=RIGA)


@pytest.fixture
def seeded(conn):
    conn.execute("""CREATE OR REPLACE FUNCTION pg_temp.inside(code_ text) RETURNS geometry LANGUAGE sql AS
                    $$ SELECT ST_PointOnSurface(area) FROM border_section WHERE code = code_ $$""")
    events = [
        # ref, section, category, occurred, persons, impact, stage, direction, detection, sar, reported after h
        ("n1", "LV-BY-01", "unauthorised_border_crossing", _at(11, 1, 0), 10, "high", "attempted", "entry",
         "border_surveillance", True, 30),                                  # reported late
        ("n2", "LV-BY-01", "unauthorised_border_crossing", _at(11, 15), 5, "very_high", "actual", "entry",
         "bcp_check", False, 2),
        ("n3", "LV-BY-01", "unauthorised_border_crossing", _at(11, 30, 23), 7, "low", "attempted", "exit",
         None, None, None),                                                 # 30 Nov 23:00 Riga: November
        ("n4", "LV-BY-01", "cross_border_crime", _at(11, 20), None, "medium", None, None, None, None, None),
        ("n5", "LV-RU-01", "crisis_situation", _at(11, 3), 2, "high", None, None, None, None, 1),
        ("o1", "LV-BY-01", "unauthorised_border_crossing", _at(10, 31, 23), 4, "low", "attempted", "entry",
         None, None, None),                                                 # October (Riga time)
        ("d1", "LV-BY-01", "unauthorised_border_crossing", _at(12, 1, 0, ) + timedelta(minutes=1), 9, "low",
         None, None, None, None, None),                                     # December: in neither month
    ]
    for ref, code, cat, when, persons, impact, stage, direction, detection, sar, delay in events:
        conn.execute(
            """INSERT INTO event (source, source_ref, category, occurred_at, reported_at, geom, persons, impact,
                                  crossing_stage, direction, detection_method, sar_link)
               VALUES ('seed', %s, %s, %s, %s, pg_temp.inside(%s), %s, %s, %s, %s, %s, %s)""",
            (ref, cat, when, when + timedelta(hours=delay) if delay else None, code, persons, impact, stage,
             direction, detection, sar))
    # a follow-up of n1, and an event outside every section (counts in the total only)
    conn.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, impact, parent_id)
                    SELECT 'seed', 'n1-f', 'unauthorised_border_crossing', %s, geom, 'high', id
                      FROM event WHERE source_ref = 'n1'""", (_at(11, 2),))
    conn.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, impact)
                    VALUES ('seed', 'sea', 'other', %s, ST_SetSRID(ST_MakePoint(19.0, 57.5), 4326), 'low')""",
                 (_at(11, 5),))
    # a report the NCC rejected on validation: counted apart, in no other indicator
    conn.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, impact, persons, validation)
                    VALUES ('seed', 'false', 'unauthorised_border_crossing', %s, pg_temp.inside('LV-BY-01'),
                            'very_high', 30, 'rejected')""", (_at(11, 7),))
    # a 4-hour patrol from LV-BY-01 into LV-BY-02 in November, a 2-hour one in LV-BY-01 in October
    conn.execute("""INSERT INTO patrol (source, source_ref, unit, started_at, ended_at, track)
                    SELECT 'seed', 'p1', 'DAU-P1', %s, %s,
                           ST_Multi(ST_MakeLine(pg_temp.inside('LV-BY-01'), pg_temp.inside('LV-BY-02')))""",
                 (_at(11, 10, 8), _at(11, 10, 12)))
    conn.execute("""INSERT INTO patrol (source, source_ref, unit, started_at, ended_at, track)
                    SELECT 'seed', 'p0', 'DAU-P1', %s, %s,
                           ST_Multi(ST_MakeLine(pg_temp.inside('LV-BY-01'),
                                                ST_Translate(pg_temp.inside('LV-BY-01'), 0.001, 0)))""",
                 (_at(10, 10, 8), _at(10, 10, 10)))
    # LV-BY-01: medium from 20 October, high from 11 November 00:00 (Riga)
    conn.execute("DELETE FROM impact_level_change")
    conn.execute("""INSERT INTO impact_level_change (section_code, to_level, decided_by, reason, decided_at)
                    VALUES ('LV-BY-01', 'medium', 'anna', 'seed', %s), ('LV-BY-01', 'high', 'anna', 'seed', %s)""",
                 (_at(10, 20, 0), _at(11, 11, 0)))
    return conn


def _rows(table) -> dict[tuple[str, str], tuple[str, str, str]]:
    rows = list(csv.DictReader(io.StringIO(indicators.csv_text(table))))
    return {(r["section"], r["indicator"]): (r["value"], r["previous_month"], r["change"]) for r in rows}


def test_the_month_s_indicators_per_section_and_in_total_against_the_month_before(db_url, seeded):
    table, codes = indicators.read(ANALYST, NOV)
    assert codes is None
    v = _rows(table)
    by01 = {k: v[("LV-BY-01", k)][0] for k in indicators.KEYS}
    assert by01 == {
        "events": "4", "ubc": "3", "ubc_persons": "22", "ubc_attempted": "2", "ubc_actual": "1", "ubc_entry": "2",
        "ubc_exit": "1", "ubc_bcp_check": "1", "ubc_border_surveillance": "1", "ubc_evasion": "0",
        "ubc_facilitation": "0", "ubc_sar": "1", "crime": "1", "crisis": "0", "other": "0", "high_impact": "2",
        "reports_over_24h": "1", "follow_ups": "1", "rejected": "1", "patrols": "1", "patrol_hours": "4",
        "days_low": "0", "days_medium": "10", "days_high": "20", "days_critical": "0", "level_changes": "1"}
    assert v[("LV-BY-01", "events")] == ("4", "1", "3")  # October: o1
    assert v[("LV-BY-01", "patrol_hours")] == ("4", "2", "2")
    assert v[("LV-BY-01", "days_medium")] == ("10", "12", "-2")  # 20-31 October
    assert v[("LV-BY-02", "patrols")] == ("1", "0", "1") and v[("LV-BY-02", "events")][0] == "0"
    assert ("LV-BY-02", "days_low") not in v  # no level decided for it in the seed: not made up
    assert v[("LV-RU-01", "crisis")][0] == "1" and v[("LV-RU-01", "reports_over_24h")][0] == "0"
    # the total: every section once, plus the event outside every section; no level days
    assert v[("TOTAL", "events")] == ("6", "1", "5") and v[("TOTAL", "other")][0] == "1"
    assert v[("TOTAL", "patrols")] == ("1", "1", "0") and v[("TOTAL", "patrol_hours")][0] == "4"
    assert ("TOTAL", "days_high") not in v and v[("TOTAL", "level_changes")][0] == "1"


def test_a_sector_commander_gets_their_own_sections_only(db_url, seeded):
    table, codes = indicators.read(BY01, NOV)
    assert codes == ["LV-BY-01"] and table.columns == ["LV-BY-01", indicators.TOTAL]
    v = _rows(table)
    assert v[("TOTAL", "events")][0] == "4"  # not LV-RU-01's, not the one outside every section
    with pytest.raises(indicators.ExportError, match="may not export section"):
        indicators.read(BY01, NOV, ["LV-RU-01"])


def test_cli_writes_csv_html_manifest_and_zip_and_is_audited(db_url, seeded, tmp_path):
    r = CliRunner().invoke(cli, ["export", "monthly", "--month", "2026-11", "--sections", "LV-BY-01,LV-BY-02",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    folder = tmp_path / "nsp-indicators-2026-11-LV-BY-01_LV-BY-02"
    assert r.output.splitlines()[-2:] == [str(folder), str(folder) + ".zip"]
    assert sorted(p.name for p in folder.iterdir()) == ["indicators.csv", "indicators.html", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["month"] == "2026-11" and manifest["sections"] == ["LV-BY-01", "LV-BY-02"]
    assert manifest["complete"] and set(manifest["files"]) == {"indicators.csv", "indicators.html"}
    with zipfile.ZipFile(str(folder) + ".zip") as z:
        assert sorted(z.namelist()) == [f"{folder.name}/{n}" for n in
                                        ("indicators.csv", "indicators.html", "manifest.json")]
    page = (folder / "indicators.html").read_text()
    assert "Monthly indicators 2026-11" in page and "Days at impact level high" in page
    assert "<th>LV-BY-02</th>" in page and "LV-RU-01" not in page
    audit = seeded.execute("SELECT action, object, details FROM audit_log WHERE action = 'export'").fetchone()
    assert (audit["action"], audit["object"], audit["details"]["kind"]) == ("export", "2026-11", "monthly_indicators")
    bad = CliRunner().invoke(cli, ["export", "monthly", "--month", "2026-13", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "2026-13 is not a month" in bad.output


def test_export_page_links_give_the_table_and_the_csv_of_the_chosen_sections(db_url, seeded):
    import dashboard.app  # noqa: F401 - the app loads its pages, this one included
    from dashboard.pages.export import indicator_links, month_choices

    choices = month_choices("Europe/Riga")
    assert choices[0]["label"].startswith("Last complete month") and len(choices) == 13
    assert indicator_links("2026-11", ["LV-BY-01"]) == ("/export/indicators/2026-11.html?sections=LV-BY-01",
                                                        "/export/indicators/2026-11.csv?sections=LV-BY-01")
    with export_routes(ANALYST) as (client, who):
        r = client.get("/export/indicators/2026-11.csv?sections=LV-BY-01")
        assert r.status_code == 200 and r.mimetype == "text/csv"
        assert 'filename="nsp-indicators-2026-11-LV-BY-01.csv"' in r.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
        assert {r["section"] for r in rows} == {"LV-BY-01", "TOTAL"}
        r = client.get("/export/indicators/2026-11.html")
        assert r.status_code == 200 and "Monthly indicators 2026-11" in r.get_data(as_text=True)
        assert client.get("/export/indicators/2026-11.xlsx").status_code == 404
        assert client.get("/export/indicators/2026-11.csv?sections=LV-XX-99").status_code == 400
        who["scope"] = BY01
        assert client.get("/export/indicators/2026-11.csv?sections=LV-RU-01").status_code == 400
        who["scope"] = Scope("wall", "kiosk")
        assert client.get("/export/indicators/2026-11.csv").status_code == 403
    n = seeded.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'export'").fetchone()["n"]
    assert n == 2  # each table or CSV given out is recorded
