"""The Monday schedule: registered with procrastinate, with the right cron, in the centre's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from procrastinate.periodic import PeriodicDeferrer, PeriodicRegistry

import geo.snapshot.tasks as tasks
from nsp.queue import app

RIGA = ZoneInfo("Europe/Riga")


def _registered():
    return app.periodic_registry.periodic_tasks[("geo.snapshot.tasks.weekly_snapshot", "weekly-snapshot")]


def test_weekly_snapshot_is_a_periodic_task_with_the_monday_cron():
    pt = _registered()
    assert pt.cron == "0 6 * * 1"
    assert pt.task is tasks.weekly_snapshot
    assert pt.task.queue == "export"
    assert pt.timezone == "Europe/Riga"
    assert "geo.snapshot.tasks" in app.import_paths


def _next_run(after: dt.datetime) -> dt.datetime:
    """When procrastinate's own deferrer would next defer the job."""
    registry = PeriodicRegistry()  # only this task, so that the next tick is its own
    registry.periodic_tasks[("geo.snapshot.tasks.weekly_snapshot", "weekly-snapshot")] = _registered()
    at = after.timestamp()
    deferrer = PeriodicDeferrer(registry=registry)
    return dt.datetime.fromtimestamp(at + deferrer.get_next_tick(at), dt.UTC)


def test_fires_monday_0600_riga_time_in_winter_and_summer():
    winter = _next_run(dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC))
    assert winter == dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)  # UTC+2
    summer = _next_run(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC))
    assert summer == dt.datetime(2026, 7, 6, 3, 0, tzinfo=dt.UTC)  # UTC+3
    for t in (winter, summer):
        local = t.astimezone(RIGA)
        assert (local.isoweekday(), local.hour, local.minute) == (1, 6, 0)


def test_deferrer_sees_the_due_timestamp_right_after_six():
    monday_0601 = dt.datetime(2026, 11, 23, 6, 1, tzinfo=RIGA)
    deferrer = PeriodicDeferrer(registry=app.periodic_registry)
    stamps = list(deferrer.get_timestamps(_registered(), since=None, until=monday_0601.timestamp()))
    assert stamps == [int(dt.datetime(2026, 11, 23, 6, 0, tzinfo=RIGA).timestamp())]
