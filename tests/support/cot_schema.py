"""The Cursor on Target event schema's structure rules (MIL-STD-2525 CoT ``Event.xsd``, as
ATAK reads it), checked on one message: what a TAK client needs before it draws anything."""

from __future__ import annotations

import re
from datetime import datetime

from defusedxml.ElementTree import fromstring

# xs:dateTime in UTC with a Z, as CoT writes it (fractions optional)
COT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
# type: atoms of letters/digits separated by '-', e.g. a-h-G-E-V, u-d-f, t-x-d-d
COT_TYPE = re.compile(r"^[a-z](-[A-Za-z0-9]+)*$")
# how: h-e, h-g-i-g-o, m-g, ...
COT_HOW = re.compile(r"^[a-z](-[a-z0-9]+)*$")


def check_event(message: bytes) -> list[str]:
    """The rules ``message`` breaks (empty: it follows the schema's structure)."""
    root = fromstring(message)
    bad = []
    if root.tag != "event":
        return [f"root is <{root.tag}>, not <event>"]
    if root.get("version") != "2.0":
        bad.append(f"version {root.get('version')!r} is not 2.0")
    for attr in ("uid", "type", "time", "start", "stale", "how"):
        if not root.get(attr):
            bad.append(f"<event> has no {attr}")
    if root.get("type") and not COT_TYPE.match(root.get("type")):
        bad.append(f"type {root.get('type')!r} is not CoT atoms")
    if root.get("how") and not COT_HOW.match(root.get("how")):
        bad.append(f"how {root.get('how')!r} is not a CoT how")
    times = {}
    for attr in ("time", "start", "stale"):
        value = root.get(attr) or ""
        if not COT_TIME.match(value):
            bad.append(f"{attr} {value!r} is not an ISO 8601 UTC time with Z")
        else:
            times[attr] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if len(times) == 3 and not times["start"] <= times["stale"]:
        bad.append("stale is before start")
    points = root.findall("point")
    if len(points) != 1:
        bad.append(f"{len(points)} <point> elements, not 1")
    for point in points:
        for attr, low, high in (("lat", -90, 90), ("lon", -180, 180), ("hae", None, None), ("ce", 0, None),
                                ("le", 0, None)):
            try:
                value = float(point.get(attr))
            except (TypeError, ValueError):
                bad.append(f"<point> {attr} {point.get(attr)!r} is not a number")
                continue
            if (low is not None and value < low) or (high is not None and value > high):
                bad.append(f"<point> {attr} {value} is out of range")
    details = root.findall("detail")
    if len(details) > 1:
        bad.append(f"{len(details)} <detail> elements, at most 1")
    unknown = [child.tag for child in root if child.tag not in ("point", "detail")]
    if unknown:
        bad.append(f"unexpected children of <event>: {unknown}")
    return bad
