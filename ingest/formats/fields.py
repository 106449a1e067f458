"""Feed values to records: the shared property / column mapping of GeoJSON and CSV.

A GeoJSON property or CSV column is recognised under any name in :data:`ALIASES` (events)
or :data:`POSITION_ALIASES` (positions, ``kind = "positions"`` in a mapping file);
English and Latvian, compared case-insensitively, accents kept, separators folded to
``_``. Whatever is not recognised stays in the record's ``attrs``. A mapping file
(:func:`read_mapping`) names columns, ignores recognised ones, gives constant values
and says how numeric times count (:class:`FieldMapping`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.formats.base import MAX_ID_BYTES, Event, Location, Position, RecordError
from ingest.settings import fold

# What a record's content can make the conversion of one record raise (besides
# RecordError): bad values (ValueError, UnicodeError), odd types (TypeError, AttributeError,
# LookupError), overflows (ArithmeticError) and nesting (RecursionError). Parsers catch
# these at the record and quarantine it; the records beside it load.
RECORD_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, RecursionError)
# The JSON encoder of attrs (orjson) stops at 255 levels of nesting.
MAX_NESTING = 254

# event field -> names it is recognised under (folded with ingest.settings.fold)
ALIASES: dict[str, tuple[str, ...]] = {
    "source_ref": ("source_ref", "id", "ref", "nr", "nr_", "no", "no_", "event_id", "reference",
                   "numurs", "ieraksta_nr", "incident_id", "uid"),
    "category": ("category", "kategorija", "cat", "event_type", "type", "veids", "notikuma_veids"),
    "subtype": ("subtype", "apakstips", "apakštips", "apakškategorija", "apakskategorija", "kind"),
    "occurred_at": ("occurred_at", "time", "datetime", "date_time", "timestamp", "when", "event_time",
                    "observed_at", "laiks", "datums_laiks", "datums_un_laiks", "notikuma_laiks"),
    "date": ("date", "datums", "day", "diena"),
    "clock": ("clock", "time_of_day", "hour", "pulksten", "stunda"),
    "reported_at": ("reported_at", "report_time", "reported", "ziņots", "zinots", "ziņošanas_laiks",
                    "zinosanas_laiks"),
    "lat": ("lat", "latitude", "y", "platums", "lat_dd", "wgs84_lat", "ziemeļu_platums"),
    "lon": ("lon", "lng", "long", "longitude", "x", "garums", "lon_dd", "wgs84_lon",
            "austrumu_garums"),
    "accuracy_m": ("accuracy_m", "accuracy", "precision_m", "precizitāte", "precizitate"),
    "persons": ("persons", "people", "number_of_persons", "persons_count", "count", "personas",
                "personu_skaits", "skaits", "cilvēki", "cilveki"),
    "impact": ("impact", "impact_level", "severity", "ietekme", "ietekmes_līmenis", "ietekmes_limenis"),
    "source_reliability": ("source_reliability", "reliability", "avota_uzticamība", "avota_uzticamiba"),
    "credibility": ("credibility", "ticamība", "ticamiba"),
    "validation": ("validation", "validācija", "validacija"),
    "status": ("status", "statuss"),
    "parent_ref": ("parent_ref", "parent", "follow_up_of", "first_report", "saistītais_nr", "saistitais_nr"),
    "crossing_stage": ("crossing_stage", "stage", "stadija"),
    "crossing_mode": ("crossing_mode", "mode", "veids_šķērsošanai"),
    "direction": ("direction", "virziens"),
    "detection_method": ("detection_method", "detected_by", "atklāšanas_veids", "atklasanas_veids"),
    "transport_means": ("transport_means", "transport", "transportlīdzeklis", "transportlidzeklis"),
    "evasion_attempt": ("evasion_attempt", "evasion", "izvairīšanās", "izvairisanas"),
    "facilitation_link": ("facilitation_link", "facilitation", "smuggler", "pavadonis"),
    "sar_link": ("sar_link", "sar", "search_and_rescue"),
    "description": ("description", "desc", "comment", "comments", "remarks", "notes", "text",
                    "apraksts", "piezīmes", "piezimes", "komentārs", "komentars"),
    "stale_at": ("stale_at", "stale", "valid_until", "derīgs_līdz"),
}
LOOKUP: dict[str, str] = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
# position field -> names it is recognised under (kind = "positions": a GPS log, a tracker feed)
POSITION_ALIASES: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "object_id", "device", "device_id", "tracker", "callsign", "call_sign", "vienība",
             "vieniba"),
    "object_kind": ("object_kind",),
    "observed_at": ALIASES["occurred_at"] + ("fix_time", "gps_time", "timestamp_ms", "time_ms",
                                             "unix_time", "epoch"),
    "date": ALIASES["date"],
    "clock": ALIASES["clock"],
    "lat": ALIASES["lat"],
    "lon": ALIASES["lon"],
    "speed_kn": ("speed_kn", "speed_knots", "knots", "sog"),
    "speed_ms": ("speed", "speed_ms", "speed_m_s", "velocity", "ātrums", "atrums"),
    "course_deg": ("course", "course_deg", "bearing", "cog", "kurss"),
    "heading_deg": ("heading", "heading_deg", "true_heading"),
    "accuracy_m": ALIASES["accuracy_m"],
    "status": ALIASES["status"],
    "stale_at": ALIASES["stale_at"],
}
POSITION_LOOKUP: dict[str, str] = {a: name for name, aliases in POSITION_ALIASES.items() for a in aliases}
OBJECT_KINDS = ("own", "vessel", "aircraft", "uav", "vehicle", "person", "other")
EPOCH_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_MS_TO_KN = 1.0 / 0.514444
DIRECTIONS = {"iebraukšana": "entry", "ieceļošana": "entry", "iecelosana": "entry", "in": "entry",
              "izbraukšana": "exit", "izceļošana": "exit", "izcelosana": "exit", "out": "exit",
              "nezināms": "unknown", "nezinams": "unknown"}
_TRUE = {"true", "yes", "y", "1", "jā", "ja", "t", "x"}
_FALSE = {"false", "no", "n", "0", "nē", "ne", "f", ""}
_DAY_FIRST = re.compile(
    r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\.?(?:[ T,]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6}))?)?)?\s*$"
)
_OPENING = re.compile(r"[(\[,]")
_EPOCH = re.compile(r"^-?(\d+)(?:\.\d+)?$")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*$")


@dataclass(frozen=True)
class FieldMapping:
    """What a mapping file says (``nsp ingest --mapping``): see :func:`read_mapping`."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> column; "" ignores the field
    defaults: dict[str, object] = field(default_factory=dict)  # field -> constant value
    kind: str = "events"  # or "positions"
    epoch: str | None = None  # numeric times: s, ms, us, ns; None: told apart by magnitude

    @property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        return POSITION_ALIASES if self.kind == "positions" else ALIASES


