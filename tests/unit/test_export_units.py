"""Pure parts of the export: weeks, offline inlining, the summary chart, pruning, CSV."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest

from geo.snapshot import bundle, offline, summary
from geo.snapshot.week import Week, WeekError
from geo.snapshot.writers import EventsCsv


def test_iso_week_in_the_centre_time_zone():
    w = Week.parse("2026-W47", "Europe/Riga")
    assert w.start.isoformat() == "2026-11-16T00:00:00+02:00"
    assert w.end.isoformat() == "2026-11-23T00:00:00+02:00"
    assert w.previous().label == "2026-W46"
    # the week of the switch to summer time ends at local midnight, UTC+3
    assert Week.parse("2026W13", "Europe/Riga").end.isoformat() == "2026-03-30T00:00:00+03:00"
    # Sunday 23:30 UTC is already Monday in Riga: the last complete week is the one just ended
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert Week.last_complete("Europe/Riga", now).label == "2026-W47"
    assert Week.current("Europe/Riga", now).label == "2026-W48"
    assert Week.last_complete("UTC", now).label == "2026-W46"
    assert Week(2020, 53).label == "2020-W53"
    for bad in ("2026-47", "2026-W54", "last week"):
        with pytest.raises(WeekError):
            Week.parse(bad, "Europe/Riga")
    with pytest.raises(WeekError, match="time zone"):
        _ = Week.parse("2026-W47", "Mars/Olympus").start


def test_inlined_leaflet_has_no_external_url():
    css, js = offline.leaflet_css(), offline.leaflet_js()
    assert "url(data:image/png;base64," in css and "images/" not in css
    assert offline.external_urls(css) == [] and offline.external_urls(js) == []
    assert "1.9.4" in js
    assert offline.external_urls('<script src="https://cdn.jsdelivr.net/x.js">') == ["https://cdn.jsdelivr.net"]
    assert offline.external_urls('<link href="//code.jquery.com/x">') == ["//code.jquery.com"]
    assert offline.external_urls('<svg xmlns="http://www.w3.org/2000/svg">') == []


def test_daily_chart_is_inline_svg_with_a_bar_per_category_and_day():
    days = [{"label": f"D{i}", "by_cat": {"unauthorised_border_crossing": i, "other": 1}, "total": i + 1}
            for i in range(7)]
    svg = summary.daily_chart(days)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 6 + 7 + 4  # 6 non-empty crossing bars, 7 'other' bars, 4 legend keys
    assert "Unauthorised border crossing: 6" in svg
    assert offline.external_urls(svg) == []


def test_delay_text():
    assert summary.delay_text(30 * 3600) == "1 d 6 h 00 min"
    assert summary.delay_text(2 * 3600 + 5 * 60) == "2 h 05 min"


def test_prune_keeps_the_newest_weeks(tmp_path):
    for label in ("2026-W44", "2026-W45", "2026-W46", "2026-W47"):
        (tmp_path / f"nsp-snapshot-{label}").mkdir()
        (tmp_path / f"nsp-snapshot-{label}.zip").write_bytes(b"x")
    (tmp_path / "other").mkdir()
    assert sorted(bundle.prune(tmp_path, 2)) == ["nsp-snapshot-2026-W44", "nsp-snapshot-2026-W45"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "nsp-snapshot-2026-W46", "nsp-snapshot-2026-W46.zip", "nsp-snapshot-2026-W47",
        "nsp-snapshot-2026-W47.zip", "other"]


def test_events_csv_is_excel_friendly(tmp_path):
    out = EventsCsv(tmp_path / "e.csv", ["id", "description", "lon", "wkb"])
    out.write([("a", 'with "quotes", commas\nand a newline — Krāslava', 27.1, b"\x01")])
    out.close()
    raw = (tmp_path / "e.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["id", "description", "lon"], ["a", 'with "quotes", commas\nand a newline — Krāslava', "27.1"]]
