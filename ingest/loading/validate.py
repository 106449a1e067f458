"""Central validation of every parsed record, whatever its format.

Parsers turn bytes into records; this module decides whether a record may enter the
picture. A bad record becomes :class:`~ingest.formats.base.Rejected` with a reason a person
can act on ("latitude and longitude appear swapped", "time is 3.0 h in the future
(limit: NSP_INGEST_MAX_FUTURE_MINUTES=60)"). Values that the database would refuse
(CHECK constraints, NUL characters, lone surrogates) are caught here, so one bad
record never fails a whole batch.
"""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime
from itertools import repeat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from ingest.formats.base import (
    Closure,
    Event,
    IngestError,
    Location,
    ParseOptions,
    Patrol,
    Position,
    RecordError,
    Rejected,
    TrackedObject,
    checked_point,
    handle,
    handlers,
    id_refusal,
)
from ingest.settings import IngestSettings, TimeWindow, fold, ingest_settings
from nsp.settings import GeoSettings, geo_settings
from nsp.vocab import CATEGORIES, IMPACTS

# What a feed may write for an impact (folded), beside the codes themselves.
IMPACT_ALIASES = {i: i for i in IMPACTS} | {
    "veryhigh": "very_high", "critical": "very_high",
    "zems": "low", "vidējs": "medium", "videjs": "medium", "augsts": "high",
    "ļoti_augsts": "very_high", "loti_augsts": "very_high",
    "1": "low", "2": "medium", "3": "high", "4": "very_high",
}
OBJECT_KINDS = ("own", "vessel", "aircraft", "uav", "vehicle", "person", "other")
PATROL_MODES = ("foot", "vehicle", "boat", "aircraft", "uav")
EVENT_CHOICES = {
    "validation": ("unvalidated", "validated", "rejected"),
    "status": ("open", "closed"),
    "crossing_stage": ("attempted", "actual"),
    "crossing_mode": ("overt", "clandestine"),
    "direction": ("entry", "exit", "unknown"),
    "detection_method": ("bcp_check", "border_surveillance", "other"),
}
MAX_PERSONS = 1_000_000
_NESTED = (dict, list, tuple)  # attrs values that are walked for their depth
# Extra properties (``attrs``) nested deeper than this are refused: orjson, which writes them
# for jsonb, stops at 255 levels with attrs itself and its writer's own level.
MAX_ATTRS_DEPTH = 253
_TEXT_FIELDS = {
    cls: tuple(f.name for f in fields(cls) if f.type in ("str", "str | None"))
    for cls in (Event, Position, TrackedObject, Patrol, Closure)
}


# ----------------------------------------------------------------- text hygiene