def mapping_of(options) -> FieldMapping:
    """The mapping of a parse: ``options.mapping``, else one of ``options.column_map``."""
    mapping = getattr(options, "mapping", None)
    return mapping if isinstance(mapping, FieldMapping) else FieldMapping(columns=dict(options.column_map or {}))


def read_mapping(path: Path) -> FieldMapping:
    """A mapping file, JSON or TOML; ValueError says what is wrong with it.

    ``kind`` (``events`` or ``positions``) and ``epoch`` (``s``, ``ms``, ``us``, ``ns``) at
    the top; field -> column name under ``columns`` (or at the top level), a field mapped
    to ``""`` takes no column (a recognised column of that name stays in attrs); field ->
    constant value under ``defaults``, used where a record has no value of its own.
    """
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".toml":
        import tomllib

        data = tomllib.loads(text)
    else:
        import json

        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected an object of event field -> column name")
    data = dict(data)
    kind = data.pop("kind", "events")
    epoch = data.pop("epoch", None)
    defaults = data.pop("defaults", {})
    columns = data.pop("columns") if isinstance(data.get("columns"), dict) else data
    if columns is not data and data:
        raise ValueError(f"unknown top-level keys {', '.join(sorted(data))}: use kind, epoch, "
                         "[columns] and [defaults]")
    if kind not in ("events", "positions"):
        raise ValueError(f"kind {kind!r} is neither 'events' nor 'positions'")
    if epoch is not None and epoch not in EPOCH_UNITS:
        raise ValueError(f"epoch {epoch!r} is not one of {', '.join(EPOCH_UNITS)}")
    if not all(isinstance(v, str) for v in columns.values()):
        raise ValueError("expected an object of event field -> column name")
    if not isinstance(defaults, dict) or not all(isinstance(v, (str, int, float, bool)) for v in defaults.values()):
        raise ValueError("[defaults] must map fields to text, numbers or true/false")
    known = POSITION_ALIASES if kind == "positions" else ALIASES
    what = "position" if kind == "positions" else "event"
    unknown = sorted((set(columns) | set(defaults)) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} fields {', '.join(unknown)}; known: {', '.join(known)}")
    return FieldMapping(columns=columns, defaults=defaults, kind=kind, epoch=epoch)


