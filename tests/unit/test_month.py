"""Calendar months in the centre's time zone, and days at each impact level within one."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from geo.snapshot.indicators import level_days
from geo.snapshot.week import Month, WeekError

RIGA = ZoneInfo("Europe/Riga")


def test_months_parse_step_and_bound_in_local_time():
    m = Month.parse("2026-01", "Europe/Riga")
    assert (m.previous().label, m.next().label) == ("2025-12", "2026-02")
    assert Month(2026, 12).next().label == "2027-01"
    assert m.start == datetime(2026, 1, 1, tzinfo=RIGA) and m.end == datetime(2026, 2, 1, tzinfo=RIGA)
    # 1 December 00:30 in Riga is still 30 November in UTC: the month is Riga's
    assert Month.containing(datetime(2026, 11, 30, 22, 30, tzinfo=UTC), "Europe/Riga").label == "2026-12"
    assert Month.last_complete("Europe/Riga", datetime(2026, 12, 2, tzinfo=UTC)).label == "2026-11"
    assert m.span_text() == "January 2026" and not Month(2999, 1).is_complete()
    for bad in ("2026-13", "2026-00", "26-11", "2026/11", ""):
        with pytest.raises(WeekError):
            Month.parse(bad, "Europe/Riga")


def test_level_days_count_from_the_first_decision_and_split_at_each_change():
    nov = Month(2026, 11)
    decisions = [{"decided_at": datetime(2026, 10, 20, tzinfo=RIGA), "to_level": "medium"},
                 {"decided_at": datetime(2026, 11, 11, tzinfo=RIGA), "to_level": "high"},
                 {"decided_at": datetime(2026, 11, 21, 12, tzinfo=RIGA), "to_level": "medium"}]
    assert level_days(decisions, nov.start, nov.end) == (
        {"low": 0.0, "medium": 10 + 9.5, "high": 10.5, "critical": 0.0}, 2)
    # nothing recorded before 11 November: the first ten days are not counted
    assert level_days(decisions[1:2], nov.start, nov.end) == (
        {"low": 0.0, "medium": 0.0, "high": 20.0, "critical": 0.0}, 1)
    # a month not over yet: up to now
    now = datetime(2026, 11, 15, tzinfo=RIGA)
    assert level_days(decisions[:1], nov.start, now)[0]["medium"] == 14.0
