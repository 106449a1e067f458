"""The small interface every feed format implements (the pygeoapi plugin pattern).

A format module (``ingest/formats/geojson.py``, ``csv_.py``, ``gpx.py``, ``cot.py``,
``ais.py``) defines one :class:`FeedFormat` subclass and registers it with
:func:`register`. Its ``parse`` turns a byte stream into records — the values
below — and :class:`Rejected` for what it cannot read. The pipeline
(``ingest/loading/pipeline.py``) validates every record the same way (coordinates,
region of interest, times), loads the good ones and quarantines the rest.

Parsers stream: they never read a whole file into memory.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, ClassVar

from nsp.errors import NspError

# ----------------------------------------------------------------------- errors


class IngestError(NspError):
    """A whole file could not be ingested. Names the file and the reason."""

    def __init__(self, file: str | None, reason: str):
        self.file = file
        self.reason = reason
        super().__init__(f"{file or '<input>'}: {reason}")


class UnreadableFile(IngestError):
    """Empty, binary, over the size limit, undecodable text, unknown format."""


class UnknownFormat(UnreadableFile):
    pass


class RecordError(ValueError):
    """One record is bad; raised inside parsing or validation, caught into Rejected."""


# Ids (a record's id, uid or `Nr.`, an object id, a unit, an event reference) are keys of
# unique indexes; a btree entry holds at most 2704 bytes. An id longer than this is no
# identifier: the record is quarantined, not stored cut (two cut ids could then collide).
MAX_ID_BYTES = 512


def id_refusal(value, what: str) -> str | None:
    """Why the id ``value`` is refused (longer than MAX_ID_BYTES in UTF-8), or None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) * 4 <= MAX_ID_BYTES:
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= MAX_ID_BYTES:
        return None
    return (f"{what} is {size:,} bytes long; ids of more than {MAX_ID_BYTES} bytes are not stored "
            f"(starts {text[:40]!r}; is the right column mapped to the id?)")


def describe_roi(roi) -> str:
    return f"lon {roi[0]}..{roi[2]}, lat {roi[1]}..{roi[3]} (NSP_GEO_ROI)"


def checked_point(lon, lat, roi, what: str = "") -> tuple[float, float]:
    """Checked (lon, lat) floats within ``roi`` (NSP_GEO_ROI: min lon, min lat, max lon, max lat),
    or RecordError with the reason: the validator's check of every position, and the GPX
    reader's of each track point, which a point it would refuse must not cost its track."""
    prefix = f"{what}: " if what else ""
    if lon is None or lat is None or lon == "" or lat == "":
        raise RecordError(f"{prefix}coordinates are missing")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise RecordError(f"{prefix}coordinates are not numbers: lon={lon!r}, lat={lat!r}") from None
    if isinstance(lon, bool) or isinstance(lat, bool) or not (math.isfinite(x) and math.isfinite(y)):
        raise RecordError(f"{prefix}coordinates are not finite numbers: lon={lon!r}, lat={lat!r}")
    x0, y0, x1, y1 = roi
    if x0 <= x <= x1 and y0 <= y <= y1:
        return x, y
    if x0 <= y <= x1 and y0 <= x <= y1:
        raise RecordError(
            f"{prefix}latitude and longitude appear swapped (lon={x}, lat={y}); swapped, "
            f"the point would lie in the region of interest — check the column or axis order"
        )
    if not (-90 <= y <= 90 and -180 <= x <= 180):
        raise RecordError(f"{prefix}coordinates out of range: lon={x} (-180..180), lat={y} (-90..90)")
    raise RecordError(f"{prefix}position lon={x}, lat={y} is outside the region of interest {describe_roi(roi)}")


# ---------------------------------------------------------------------- records


@dataclass(frozen=True, init=False)
class Location:
    """Where a record was in its file: 'line 12', 'feature 3', 'message 7'."""

    kind: str  # "line", "feature", "message", "track", "waypoint", "row", "file"
    number: int | None = None
    line: int | None = None

    def __init__(self, kind: str, number: int | None = None, line: int | None = None):
        # Frozen: the fields are set once, here, into the instance's dict. The generated
        # __init__ calls object.__setattr__ once per field, and parsers make one Location
        # per record.
        values = self.__dict__
        values["kind"] = kind
        values["number"] = number
        values["line"] = line

    def __str__(self) -> str:
        text = self.kind if self.number is None else f"{self.kind} {self.number}"
        if self.line is not None and self.kind != "line":
            text += f" (line {self.line})"
        return text


