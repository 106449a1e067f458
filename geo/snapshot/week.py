"""ISO weeks in the centre's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nsp.errors import NspError

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
# Month names for span_text, January first; a page in another language passes its own.
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
MONTH_ABBREVIATIONS = tuple(name[:3] for name in MONTH_NAMES)


class WeekError(NspError):
    """A week that cannot be read, or a time zone that does not exist."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WeekError(f"unknown time zone {name!r} (NSP_EXPORT_TIMEZONE)") from exc


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    tz: str = "Europe/Riga"

    def __post_init__(self):
        try:
            date.fromisocalendar(self.year, self.number, 1)
        except ValueError as exc:
            raise WeekError(f"{self.year}-W{self.number:02d} is not an ISO week") from exc

    @classmethod
    def parse(cls, text: str, tz: str) -> Week:
        m = _WEEK.match(text.strip())
        if not m:
            raise WeekError(f"week {text!r}: expected an ISO week like 2026-W47")
        return cls(int(m.group(1)), int(m.group(2)), tz)

    @classmethod
    def containing(cls, moment: datetime, tz: str) -> Week:
        local = moment.astimezone(zone(tz))
        iso = local.isocalendar()
        return cls(iso.year, iso.week, tz)

    @classmethod
    def last_complete(cls, tz: str, now: datetime | None = None) -> Week:
        now = now or datetime.now(zone(tz))
        return cls.containing(now - timedelta(days=7), tz)

    @classmethod
    def current(cls, tz: str, now: datetime | None = None) -> Week:
        return cls.containing(now or datetime.now(zone(tz)), tz)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def day(self, i: int) -> date:
        return date.fromisocalendar(self.year, self.number, 1) + timedelta(days=i)

    @property
    def start(self) -> datetime:
        """Monday 00:00 local time (aware)."""
        d = self.day(0)
        return datetime(d.year, d.month, d.day, tzinfo=zone(self.tz))

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 local time: the week is [start, end)."""
        d = self.day(7)
        return datetime(d.year, d.month, d.day, tzinfo=zone(self.tz))

    def previous(self) -> Week:
        return Week.containing(self.start - timedelta(days=3), self.tz)

    def is_complete(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(zone(self.tz))) >= self.end

    def span_text(self, abbreviations: tuple[str, ...] = MONTH_ABBREVIATIONS) -> str:
        """``23 Nov – 29 Nov 2026`` (the month names given, January first)."""
        a, b = self.day(0), self.day(6)
        return (f"{a.day:02d} {abbreviations[a.month - 1]} – "
                f"{b.day:02d} {abbreviations[b.month - 1]} {b.year}")


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Month:
    """A calendar month in the centre's time zone: [first day 00:00, next first day 00:00)."""

    year: int
    month: int
    tz: str = "Europe/Riga"

    def __post_init__(self):
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9998:
            raise WeekError(f"{self.year}-{self.month:02d} is not a month")

    @classmethod
    def parse(cls, text: str, tz: str) -> Month:
        m = _MONTH.match((text or "").strip())
        if not m:
            raise WeekError(f"month {text!r}: expected a month like 2026-11")
        return cls(int(m.group(1)), int(m.group(2)), tz)

    @classmethod
    def containing(cls, moment: datetime, tz: str) -> Month:
        local = moment.astimezone(zone(tz))
        return cls(local.year, local.month, tz)

    @classmethod
    def last_complete(cls, tz: str, now: datetime | None = None) -> Month:
        return cls.containing(now or datetime.now(zone(tz)), tz).previous()

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone(self.tz))

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1, self.tz)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1, self.tz)

    def is_complete(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(zone(self.tz))) >= self.end

    def span_text(self, names: tuple[str, ...] = MONTH_NAMES) -> str:
        """``November 2026`` (the month names given, January first)."""
        return f"{names[self.month - 1]} {self.year}"
