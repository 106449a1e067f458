"""How the pages write an event's time: short, in UTC, with the date whenever it is not today's.

    short_time("2026-11-22T01:55:31Z")                      -> "11-22 01:55"
    clock_time("2026-12-02T06:10:00Z", now=2026-12-02 09:00) -> "06:10"
    event_time("2026-12-02T06:10:00Z", now=2026-12-02 09:00) -> "06:10 UTC"
    event_time("2026-11-30T09:59:39Z", now=2026-12-02 09:00) -> "11-30 09:59 UTC"

A report can arrive days after the event (a board's late report, a history loaded at once): a
banner saying "09:59 UTC" at 08:57 would read as a time in the future, or as this morning.
"""

from __future__ import annotations

from datetime import UTC, datetime


def short_time(iso: str | None) -> str:
    """``2026-11-22T01:55:31Z`` → ``11-22 01:55``; ``–`` for none."""
    return f"{iso[5:10]} {iso[11:16]}" if iso else "–"


def clock_time(iso: str | None, now: datetime) -> str:
    """``HH:MM`` for a time on ``now``'s UTC date, else ``MM-DD HH:MM``; ``–`` for none. For
    a column whose heading already says UTC."""
    if not iso:
        return "–"
    return iso[11:16] if iso[:10] == now.astimezone(UTC).strftime("%Y-%m-%d") else short_time(iso)


def event_time(iso: str, now: datetime) -> str:
    """``HH:MM UTC`` for a time on ``now``'s UTC date, else ``MM-DD HH:MM UTC``."""
    return f"{clock_time(iso, now)} UTC"
