"""One event in full (geo/event_details.py) and its details in words
(dashboard/components/event_details.py), against a real PostGIS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dash import html

from dashboard.components.event_details import details_view
from geo import picture
from geo.event_details import event_details
from nsp import db
from nsp.access import Scope
from tests.support.seed import ensure_sections, insert_event

OFFICER = Scope(user="anna", role="watch_officer")
RU01 = Scope(user="ivo", role="sector_commander", sections=("LV-RU-01",))
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _text(component) -> str:
    """Every string in a Dash component tree, joined."""
    if isinstance(component, str | int | float):
        return str(component)
    if component is None:
        return ""
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def test_an_event_in_full_with_its_follow_ups_decisions_and_delivery(empty_db_url):
    now = datetime.now(UTC).replace(microsecond=0)
    with db.connect(empty_db_url, autocommit=True) as conn:
        ensure_sections(conn)
        batch = conn.execute("INSERT INTO ingest_batch (source, file_name, format, status) VALUES "
                             "('daugavpils-board', '/inbox/daugavpils-board/report-20261204.geojson', 'geojson', "
                             "'done') RETURNING id").fetchone()["id"]
        first = insert_event(conn, code="LV-BY-01", source="daugavpils-board", ref="DAU-1", impact="high",
                             occurred_at=now - timedelta(hours=30), received_at=now - timedelta(hours=29),
                             subtype="group_crossing_attempt", persons=12)
        conn.execute("""UPDATE event SET batch_id = %s, crossing_stage = 'attempted', crossing_mode = 'clandestine',
                               direction = 'entry', detection_method = 'border_surveillance', sar_link = true,
                               description = 'Group of 12 prevented from entering', accuracy_m = 25,
                               reported_at = occurred_at + interval '20 minutes' WHERE id = %s""", (batch, first))
        follow = insert_event(conn, code="LV-BY-01", source="daugavpils-board", ref="DAU-1-F1",
                              occurred_at=now - timedelta(hours=28))
        conn.execute("UPDATE event SET parent_id = %s, description = 'All returned to Belarus' WHERE id = %s",
                     (first, follow))
    picture.decide_event(OFFICER, first, "impact", "SAR case: very high", impact="very_high")

    d = event_details(OFFICER, first)
    assert d["id"] == first and d["impact"] == "very_high" and d["section_name"] == "Krāslava"
    assert d["batch_file"].endswith("report-20261204.geojson") and d["batch_format"] == "geojson"
    assert [f["description"] for f in d["follow_ups"]] == ["All returned to Belarus"]
    assert [x["reason"] for x in d["decisions"]] == ["SAR case: very high"]
    assert d["occurred_at"].endswith("Z") and d["confidence"] == "B2"
    # as known an hour after the event: the impact then, and no decision yet
    then = event_details(OFFICER, first, known_at=now - timedelta(hours=29))
    assert then["impact"] == "high" and then["decisions"] == []
    # out of a commander's sections, or not an id: nothing
    assert event_details(RU01, first) is None and event_details(OFFICER, "DAU-1") is None

    view = details_view(d, "en", now)
    text = _text(view)
    for words in ("Group of 12 prevented from entering", "All returned to Belarus", "SAR case: very high",
                  "very high", "group crossing attempt", "attempted", "clandestine", "entry", "border surveillance",
                  "Search and rescue", "yes", "daugavpils-board", "DAU-1", "report-20261204.geojson", "(geojson)",
                  "LV-BY-01 Krāslava", "± 25 m", "1 h after the event", "Decisions and history"):
        assert words in text, words
    assert not RAW_ISO.search(text), RAW_ISO.search(text)  # times as the page writes them
    assert "group_crossing_attempt" not in text and "very_high" not in text and "border_surveillance" not in text
    lv = _text(details_view(d, "lv", now))
    assert "ļoti augsta" in lv and "mēģinājums" in lv and "robežuzraudzība" in lv and "Meklēšana un glābšana" in lv
    assert isinstance(details_view(None, "en", now), html.Div)
