"""Durations as operators write and read them: ``30m``, ``24h``, ``7d``, ``1h30m``.

    parse_duration("1h30m")            -> timedelta(hours=1, minutes=30)
    duration_text(timedelta(hours=26)) -> "26 h"
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or a sum such as ``1h30m``; ValueError otherwise."""
    compact = re.sub(r"\s+", "", text or "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: use 30m, 24h, 7d or a sum such as 1h30m")
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())


def duration_text(value: timedelta) -> str:
    """A duration in the largest whole units, at most two: ``5 min``, ``1 h 30 min``, ``26 h``, ``7 d``."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return f"{int(value.total_seconds())} s"
    if minutes < 60:
        return f"{minutes} min"
    if minutes % 1440 == 0 and minutes >= 2 * 1440:
        return f"{minutes // 1440} d"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" + (f" {rest} min" if rest else "")
    days, rest = divmod(minutes, 1440)
    return f"{days} d {rest // 60} h" if rest // 60 else f"{days} d"