def clean_text(value: str) -> str:
    """Text PostgreSQL accepts: no NUL characters, no lone surrogates."""
    if value.isascii():
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean_json(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def attrs_json(attrs: dict) -> str:
    """``attrs`` as JSON text that jsonb accepts (no \\u0000, no lone surrogates)."""
    if not attrs:
        return "{}"
    try:
        out = orjson.dumps(attrs, default=str)
    except (TypeError, orjson.JSONEncodeError):
        out = None
    if out is None or b"\\u0000" in out:
        out = orjson.dumps(_clean_json(attrs), default=str)
    return out.decode()


# ----------------------------------------------------------------- the validator


class Validator:
    """Checks records against the settings in force when the batch started."""

    def __init__(
        self,
        options: ParseOptions | None = None,
        settings: IngestSettings | None = None,
        geo: GeoSettings | None = None,
        now: datetime | None = None,
    ):
        s = settings or ingest_settings()
        g = geo or geo_settings()
        self.options = options or ParseOptions()
        self.roi = tuple(float(v) for v in g.roi)
        self.window = TimeWindow.of(s, now)
        self.category_map = s.full_category_map()
        self.category_map.update({fold(k): v for k, v in self.options.category_map.items()})
        self._methods = handlers(self)
        zone = self.options.timezone or s.timezone or g.timezone
        try:
            self.tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise IngestError(None, f"unknown time zone {zone!r} (NSP_INGEST_TIMEZONE / --timezone)") from None

    # ------------------------------------------------------------- pieces

    def point(self, lon, lat, what: str = "") -> tuple[float, float]:
        """Checked (lon, lat) floats, or RecordError with the reason."""
        if lon.__class__ is float and lat.__class__ is float:  # the common case, decided at once
            x0, y0, x1, y1 = self.roi
            if x0 <= lon <= x1 and y0 <= lat <= y1:  # NaN and infinity fail: checked below
                return lon, lat
        return checked_point(lon, lat, self.roi, what)

    def time(self, value, what: str = "time", required: bool = True) -> datetime | None:
        if value is None:
            if required:
                raise RecordError(f"{what} is missing")
            return None
        if not isinstance(value, datetime):
            raise RecordError(f"{what} is not a time: {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        reason = self.window.refusal(value, what)
        if reason:
            raise RecordError(reason)
        return value

    def category(self, value) -> tuple[str, str | None]:
        """(category, subtype implied by the feed's term or None)."""
        if value is None or str(value).strip() == "":
            raise RecordError("category is missing")
        key = fold(str(value))
        if key in CATEGORIES:
            return key, None
        mapped = self.category_map.get(key)
        if mapped is None:
            raise RecordError(
                f"unknown category {value!r}: use one of {', '.join(CATEGORIES)} "
                "or map it with NSP_INGEST_CATEGORY_MAP"
            )
        if mapped not in CATEGORIES:
            raise RecordError(f"category map sends {value!r} to {mapped!r}, which is not a category")
        return mapped, (None if key == mapped else str(value).strip())

    @staticmethod
    def _number(value, what: str, lo: float, hi: float, integer: bool = False):
        if value.__class__ is float and not integer and lo <= value <= hi:  # NaN and infinity fail
            return value
        if value is None or value == "":
            return None
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise RecordError(f"{what} is not a number: {value!r}") from None
        if not math.isfinite(num) or not lo <= num <= hi:
            raise RecordError(f"{what} {value!r} is out of range {lo:g}..{hi:g}")
        if integer:
            if num != int(num):
                raise RecordError(f"{what} must be a whole number: {value!r}")
            return int(num)
        return num

    @staticmethod
    def _id(value, what: str) -> None:
        """RecordError when the id ``value`` is longer than MAX_ID_BYTES in UTF-8."""
        reason = id_refusal(value, what)
        if reason:
            raise RecordError(reason)

    @staticmethod
    def _attrs(attrs, what: str = "property") -> None:
        """RecordError when a value of ``attrs`` is nested deeper than MAX_ATTRS_DEPTH."""
        if not attrs or not isinstance(attrs, dict):
            return
        if True not in map(isinstance, attrs.values(), repeat(_NESTED)):  # flat: nothing to walk
            return
        for key, value in attrs.items():
            if not isinstance(value, (dict, list, tuple)):
                continue
            stack = [(value, 1)]
            while stack:
                node, depth = stack.pop()
                if depth > MAX_ATTRS_DEPTH:
                    raise RecordError(f"{what} {str(key)[:60]!r} is nested more than {MAX_ATTRS_DEPTH} levels deep")
                children = node.values() if isinstance(node, dict) else node
                stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, tuple)))

    def _texts(self, rec) -> None:
        """Text fields PostgreSQL accepts, and ``attrs`` it can store."""
        self._attrs(getattr(rec, "attrs", None))
        values = rec.__dict__
        for name in _TEXT_FIELDS[type(rec)]:
            value = values[name]
            if value is not None:
                if value.__class__ is str and value.isascii() and "\x00" not in value:
                    continue  # clean_text would return it as it is
                original = value
                if value.__class__ is not str:
                    value = str(value)
                cleaned = clean_text(value)
                if cleaned is not original:
                    values[name] = cleaned

    # ------------------------------------------------------------- records

    def check(self, rec):
        """The record, normalised, or a :class:`Rejected` saying why not."""
        if isinstance(rec, Rejected):
            raw, reason = rec.raw or "", rec.reason or "unreadable record"
            rec.raw = clean_text(raw if isinstance(raw, str) else str(raw))
            rec.reason = clean_text(reason if isinstance(reason, str) else str(reason))
            return rec
        try:
            method = self._methods.get(rec.__class__)
            return method(rec) if method is not None else handle(self, rec)
        except RecordError as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - whatever one record's values cause stays with it
            reason = f"invalid record: {type(exc).__name__}: {exc}"
        location = getattr(rec, "location", None)
        if not isinstance(location, Location):
            location = Location("record")
        return Rejected(location, clean_text(str(getattr(rec, "raw", "") or "")), clean_text(reason))

    def event(self, e: Event) -> Event:
        self._id(e.source_ref, "id")
        self._id(e.parent_ref, "parent id (follow-up of)")
        e.lon, e.lat = self.point(e.lon, e.lat)
        e.occurred_at = self.time(e.occurred_at, "event time")
        e.reported_at = self.time(e.reported_at, "report time", required=False)
        e.stale_at = self._stale(e.stale_at)
        e.category, implied = self.category(e.category)
        if e.subtype is None and implied is not None:
            e.subtype = implied
        impact = IMPACT_ALIASES.get(fold(str(e.impact))) if e.impact is not None else "low"
        if impact is None:
            raise RecordError(f"unknown impact {e.impact!r}: use low, medium, high or very_high")
        e.impact = impact
        e.persons = self._number(e.persons, "persons", 0, MAX_PERSONS, integer=True)
        e.accuracy_m = self._number(e.accuracy_m, "accuracy", 0, 1e7)
        e.credibility = self._number(e.credibility, "credibility", 1, 6, integer=True)
        if e.source_reliability is not None:
            rel = str(e.source_reliability).strip().upper()
            if rel == "":
                rel = None
            elif rel not in ("A", "B", "C", "D", "E", "F"):
                raise RecordError(f"source reliability {e.source_reliability!r} is not one of A-F")
            e.source_reliability = rel
        for name, allowed in EVENT_CHOICES.items():
            value = getattr(e, name)
            if value is None or value in allowed:
                continue
            norm = fold(str(value))
            if norm not in allowed:
                raise RecordError(f"{name.replace('_', ' ')} {value!r} is not one of {', '.join(allowed)}")
            setattr(e, name, norm)
        for name in ("evasion_attempt", "facilitation_link", "sar_link"):
            value = getattr(e, name)
            if value is not None and not isinstance(value, bool):
                raise RecordError(f"{name.replace('_', ' ')} must be true or false, not {value!r}")
        self._texts(e)
        return e

    def closure(self, c: Closure) -> Closure:
        """A delete or cancel: the item it ends, and when (no position: it has none)."""
        if not c.source_ref or not str(c.source_ref).strip():
            raise RecordError("a delete or cancel that names no item")
        c.closed_at = self.time(c.closed_at, "time")
        self._texts(c)
        return c

    def _stale(self, value) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise RecordError(f"stale time is not a time: {value!r}")
        return value.replace(tzinfo=self.tz) if value.tzinfo is None else value

    @staticmethod
    def _identity(rec, what: str) -> None:
        if not rec.object_id or not str(rec.object_id).strip():
            raise RecordError(f"{what} without an object id")
        Validator._id(rec.object_id, "object id")
        if rec.kind not in OBJECT_KINDS:
            raise RecordError(f"object kind {rec.kind!r} is not one of {', '.join(OBJECT_KINDS)}")

    def position(self, p: Position) -> Position:
        self._identity(p, "position")
        if p.patrol_ref is not None:
            self._id(p.patrol_ref, "patrol id")
        p.lon, p.lat = self.point(p.lon, p.lat)
        p.observed_at = self.time(p.observed_at, "fix time")
        # The common values (none, a float or a whole number in range) decided here, as
        # _number decides them; anything else goes through it for its reason.
        value = p.speed_kn
        if value is not None and not (value.__class__ is float and 0 <= value <= 2000):
            p.speed_kn = self._number(value, "speed", 0, 2000)
        value = p.course_deg
        if value is not None and not (value.__class__ is float and 0 <= value <= 360):
            p.course_deg = self._number(value, "course", 0, 360)
        value = p.heading_deg
        if value.__class__ is int and 0 <= value <= 360:  # AIS headings are whole degrees
            p.heading_deg = float(value)
        elif value is not None and not (value.__class__ is float and 0 <= value <= 360):
            p.heading_deg = self._number(value, "heading", 0, 360)
        value = p.accuracy_m
        if value is not None and not (value.__class__ is float and 0 <= value <= 1e7):
            p.accuracy_m = self._number(value, "accuracy", 0, 1e7)
        if p.stale_at is not None:
            p.stale_at = self._stale(p.stale_at)
        self._texts(p)
        return p

    def tracked_object(self, o: TrackedObject) -> TrackedObject:
        self._identity(o, "static data")
        o.mmsi = self._number(o.mmsi, "MMSI", 0, 999_999_999, integer=True)
        o.imo = self._number(o.imo, "IMO number", 0, 9_999_999_999, integer=True)
        self._texts(o)
        return o

    def patrol(self, p: Patrol) -> Patrol:
        if not p.source_ref or not str(p.source_ref).strip():
            raise RecordError("patrol without an identifier (source_ref)")
        if not p.unit or not str(p.unit).strip():
            raise RecordError("patrol without a unit: name the track or pass --unit")
        self._id(p.unit, "unit (track name)")
        self._id(p.source_ref, "patrol id")
        if p.mode not in PATROL_MODES:
            raise RecordError(f"patrol mode {p.mode!r} is not one of {', '.join(PATROL_MODES)}")
        p.started_at = self.time(p.started_at, "patrol start")
        p.ended_at = self.time(p.ended_at, "patrol end")
        if p.ended_at < p.started_at:
            raise RecordError("patrol ends before it starts")
        segments = []
        for i, seg in enumerate(p.segments, 1):
            pts = [self.point(x, y, f"segment {i} point {j}") for j, (x, y) in enumerate(seg, 1)]
            if len(pts) >= 2:
                segments.append(pts)
        if not segments:
            raise RecordError("patrol track has no segment with two or more points")
        p.segments = segments
        for k, ob in enumerate(p.observations, 1):
            self._id(ob.event_ref, f"observation {k} event reference")
            ob.lon, ob.lat = self.point(ob.lon, ob.lat, f"observation {k}")
            ob.observed_at = self.time(ob.observed_at, f"observation {k} time", required=False)
            self._attrs(ob.attrs, f"observation {k} property")
            for name in ("name", "description", "event_ref"):
                if getattr(ob, name) is not None:
                    setattr(ob, name, clean_text(str(getattr(ob, name))))
        self._texts(p)
        return p