def resolve(names, column_map: dict[str, str] | None = None,
            aliases: dict[str, tuple[str, ...]] = ALIASES) -> dict[str, str]:
    """{field: original name} for the recognised names; a mapping wins over aliases, and a
    field it maps to "" takes no column."""
    found: dict[str, str] = {}
    ignored: set[str] = set()
    if column_map:
        wanted = {v: k for k, v in column_map.items() if v != ""}
        ignored = {k for k, v in column_map.items() if v == ""}
        for n in names:
            if n in wanted:
                found[wanted[n]] = n
    lookup = POSITION_LOOKUP if aliases is POSITION_ALIASES else LOOKUP
    for n in names:
        key = fold(str(n))
        name = lookup.get(key) or lookup.get(strip_units(key))
        if name and name not in found and name not in ignored and n not in found.values():
            found[name] = n
    return found


def strip_units(key: str) -> str:
    """A folded name without its unit suffix: ``lat_(wgs84)`` -> ``lat``, ``x,_m`` -> ``x``.

    Removes each bracketed part (``(...)`` or ``[...]``, up to the first closing bracket)
    with the underscores around it, and everything from a comma on. Time linear in the
    name's length: a header is untrusted text (a regex with overlapping quantifiers took
    15 s for one 50 KB name).
    """
    if "(" not in key and "[" not in key and "," not in key:
        return key.strip("_")
    out: list[str] = []
    pos = i = 0
    n = len(key)
    nxt = {")": -1, "]": -1}  # the next closing bracket of each kind at or after i (n: none)
    while True:
        m = _OPENING.search(key, i)
        if m is None:
            break
        i = m.start()
        if m.group() == ",":
            out.append(key[pos:i].rstrip("_"))
            pos = n
            break
        for c in nxt:
            if nxt[c] < i:
                found = key.find(c, i)
                nxt[c] = n if found < 0 else found
        end = min(nxt.values())
        if end == n:  # no closing bracket is left: only a comma can still cut
            comma = key.find(",", i)
            if comma >= 0:
                out.append(key[pos:comma].rstrip("_"))
                pos = n
            break
        out.append(key[pos:i].rstrip("_"))
        i = end + 1
        while i < n and key[i] == "_":
            i += 1
        pos = i
    out.append(key[pos:])
    return "".join(out).strip("_")


# ------------------------------------------------------------------ conversions


def to_float(value, what: str) -> float | None:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, bool):
        raise RecordError(f"{what} is not a number: {value!r}")
    if isinstance(value, int):
        return float(value)
    text = str(value).strip().replace("\u2212", "-")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma
    try:
        return float(text)
    except ValueError:
        raise RecordError(f"{what} is not a number: {value!r}") from None


def to_int(value, what: str) -> int | None:
    num = to_float(value, what)
    if num is None:
        return None
    if not math.isfinite(num):
        raise RecordError(f"{what} is not a finite number: {value!r}")
    if num != int(num):
        raise RecordError(f"{what} must be a whole number: {value!r}")
    return int(num)


