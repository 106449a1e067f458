"""Queue tasks of the export: the dashboard's job, the Monday schedule and the monthly one.

The schedule is a procrastinate periodic task with the cron expression of
``NSP_EXPORT_SCHEDULE`` (default ``0 6 * * 1``: Monday 06:00) in the centre's time
zone (``NSP_EXPORT_TIMEZONE``). procrastinate 3.x evaluates cron expressions in UTC
(its croniter gets bare timestamps); :func:`_zoned` swaps the registered entry for
one whose croniter carries the centre's zone, so the export runs at 06:00 Riga time
in winter (04:00 UTC) and in summer (03:00 UTC) alike. The monthly indicators of the last
complete month follow ``NSP_EXPORT_MONTHLY_SCHEDULE`` (default ``0 6 2 * *``: the 2nd, 06:00),
in good time for the 15th.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from pathlib import Path

import attr
import croniter
from procrastinate import periodic

from geo.snapshot import bundle, indicators
from geo.snapshot.export import export_weekly
from geo.snapshot.settings import export_settings
from geo.snapshot.week import Month, Week, zone
from nsp.access import Scope
from nsp.queue import app

log = logging.getLogger(__name__)

QUEUE = "export"
PERIODIC_ID = "weekly-snapshot"
MONTHLY_ID = "monthly-indicators"
SCHEDULER = Scope(user="scheduler", role="system")


@attr.dataclass(frozen=True)
class ZonedPeriodicTask(periodic.PeriodicTask):
    """A periodic task whose cron expression is read in a given time zone."""

    timezone: str = "UTC"

    @functools.cached_property
    def croniter(self) -> croniter.croniter:
        return croniter.croniter(self.cron, dt.datetime.now(zone(self.timezone)))


def _zoned(task, periodic_id: str, tz: str) -> None:
    registry = app.periodic_registry.periodic_tasks
    key = (task.name, periodic_id)
    pt = registry[key]
    registry[key] = ZonedPeriodicTask(task=pt.task, cron=pt.cron, periodic_id=pt.periodic_id,
                                      configure_kwargs=pt.configure_kwargs, timezone=tz)


@app.task(name="geo.snapshot.tasks.export_week_job", queue=QUEUE)
def export_week_job(week: str, out_dir: str, user: str, role: str, scope_sections: list[str] | None = None,
                    sections: list[str] | None = None) -> dict:
    """The dashboard's "Export week": the same export as the CLI, under the requesting user's scope."""
    s = export_settings()
    scope = Scope(user=user, role=role, sections=tuple(scope_sections) if scope_sections else None)
    result = export_weekly(Week.parse(week, s.timezone), Path(out_dir), scope, sections, settings=s, via="dashboard")
    log.info("export done", extra={"action": "export", "week": week, "user": user, "folder": str(result.folder)})
    return {"folder": str(result.folder), "zip": str(result.zip_path), "counts": result.counts}


@app.periodic(cron=export_settings().schedule, periodic_id=PERIODIC_ID)
@app.task(name="geo.snapshot.tasks.weekly_snapshot", queue=QUEUE, queueing_lock="weekly_snapshot")
def weekly_snapshot(timestamp: int) -> dict:
    """Monday 06:00 centre time: last week's snapshot into NSP_EXPORT_OUT_DIR, keeping the newest N."""
    s = export_settings()
    week = Week.last_complete(s.timezone, now=dt.datetime.fromtimestamp(timestamp, zone(s.timezone)))
    result = export_weekly(week, s.out_dir, SCHEDULER, settings=s, via="schedule")
    removed = bundle.prune(s.out_dir, s.keep)
    log.info("scheduled export done", extra={"action": "export", "week": week.label, "removed": removed})
    return {"folder": str(result.folder), "zip": str(result.zip_path), "counts": result.counts, "removed": removed}


_zoned(weekly_snapshot, PERIODIC_ID, export_settings().timezone)


@app.periodic(cron=export_settings().monthly_schedule, periodic_id=MONTHLY_ID)
@app.task(name="geo.snapshot.tasks.monthly_indicators", queue=QUEUE, queueing_lock="monthly_indicators")
def monthly_indicators(timestamp: int) -> dict:
    """The 2nd of the month, 06:00 centre time: the last complete month's indicators (all
    sections) into NSP_EXPORT_OUT_DIR, keeping the newest NSP_EXPORT_KEEP."""
    s = export_settings()
    month = Month.last_complete(s.timezone, now=dt.datetime.fromtimestamp(timestamp, zone(s.timezone)))
    folder, zip_path, manifest = indicators.export_monthly(month, s.out_dir, SCHEDULER, via="schedule")
    removed = bundle.prune(s.out_dir, s.keep, prefix=indicators.PREFIX)
    log.info("scheduled indicators done", extra={"action": "export", "month": month.label, "removed": removed})
    return {"folder": str(folder), "zip": str(zip_path), "counts": manifest["counts"], "removed": removed}


_zoned(monthly_indicators, MONTHLY_ID, export_settings().timezone)