@dataclass
class Event:
    """An events-layer record (eurosur.md, 'Events')."""

    source_ref: str | None  # None: the pipeline uses a content hash
    category: str  # unauthorised_border_crossing | cross_border_crime | crisis_situation | other
    occurred_at: datetime  # timezone-aware
    lon: float
    lat: float
    location: Location
    raw: str
    subtype: str | None = None
    reported_at: datetime | None = None
    accuracy_m: float | None = None
    persons: int | None = None
    impact: str = "low"  # low | medium | high | very_high
    source_reliability: str | None = None  # A-F
    credibility: int | None = None  # 1-6
    validation: str = "unvalidated"
    status: str = "open"
    parent_ref: str | None = None  # source_ref of the first report, for follow-ups
    crossing_stage: str | None = None
    crossing_mode: str | None = None
    direction: str | None = None
    detection_method: str | None = None
    transport_means: str | None = None
    evasion_attempt: bool | None = None
    facilitation_link: bool | None = None
    sar_link: bool | None = None
    description: str | None = None
    stale_at: datetime | None = None
    attrs: dict = field(default_factory=dict)


@dataclass
class Position:
    """A position of a tracked object: own asset, vessel, aircraft, ..."""

    object_id: str
    kind: str  # own | vessel | aircraft | vehicle | person | other
    observed_at: datetime
    lon: float
    lat: float
    location: Location
    raw: str
    object_type: str | None = None
    status: str | None = None
    speed_kn: float | None = None
    course_deg: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    stale_at: datetime | None = None
    patrol_ref: str | None = None  # source_ref of the patrol this fix belongs to
    attrs: dict = field(default_factory=dict)


@dataclass
class TrackedObject:
    """Static data about a tracked object (AIS types 5 and 24, CoT contact)."""

    object_id: str
    kind: str
    location: Location
    raw: str
    name: str | None = None
    callsign: str | None = None
    object_type: str | None = None
    mmsi: int | None = None
    imo: int | None = None
    attrs: dict = field(default_factory=dict)


@dataclass
class Observation:
    observed_at: datetime | None
    lon: float
    lat: float
    name: str | None = None
    description: str | None = None
    event_ref: str | None = None  # source_ref of an event (same source) it observed
    attrs: dict = field(default_factory=dict)


@dataclass
class SourceObservation(Observation):
    """An observation linked to no patrol (a GPX waypoint near no track of its file):
    stored as an observation of the delivering source. ``source_ref`` is its content key."""

    location: Location | None = None
    raw: str = ""
    source_ref: str | None = None


@dataclass
class Patrol:
    """A patrol: one GPX track. Its fixes also come as Position records."""

    source_ref: str
    unit: str
    mode: str  # foot | vehicle | boat | aircraft | uav
    started_at: datetime
    ended_at: datetime
    segments: list[list[tuple[float, float]]]  # lon, lat
    location: Location
    raw: str  # a short excerpt: the track's header, not every point
    observations: list[Observation] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)


@dataclass
class Closure:
    """The source ends an item it reported before: a Cursor on Target delete (``t-x-d-d``)
    or cancel (``b-a-o-can``). The stored event of the same source with this ``source_ref``
    is closed, unless a newer message about it came since, with a decision row that gives
    ``reason``. It carries no position: a delete's point is usually 0,0."""

    source_ref: str
    closed_at: datetime  # the message's time
    reason: str  # "deleted by the source (t-x-d-d)"
    location: Location
    raw: str


@dataclass
class Rejected:
    """A record that could not be read. Goes to quarantine with its raw text."""

    location: Location
    raw: str
    reason: str


Record = Event | Position | TrackedObject | Patrol | Closure | SourceObservation | Rejected
# The method that handles each record type, in the validator and in the pipeline's staging.
RECORD_METHODS = {Event: "event", Position: "position", TrackedObject: "tracked_object", Patrol: "patrol",
                  Closure: "closure", SourceObservation: "source_observation"}


def handle(handler, rec):
    """``handler.event(rec)``, ``.position(rec)``, … by the record's type; TypeError for others."""
    name = RECORD_METHODS.get(type(rec))
    if name is None:
        raise TypeError(f"the parser produced an unknown record type {type(rec).__name__}")
    return getattr(handler, name)(rec)


def handlers(handler) -> dict[type, Callable]:
    """``handler``'s bound methods by record type, for a loop that calls them per record; a
    type missing here goes to :func:`handle` (which says what is wrong)."""
    return {cls: getattr(handler, name) for cls, name in RECORD_METHODS.items() if hasattr(handler, name)}


# ---------------------------------------------------------------------- options


@dataclass
class ParseOptions:
    source: str = "manual"
    file_name: str | None = None
    timezone: str = "Europe/Riga"  # for naive times
    unit: str | None = None  # GPX: the unit when the track has no name
    mode: str | None = None  # GPX: patrol mode when the file does not say
    category_map: dict[str, str] = field(default_factory=dict)  # feed value -> category
    column_map: dict[str, str] = field(default_factory=dict)  # CSV: field -> column name
    mapping: object | None = None  # CSV/GeoJSON: an ingest.formats.fields.FieldMapping (kind, defaults, epoch)
    encoding: str | None = None  # None: detect (UTF-8, UTF-8 BOM, UTF-16, cp1257)
    received_at: datetime | None = None  # AIS: when the operator says the log was received (--received-at)
    delivered_at: datetime | None = None  # set by the pipeline: the batch's delivery time