def to_bool(value, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise RecordError(f"{what} must be yes or no, not {value!r}")


def epoch_time(value: float, what: str = "time", unit: str | None = None) -> datetime:
    """A Unix time in seconds, milliseconds, micro- or nanoseconds: ``unit``, or told apart
    by magnitude (under 1e11 seconds, i.e. before the year 5138; under 1e14 milliseconds;
    under 1e17 microseconds; else nanoseconds)."""
    if unit is None:
        size = abs(value)
        unit = "s" if size < 1e11 else "ms" if size < 1e14 else "us" if size < 1e17 else "ns"
    try:
        return datetime.fromtimestamp(value / EPOCH_UNITS[unit], UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"{what} is not a valid Unix time: {value!r}") from None


def parse_time(value, what: str = "time", epoch: str | None = None) -> datetime | None:
    """ISO 8601, day-first (22.11.2026 14:05, 22/11/2026) or a Unix time (a number, or a
    text of 9 or more digits; any number when ``epoch`` names the unit); naive stays naive."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch_time(value, what, epoch)
    text = str(value).strip()
    if not text:
        return None
    if epoch is not None and _EPOCH.match(text):  # the mapping says numbers are Unix times
        return epoch_time(float(text), what, epoch)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    m = _EPOCH.match(text)
    if m and len(m.group(1)) >= 9:
        return epoch_time(float(text), what, epoch)
    m = _DAY_FIRST.match(text)
    if m:
        d, mo, y, h, mi, s, frac = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                            int((frac or "0").ljust(6, "0")))
        except ValueError:
            pass
    raise RecordError(
        f"{what} {text!r} is not a time I can read: use ISO 8601 (2026-11-22T14:05:00+02:00) "
        "or day first (22.11.2026 14:05)"
    )


def combine_date_clock(date_value, clock_value, what: str) -> datetime | None:
    day = parse_time(date_value, what)
    if day is None or clock_value in (None, ""):
        return day
    m = _CLOCK.match(str(clock_value))
    if not m:
        raise RecordError(f"time of day {clock_value!r} is not HH:MM")
    h, mi, s = (int(g or 0) for g in m.groups())
    if h > 23 or mi > 59 or s > 59:
        raise RecordError(f"time of day {clock_value!r} is out of range")
    try:
        return day + timedelta(hours=h, minutes=mi, seconds=s)
    except OverflowError:
        raise RecordError(f"{what} {date_value!r} at {clock_value!r} is past the year 9999") from None


# ---------------------------------------------------------------- the mapping


def _direction(value, what):
    return DIRECTIONS.get(value.lower(), value) if isinstance(value, str) else value


def _same(value, what):
    return value


# optional event field -> converter(value, what)
_CONVERT = {
    "subtype": lambda v, w: _text(v), "reported_at": parse_time, "accuracy_m": to_float,
    "persons": to_int, "impact": _same, "source_reliability": lambda v, w: _text(v),
    "credibility": to_int, "validation": _same, "status": _same,
    "parent_ref": lambda v, w: _text(v), "crossing_stage": _same, "crossing_mode": _same,
    "direction": _direction, "detection_method": _same,
    "transport_means": lambda v, w: _text(v), "evasion_attempt": to_bool,
    "facilitation_link": to_bool, "sar_link": to_bool,
    "description": lambda v, w: _text(v), "stale_at": parse_time,
}
_LABEL = {name: name.replace("_", " ").replace(" m", "") for name in _CONVERT}


def event_from_values(
    values: dict,
    fields: dict[str, str],
    *,
    lon,
    lat,
    location: Location,
    raw: str,
    source_ref=None,
    attrs: dict | None = None,
    defaults: dict | None = None,
    epoch: str | None = None,
) -> Event:
    """An :class:`Event` from a record's named values (GeoJSON properties, CSV row)."""
    got = _values(values, fields, defaults)
    occurred_at = _when(got, "occurred_at", "event time", epoch)
    if occurred_at is None:
        raise RecordError("event time is missing (a time, date or laiks/datums column or property)")
    ref = source_ref if source_ref not in (None, "") else got.get("source_ref")
    for what, value in (("id", ref), ("parent ref", got.get("parent_ref"))):
        if value is not None and len(str(value).encode("utf-8", "replace")) > MAX_ID_BYTES:
            raise RecordError(f"{what} is longer than {MAX_ID_BYTES} bytes "
                              f"({len(str(value).encode('utf-8', 'replace')):,}): not an identifier")
    kwargs = {}
    for name in got.keys() & _CONVERT.keys():
        if name in ("reported_at", "stale_at"):
            kwargs[name] = parse_time(got[name], _LABEL[name], epoch)
        else:
            kwargs[name] = _CONVERT[name](got[name], _LABEL[name])
    return Event(
        source_ref=None if ref is None else str(ref),
        category=got.get("category"),
        occurred_at=occurred_at,
        lon=to_float(lon, "longitude"),
        lat=to_float(lat, "latitude"),
        location=location,
        raw=raw,
        attrs=attrs if attrs is not None else {},
        **kwargs,
    )


def _values(values: dict, fields: dict[str, str], defaults: dict | None) -> dict:
    """{field: value} of a record: its non-empty mapped values, then the defaults."""
    got = {}
    for name, col in fields.items():
        v = values.get(col)
        if isinstance(v, str):
            v = v.strip()
            if not v:
                continue
        if v is not None:
            got[name] = v
    if defaults:
        for name, v in defaults.items():
            got.setdefault(name, v)
    return got


def _when(got: dict, name: str, what: str, epoch: str | None) -> datetime | None:
    """The record's time: one column, or a date column with a time-of-day column."""
    occurred = got.get(name)
    date = got.get("date")
    if date is not None and (occurred is None or (isinstance(occurred, str) and _CLOCK.match(occurred))):
        return combine_date_clock(date, occurred if occurred is not None else got.get("clock"), "date")
    return parse_time(occurred, what, epoch)


def position_from_values(
    values: dict,
    fields: dict[str, str],
    *,
    lon,
    lat,
    location: Location,
    raw: str,
    attrs: dict | None = None,
    defaults: dict | None = None,
    epoch: str | None = None,
) -> Position:
    """A :class:`Position` of a tracked object from a record's named values (a row of a
    phone's GPS log, a tracker's feature): ``kind = "positions"`` in the mapping file."""
    got = _values(values, fields, defaults)
    unit = got.get("unit")
    if unit is None or str(unit).strip() == "":
        raise RecordError("position without a unit: map a column to unit or set [defaults] unit")
    observed_at = _when(got, "observed_at", "fix time", epoch)
    if observed_at is None:
        raise RecordError("fix time is missing (a time, timestamp or date column or property)")
    kind = str(got.get("object_kind", "own")).strip().lower()
    if kind not in OBJECT_KINDS:
        raise RecordError(f"object kind {kind!r} is not one of {', '.join(OBJECT_KINDS)}")
    speed = to_float(got.get("speed_kn"), "speed")
    if speed is None:
        speed_ms = to_float(got.get("speed_ms"), "speed")
        speed = None if speed_ms is None else round(speed_ms * _MS_TO_KN, 2)
    return Position(
        object_id=str(unit).strip()[:200], kind=kind, observed_at=observed_at,
        lon=to_float(lon, "longitude"), lat=to_float(lat, "latitude"), location=location, raw=raw,
        status=_text(got.get("status")), speed_kn=speed,
        course_deg=to_float(got.get("course_deg"), "course"),
        heading_deg=to_float(got.get("heading_deg"), "heading"),
        accuracy_m=to_float(got.get("accuracy_m"), "accuracy"),
        stale_at=parse_time(got.get("stale_at"), "stale time", epoch),
        attrs=attrs if attrs is not None else {},
    )


def record_from_values(values: dict, fields: dict[str, str], mapping: FieldMapping | None, *, lon, lat,
                       location: Location, raw: str, source_ref=None, attrs: dict | None = None):
    """An event, or a position when the mapping says ``kind = "positions"``."""
    if mapping is None:
        return event_from_values(values, fields, lon=lon, lat=lat, location=location, raw=raw,
                                 source_ref=source_ref, attrs=attrs)
    if mapping.kind == "positions":
        return position_from_values(values, fields, lon=lon, lat=lat, location=location, raw=raw,
                                    attrs=attrs, defaults=mapping.defaults, epoch=mapping.epoch)
    return event_from_values(values, fields, lon=lon, lat=lat, location=location, raw=raw,
                             source_ref=source_ref, attrs=attrs, defaults=mapping.defaults,
                             epoch=mapping.epoch)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)

