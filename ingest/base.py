"""The small interface every feed format implements (the pygeoapi plugin pattern).

A format module (``ingest/geojson.py``, ``csv_.py``, ``gpx.py``, ``cot.py``,
``ais.py``) defines one :class:`FeedFormat` subclass and registers it with
:func:`register`. Its ``parse`` turns a byte stream into records — the values
below — and :class:`Rejected` for what it cannot read. The pipeline
(``ingest/pipeline.py``) validates every record the same way (coordinates,
region of interest, times), loads the good ones and quarantines the rest.

Parsers stream: they never read a whole file into memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
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


# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class Location:
    """Where a record was in its file: 'line 12', 'feature 3', 'message 7'."""

    kind: str  # "line", "feature", "message", "track", "waypoint", "row", "file"
    number: int | None = None
    line: int | None = None

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
class Rejected:
    """A record that could not be read. Goes to quarantine with its raw text."""

    location: Location
    raw: str
    reason: str


Record = Event | Position | TrackedObject | Patrol | Rejected


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
    encoding: str | None = None  # None: detect (UTF-8, UTF-8 BOM, UTF-16, cp1257)


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


def register(cls: type[FeedFormat]) -> type[FeedFormat]:
    _REGISTRY[cls.name] = cls
    return cls


FORMAT_MODULES = ("ingest.geojson", "ingest.csv_", "ingest.gpx", "ingest.cot", "ingest.ais")


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
    reasons: list[str] = field(default_factory=list)  # the first few, "line 12: reason"
    status: str = "done"  # done | failed
    error: str | None = None