# ----------------------------------------------------------------------- plugins


class FeedFormat(ABC):
    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    media_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: ParseOptions):
        self.options = options

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        """How sure (0-100) this format is that ``head`` (the first KiB) is its own."""

    @abstractmethod
    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        """Yield records in file order; never raise for one bad record."""


_REGISTRY: dict[str, type[FeedFormat]] = {}


def bounded_lines(stream: BinaryIO, max_line: int, what: str,
                  encoding: str = "utf-8") -> Iterator[tuple[Location, bytes] | Rejected]:
    """The lines of a line format, each with its location; a line longer than ``max_line`` bytes
    is read to its end and rejected once ("not <what>"), so that one huge line costs only itself
    and memory stays bounded. Blank lines too: what is blank is the parser's to say (its
    decoding's whitespace)."""
    readline = stream.readline
    line_no = 0
    while True:
        data = readline(max_line)
        if not data:
            return
        line_no += 1
        location = Location("line", line_no, line=line_no)
        if len(data) == max_line and not data.endswith(b"\n"):
            while True:  # an over-long line: consume it, reject it once
                more = readline(max_line)
                if not more or more.endswith(b"\n"):
                    break
            yield Rejected(location, data[:200].decode(encoding, "replace") + "…",
                           f"line longer than {max_line} bytes: not {what}")
            continue
        yield location, data


def text_lines(stream: BinaryIO, max_line: int, what: str, stats: Counter, read, label: str) -> Iterator[Record]:
    """The records of a line format whose lines stand alone: each non-blank line (UTF-8, stripped,
    counted in ``stats["lines"]``) goes to ``read(text, location)``; a line that raises is
    quarantined ("<label> not readable: …") and the lines after it go on."""
    for item in bounded_lines(stream, max_line, what):
        if isinstance(item, Rejected):
            yield item
            continue
        location, data = item
        text = data.decode("utf-8", "replace").strip()
        if not text:
            continue
        stats["lines"] += 1
        try:
            yield from read(text, location)
        except Exception as exc:  # noqa: BLE001 - whatever a line's content causes, only it is quarantined
            yield Rejected(location, text, f"{label} not readable: {exc}")


def line_confidence(hits: int, lines: int, file_name: str | None, extensions: tuple[str, ...]) -> int:
    """A line format's ``sniff`` score from how many of a head's ``lines`` look like its own:
    95 when at least half do, 70 when some do, 30 for its file name alone, else 0."""
    if hits and hits >= lines // 2:
        return 95
    if hits:
        return 70
    if file_name and file_name.lower().endswith(extensions):
        return 30
    return 0


def register(cls: type[FeedFormat]) -> type[FeedFormat]:
    _REGISTRY[cls.name] = cls
    return cls


FORMAT_MODULES = tuple(f"ingest.formats.{name}" for name in
                       ("geojson", "csv_", "gpx", "cot", "ais", "sbs", "adsb_json", "remoteid", "rawmodes"))


def formats() -> dict[str, type[FeedFormat]]:
    import importlib

    for module in FORMAT_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return dict(_REGISTRY)


# ----------------------------------------------------------------------- results

NOTHING_TO_LOAD = "no records in the file"


def skipped_counts(parser: FeedFormat) -> tuple[int, dict[str, int]]:
    """What a parser read and left out on purpose: (total, {reason: count}).

    A parser counts in ``self.stats`` (a Counter): ``stats["skipped"]``, the total, and
    ``stats["skipped <reason>"]`` per reason (``"skipped type 4"``, ``"skipped t-x-c-t"``,
    ``"skipped routes"``). Reasons that do not add up to the total are ``"other"``."""
    stats = getattr(parser, "stats", None) or {}
    reasons = {key[8:]: int(n) for key, n in stats.items()
               if isinstance(key, str) and key.startswith("skipped ") and n}
    total = max(int(stats.get("skipped", 0) or 0), sum(reasons.values()))
    if total > sum(reasons.values()):
        reasons["other"] = total - sum(reasons.values())
    return total, reasons


def skipped_text(reasons: dict[str, int], limit: int = 4) -> str:
    """``type 4: 12, non-AIS sentence: 3, …``: the most frequent reasons for skipping."""
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{reason}: {n:,}" for reason, n in top[:limit])
    return text + (", …" if len(top) > limit else "")


@dataclass
class BatchSummary:
    """What one delivery did. ``--json`` prints exactly these counts."""

    batch_id: int | None
    file: str
    format: str | None
    source: str
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: int = 0  # read and deliberately left out (see skipped_counts)
    reasons: list[str] = field(default_factory=list)  # the first few, "line 12: reason"
    skipped_reasons: dict[str, int] = field(default_factory=dict)  # {"type 4": 12, ...}
    status: str = "done"  # done | failed
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. "times assumed: …" (AIS without times)
    crossings: int = 0  # border-crossing events the batch's tracks made (ingest/loading/crossings.py)
