"""An event's time as the pages write it: the date whenever it is not today's (UTC)."""

from datetime import UTC, datetime, timedelta, timezone

from dashboard.components.times import clock_time, event_time, short_time

NOW = datetime(2026, 12, 2, 8, 57, tzinfo=UTC)


def test_today_is_the_clock_alone_and_an_earlier_day_carries_its_date():
    assert event_time("2026-12-02T06:10:00Z", NOW) == "06:10 UTC"
    # two days old at 08:57: "09:59 UTC" alone would read as an hour ahead
    assert event_time("2026-11-30T09:59:39Z", NOW) == "11-30 09:59 UTC"
    assert event_time("2026-12-01T23:59:00Z", NOW) == "12-01 23:59 UTC"


def test_today_is_the_utc_date_whatever_the_zone_of_now():
    riga = timezone(timedelta(hours=2))  # 01:30 in Riga on the 3rd is still the 2nd in UTC
    assert event_time("2026-12-02T20:00:00Z", datetime(2026, 12, 3, 1, 30, tzinfo=riga)) == "20:00 UTC"


def test_short_time():
    assert short_time("2026-11-22T01:55:31Z") == "11-22 01:55"
    assert short_time(None) == "–"


def test_clock_time_is_event_time_without_the_zone_for_columns_headed_utc():
    assert clock_time("2026-12-02T06:10:00Z", NOW) == "06:10"
    # a unit's last report yesterday afternoon: "14:31" alone would read as later today
    assert clock_time("2026-12-01T14:31:00Z", NOW) == "12-01 14:31"
    assert clock_time(None, NOW) == "–"
