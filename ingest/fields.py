"""Feed values to event fields: the shared property / column mapping of GeoJSON and CSV.

A GeoJSON property or CSV column is recognised under any name in :data:`ALIASES`
(English and Latvian; compared case-insensitively, accents kept, separators folded to
``_``). Whatever is not recognised stays in the event's ``attrs``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ingest.base import Event, Location, RecordError
from ingest.settings import fold

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
DIRECTIONS = {"iebraukšana": "entry", "ieceļošana": "entry", "iecelosana": "entry", "in": "entry",
              "izbraukšana": "exit", "izceļošana": "exit", "izcelosana": "exit", "out": "exit",
              "nezināms": "unknown", "nezinams": "unknown"}
_TRUE = {"true", "yes", "y", "1", "jā", "ja", "t", "x"}
_FALSE = {"false", "no", "n", "0", "nē", "ne", "f", ""}
_DAY_FIRST = re.compile(
    r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\.?(?:[ T,]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6}))?)?)?\s*$"
)
_UNITS = re.compile(r"_*[(\[].*?[)\]]_*|_*,.*$")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*$")


def resolve(names, column_map: dict[str, str] | None = None) -> dict[str, str]:
    """{event field: original name} for the recognised names; a mapping wins over aliases."""
    found: dict[str, str] = {}
    if column_map:
        wanted = {v: k for k, v in column_map.items()}
        for n in names:
            if n in wanted:
                found[wanted[n]] = n
    for n in names:
        key = fold(str(n))
        field = LOOKUP.get(key) or LOOKUP.get(_UNITS.sub("", key).strip("_"))
        if field and field not in found and n not in found.values():
            found[field] = n
    return found


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
    if num != num or num != int(num):
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


def parse_time(value, what: str = "time") -> datetime | None:
    """ISO 8601, day-first (22.11.2026 14:05, 22/11/2026) or Unix seconds; naive stays naive."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(secs, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"{what} is not a valid Unix time: {value!r}") from None
    text = str(value).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
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
    return day + timedelta(hours=h, minutes=mi, seconds=s)


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
) -> Event:
    """An :class:`Event` from a record's named values (GeoJSON properties, CSV row)."""
    got = {}
    for name, col in fields.items():
        v = values.get(col)
        if isinstance(v, str):
            v = v.strip()
            if not v:
                continue
        if v is not None:
            got[name] = v
    occurred = got.get("occurred_at")
    date = got.get("date")
    if date is not None and (occurred is None or (isinstance(occurred, str) and _CLOCK.match(occurred))):
        occurred_at = combine_date_clock(date, occurred if occurred is not None else got.get("clock"), "date")
    else:
        occurred_at = parse_time(occurred, "event time")
    if occurred_at is None:
        raise RecordError("event time is missing (a time, date or laiks/datums column or property)")
    ref = source_ref if source_ref not in (None, "") else got.get("source_ref")
    kwargs = {}
    for name in got.keys() & _CONVERT.keys():
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


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)
