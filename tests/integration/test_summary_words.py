"""The weekly summary as a superior reads it: a headline, quiet sections on one line, only the
decisions people took, words instead of codes and ids, and section labels on the map."""

from __future__ import annotations

import re

import pytest

from geo.snapshot import export as snapshot
from geo.snapshot.settings import ExportSettings
from nsp.access import Scope
from tests.support.export import WEEK, at, seed_week

SETTINGS = ExportSettings(pdf=False)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def week(conn, tmp_path):
    seed_week(conn)
    # a level recorded by the system (set-up) during the week: not a decision to report
    conn.execute("INSERT INTO impact_level_change (section_code, to_level, decided_at, decided_by, reason) "
                 "VALUES ('LV-RU-05', 'high', %s, 'system', 'initial level from sections.geojson')", (at(0, 1),))
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana.lyst", "analyst"), settings=SETTINGS)
    return conn, result.folder


def test_summary_opens_with_a_headline_of_the_week(week):
    _conn, folder = week
    page = (folder / "summary.html").read_text()
    headline = re.search(r'<p class="headline">(.*?)</p>', page, re.S).group(1)
    # 10 events against 3 the week before; LV-BY-02 rose most (2 -> 5), then LV-RU-05 (0 -> 2)
    assert headline.startswith(f"10 events in week {WEEK.label}, more than the 3 of the week before (+7")
    assert "Rose most: LV-BY-02 " in headline and "(2 → 5)" in headline and "LV-RU-05" in headline
    # e1 reported 30 h after it happened; e2 and e8 within the day
    assert "1 of 3 high or very high first reports came more than 24 hours after the event." in headline
    assert "1 impact-level decision during the week." in headline


def test_quiet_sections_fold_into_one_line_and_only_people_s_decisions_are_listed(week):
    conn, folder = week
    page = (folder / "summary.html").read_text()
    table = page.split("<h2>Per section</h2>")[1].split("</table>")[0]
    listed = re.findall(r'<tr><td class="l">(LV-[A-Z]+-\d+)', table)
    assert listed == ["LV-BY-01", "LV-BY-02", "LV-RU-05"]
    sections = conn.execute("SELECT count(*) AS n FROM border_section").fetchone()["n"]
    quiet = re.search(r'<p class="quiet">No events in either week in (\d+) sections:(.*?)</p>', page, re.S)
    assert quiet and int(quiet.group(1)) == sections - 3
    assert "LV-BY-01" not in quiet.group(2) and quiet.group(2).count("LV-") == sections - 3
    changes = page.split("<h2>Impact-level changes during the week</h2>")[1].split("<h2>")[0]
    assert changes.count("<tr>") == 2 and "duty.officer" in changes and "system" not in changes.split("</table>")[0]
    assert "Not listed: 1 first level recorded when the sections were loaded" in changes
    # the section with its name, not its code alone
    name = conn.execute("SELECT name FROM border_section WHERE code = 'LV-BY-02'").fetchone()["name"]
    assert f"LV-BY-02 {name}" in changes


def test_summary_speaks_words_not_codes_or_ids(week):
    _conn, folder = week
    page = (folder / "summary.html").read_text()
    assert not UUID.search(page), UUID.search(page).group(0)
    assert "very_high" not in page and "_" not in re.sub(r"<style>.*?</style>", "", page, flags=re.S).replace(
        "picture.gpkg", "").replace("events.csv", "").replace("level_changes", "")
    high = page.split("time to first report</h2>")[1]
    assert "<td class=\"l\">very high</td>" in high and "seed e2" in high and "Source and reference" in high


def test_offline_map_labels_each_external_section(week):
    conn, folder = week
    page = (folder / "snapshot.html").read_text()
    # each a Leaflet DivIcon, its HTML in the page's script as a JSON string
    labels = re.findall(r'nsp-sec-label\\" title=\\"[^"]*?\\"\\u003e([A-Z0-9-]+)\\u003c/span', page)
    external = [r["code"] for r in conn.execute(
        "SELECT code FROM border_section WHERE impact_level IS NOT NULL ORDER BY code").fetchall()]
    assert sorted(labels) == external and "LV-BY-02" in labels
