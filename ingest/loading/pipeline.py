"""The ingest pipeline: bytes in, validated rows in PostGIS, bad records in quarantine.

    summary = ingest_file("reports.geojson", source="vp-daugavpils")
    summary = ingest_stream(body, name="upload.csv", source="api:rs-latgale")

One call is one **batch**:

1. the input is checked and decoded (:mod:`ingest.formats.sniff`: size limit, empty, binary,
   UTF-8 / UTF-16 / cp1257) and its format chosen by sniffing (or ``fmt``);
2. the parser streams records; every record goes through the central validator
   (:mod:`ingest.loading.validate`); good records are buffered per kind and COPYed (binary,
   geometry as EWKB with SRID) into TEMP staging tables in chunks, bad ones are
   COPYed into ``quarantine`` with their place in the file, raw text and reason;
3. set-based merges (``sql/queries/ingest.sql``) move staging into the live tables with
   dedupe on (source, source_ref) and section assignment by ``nsp_locate``;
4. webhook alerts for the new events that a subscription asks for are queued
   (:mod:`ingest.delivery.alerts`, the outbox);
5. the batch row gets its counts and status ``done`` — all in ONE transaction. A
   crash or error leaves nothing of the batch but its ``ingest_batch`` row, marked
   ``failed`` (or left ``running`` if the process died); a retry loads everything.

Records without an id get a deterministic content hash as ``source_ref``, so the same
report delivered twice is stored once.
"""

from __future__ import annotations

import hashlib
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO

import orjson
import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.types.string import BytesBinaryDumper

from ingest.delivery.alerts import has_subscriptions, queue_alerts
from ingest.formats.base import (
    NOTHING_TO_LOAD,
    BatchSummary,
    Closure,
    Event,
    IngestError,
    Location,
    ParseOptions,
    Patrol,
    Position,
    RecordError,
    Rejected,
    SourceObservation,
    TrackedObject,
    UnreadableFile,
    handle,
    handlers,
    skipped_counts,
)
from ingest.formats.sniff import choose_format, prepare
from ingest.loading import crossings
from ingest.loading.validate import Validator, attrs_json, clean_text
from ingest.settings import IngestSettings, ingest_settings
from nsp import db
from nsp.access import SYSTEM, apply_scope
from nsp.queries import queries
from nsp.settings import geo_settings

MAX_RAW = 64 * 1024
_EWKB_POINT = struct.Struct("<BIIdd")
_POINT_HEADER = (1, 0x20000001, 4326)  # little-endian, Point with SRID, 4326

EVENT_COLUMNS = (
    "source_ref", "category", "subtype", "occurred_at", "reported_at", "geom", "accuracy_m",
    "persons", "impact", "source_reliability", "credibility", "validation", "status", "parent_ref",
    "crossing_stage", "crossing_mode", "direction", "detection_method", "transport_means",
    "evasion_attempt", "facilitation_link", "sar_link", "description", "stale_at", "attrs", "version",
)
EVENT_TYPES = (
    "text", "text", "text", "timestamptz", "timestamptz", "bytea", "float8", "int4", "text", "text",
    "int4", "text", "text", "text", "text", "text", "text", "text", "text", "bool", "bool", "bool",
    "text", "timestamptz", "text", "timestamptz",
)
POSITION_COLUMNS = (
    "object_id", "kind", "object_type", "status", "observed_at", "geom", "speed_kn", "course_deg",
    "heading_deg", "accuracy_m", "stale_at", "patrol_ref", "attrs",
)
POSITION_TYPES = (
    "text", "text", "text", "text", "timestamptz", "bytea", "float8", "float8", "float8", "float8",
    "timestamptz", "text", "text",
)
OBJECT_COLUMNS = ("seq", "object_id", "kind", "name", "callsign", "object_type", "mmsi", "imo", "attrs")
OBJECT_TYPES = ("int8", "text", "text", "text", "text", "text", "int8", "int8", "text")
PATROL_COLUMNS = ("source_ref", "unit", "mode", "started_at", "ended_at", "track", "attrs")
PATROL_TYPES = ("text", "text", "text", "timestamptz", "timestamptz", "bytea", "text")
OBSERVATION_COLUMNS = ("patrol_ref", "observed_at", "geom", "name", "description", "event_ref", "attrs",
                       "source_ref")
OBSERVATION_TYPES = ("text", "timestamptz", "bytea", "text", "text", "text", "text", "text")
CLOSURE_COLUMNS = ("source_ref", "closed_at", "reason")
CLOSURE_TYPES = ("text", "timestamptz", "text")
QUARANTINE_COLUMNS = ("location", "line_no", "record_no", "raw", "reason")
QUARANTINE_TYPES = ("text", "int4", "int4", "text", "text")
# staging table -> (columns, types) of its binary COPY
STAGING_TABLES = {
    "stage_event": (EVENT_COLUMNS, EVENT_TYPES),
    "stage_position": (POSITION_COLUMNS, POSITION_TYPES),
    "stage_object": (OBJECT_COLUMNS, OBJECT_TYPES),
    "stage_patrol": (PATROL_COLUMNS, PATROL_TYPES),
    "stage_observation": (OBSERVATION_COLUMNS, OBSERVATION_TYPES),
    "stage_quarantine": (QUARANTINE_COLUMNS, QUARANTINE_TYPES),
    "stage_parent": (("source_ref", "parent_ref"), ("text", "text")),
    "stage_closure": (CLOSURE_COLUMNS, CLOSURE_TYPES),
}


class LoadFailed(IngestError):
    """The batch could not be stored; nothing of it was kept.

    ``content`` is True when the database refused a value the batch carried (SQLSTATE
    classes 22 data exception, 23 integrity constraint, 54 program limit: sending the same
    body again cannot succeed), False when the database failed (unreachable, restarted,
    out of space: a retry may)."""

    content: bool = False


CONTENT_SQLSTATE_CLASSES = ("22", "23", "54")


# ------------------------------------------------------------------ geometry


def ewkb_point(lon: float, lat: float) -> bytes:
    return _EWKB_POINT.pack(1, 0x20000001, 4326, lon, lat)


def ewkb_multilinestring(segments: list[list[tuple[float, float]]]) -> bytes:
    parts = [struct.pack("<BIII", 1, 0x20000005, 4326, len(segments))]
    for seg in segments:
        parts.append(struct.pack("<BII", 1, 2, len(seg)))
        parts.append(struct.pack(f"<{2 * len(seg)}d", *(c for pt in seg for c in pt)))
    return b"".join(parts)


def staging_dumpers(adapters: AdaptersMap) -> AdaptersMap:
    """``adapters`` with psycopg's own bytes dumper for ``bytea`` by oid, as the staging COPY
    writes geometries (EWKB bytes) after ``set_types``. psycopg's default there is the DB-API
    ``Binary`` wrapper's dumper, a Python method per value that unwraps a ``Binary`` the
    staging rows never hold; the bytes dumper is C code with the same output for bytes."""
    adapters.register_dumper(None, BytesBinaryDumper)
    return adapters


# ------------------------------------------------------------------ identity


def content_ref(e: Event) -> str:
    """A deterministic source_ref for a record without an id: the hash of what it says."""
    key = "|".join(
        str(v)
        for v in (
            e.category, e.subtype, e.occurred_at.astimezone(UTC).isoformat(),
            f"{e.lon:.6f}", f"{e.lat:.6f}", e.persons, e.description,
        )
    )
    return "sha1:" + hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()


def _version(e: Event) -> datetime | None:
    """The version time of an updating record (attrs["cot_time"]), normalised to UTC ISO."""
    value = e.attrs.get("cot_time") if e.attrs else None
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    e.attrs["cot_time"] = value.astimezone(UTC).isoformat()
    return value


# ------------------------------------------------------------------ the batch


class Staging:
    """Turns validated records into the rows of the staging tables (``STAGING_TABLES``)
    and hands each row to :meth:`_put`; counts them. No database: :class:`_Batch` COPYs
    the rows, a test can write them into a COPY buffer of its own."""

    def __init__(self, max_reasons: int):
        self.max_reasons = max_reasons
        self.records = 0
        self.quarantined = 0
        self.reasons: list[str] = []
        self.counts = {"event": 0, "position": 0, "object": 0, "patrol": 0, "observation": 0, "closure": 0}
        self.has_parents = False
        self.has_versions = False
        self.has_reopens = False  # an event raised again may reopen a closed one (attrs.reopen_reason)
        self.positions_wait = False  # positions refer to a patrol: merge them after patrols
        # AIS positions whose times were assumed from the delivery time: merged at the end,
        # read again against first_reference when this same file was delivered before
        # (_time_reference).
        self.assumed_times = False
        self.first_reference = None
        self._seq = 0
        self._methods = handlers(self)

    def _put(self, table: str, row: tuple) -> None:
        raise NotImplementedError

    # ---- records

    def add(self, rec) -> None:
        """Stage one validated record, or quarantine it. Whatever its values make the
        encoding raise stays with that record; only the database (``_put``) fails a batch."""
        self.records += 1
        if isinstance(rec, Rejected):
            self.reject(rec)
            return
        try:
            method = self._methods.get(rec.__class__)
            rows = method(rec) if method is not None else handle(self, rec)
        except Exception as exc:  # noqa: BLE001 - one record's values, not the batch's
            self.reject(unstorable(rec, exc))
            return
        put = self._put
        for table, row in rows:
            put(table, row)

    def reject(self, r: Rejected) -> None:
        self.quarantined += 1
        loc = r.location if isinstance(r.location, Location) else Location("file" if r.location is None else "record")
        where = str(loc)
        if len(self.reasons) < self.max_reasons:
            self.reasons.append(f"{where}: {r.reason}")
        raw = r.raw if len(r.raw) <= MAX_RAW else r.raw[:MAX_RAW] + "\n[… truncated]"
        line_no = loc.number if loc.kind == "line" else loc.line
        record_no = None if loc.kind == "line" else loc.number
        self._put("stage_quarantine", (where, _int32(line_no), _int32(record_no), raw, r.reason))

    # Each record type's staging rows. Counts and flags change only once the rows are made.

    def event(self, e: Event) -> list[tuple[str, tuple]]:
        version = _version(e)
        ref = e.source_ref if e.source_ref else content_ref(e)
        rows = [("stage_event", (
            ref, e.category, e.subtype, e.occurred_at, e.reported_at, ewkb_point(e.lon, e.lat),
            e.accuracy_m, e.persons, e.impact, e.source_reliability, e.credibility, e.validation,
            e.status, e.parent_ref, e.crossing_stage, e.crossing_mode, e.direction,
            e.detection_method, e.transport_means, e.evasion_attempt, e.facilitation_link,
            e.sar_link, e.description, e.stale_at, attrs_json(e.attrs), version,
        ))]
        self.counts["event"] += 1
        if version is not None:
            self.has_versions = True
            if "reopen_reason" in e.attrs:
                self.has_reopens = True
        if e.parent_ref:
            self.has_parents = True
            rows.insert(0, ("stage_parent", (ref, e.parent_ref)))
        return rows

    def position(self, p: Position) -> list[tuple[str, tuple]]:
        attrs = p.attrs
        row = (
            p.object_id, p.kind, p.object_type, p.status, p.observed_at,
            _EWKB_POINT.pack(1, 0x20000001, 4326, p.lon, p.lat),  # ewkb_point, inline: once per fix
            p.speed_kn, p.course_deg, p.heading_deg, p.accuracy_m, p.stale_at, p.patrol_ref,
            attrs_json(attrs),
        )
        self.counts["position"] += 1
        if p.patrol_ref:
            self.positions_wait = True
        if attrs and attrs.get("time_source") == "received":
            self.positions_wait = self.assumed_times = True
        return [("stage_position", row)]

    def tracked_object(self, o: TrackedObject) -> list[tuple[str, tuple]]:
        row = (self._seq + 1, o.object_id, o.kind, o.name, o.callsign, o.object_type, o.mmsi, o.imo,
               attrs_json(o.attrs))
        self._seq += 1
        self.counts["object"] += 1
        return [("stage_object", row)]

    def patrol(self, p: Patrol) -> list[tuple[str, tuple]]:
        rows = [("stage_patrol", (
            p.source_ref, p.unit, p.mode, p.started_at, p.ended_at,
            ewkb_multilinestring(p.segments), attrs_json(p.attrs),
        ))]
        rows.extend(_observation_row(p.source_ref, ob) for ob in p.observations)
        self.counts["patrol"] += 1
        return rows

    def source_observation(self, ob: SourceObservation) -> list[tuple[str, tuple]]:
        """An observation linked to no patrol of its file (a GPX waypoint)."""
        row = _observation_row(None, ob)
        self.counts["observation"] += 1
        return [row]

    def closure(self, c: Closure) -> list[tuple[str, tuple]]:
        row = ("stage_closure", (c.source_ref, c.closed_at, c.reason))
        self.counts["closure"] += 1
        return [row]


def _observation_row(patrol_ref: str | None, ob) -> tuple[str, tuple]:
    return ("stage_observation", (
        patrol_ref, ob.observed_at, ewkb_point(ob.lon, ob.lat), ob.name, ob.description,
        ob.event_ref, attrs_json(ob.attrs), getattr(ob, "source_ref", None),
    ))


class _Batch(Staging):
    """Buffers rows per staging table and COPYs them in chunks on one connection."""

    def __init__(self, conn: psycopg.Connection, batch_id: int, source: str, file_name: str,
                 fmt: str, settings: IngestSettings):
        super().__init__(settings.max_reasons)
        self.conn = conn
        self.batch_id = batch_id
        self.source = source
        self.file_name = file_name
        self.format = fmt
        self.chunk = max(100, settings.chunk_rows)
        # GPX waypoints near no track of their file: how near a stored patrol must be
        self.link_m = settings.waypoint_link_km * 1000.0
        self.link_window = timedelta(minutes=settings.waypoint_link_minutes)
        self.accepted = 0
        # Border crossings in the tracks, decided by the database after each position merge.
        crossing = crossings.crossing_settings()
        self.crossing_config = crossing.config() if crossing.enabled else None
        self.crossings = 0
        # ms and seq0 make the time-ordered event ids (sql/queries/ingest.sql).
        self.params = {"source": source, "batch_id": batch_id, "file_name": file_name, "format": fmt,
                       "ms": int(time.time() * 1000), "seq0": 0}
        self._locked = False
        self._alerting: bool | None = None  # an alert subscription is active (asked once)
        self._buffers: dict[str, list] = {
            "stage_event": [], "stage_position": [], "stage_object": [], "stage_patrol": [],
            "stage_observation": [], "stage_quarantine": [], "stage_parent": [], "stage_closure": [],
        }
        # The first chunk of a table that merges as it goes is small, so that the
        # database starts working while the parser is still on the first rows.
        self._chunks = {"stage_position": max(100, settings.position_chunk_rows)}  # others: self.chunk
        self._limits = {t: max(100, self._chunks.get(t, self.chunk) // 10) for t in ("stage_event", "stage_position")}
        self._specs = STAGING_TABLES
        conn.execute("SET LOCAL jit = off")  # compiling the merges costs more than it saves
        # A chunk's sort and the event_cell_day trigger's transition table stay in memory.
        conn.execute("SET LOCAL work_mem = '64MB'")
        self.writer = _Writer()

    # ---- buffering and staging
    #
    # Rows are buffered per staging table; a full buffer is handed to the writer thread,
    # which COPYs it and, for events (and positions not waiting for their patrol),
    # merges the chunk at once, while this thread parses on. Postgres works while
    # Python parses. Everything stays in the batch's one transaction.

    def _put(self, table: str, row: tuple) -> None:
        buf = self._buffers[table]
        buf.append(row)
        if len(buf) >= self._limits.get(table, self.chunk):
            self._buffers[table] = []
            self._limits[table] = self._chunks.get(table, self.chunk)
            self.writer.submit(partial(self._stage, table, buf))

    def _copy(self, table: str, rows: list) -> None:
        columns, types = self._specs[table]
        stmt = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self.conn.cursor() as cur:
            staging_dumpers(cur.adapters)
            with cur.copy(stmt) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)

    def _stage(self, table: str, rows: list) -> None:
        if rows:
            self._copy(table, rows)
        if table == "stage_event":
            self._merge_events()
            self.params["seq0"] += len(rows)
        elif table == "stage_position" and not self.positions_wait:
            self._merge_positions()

    def _lock(self) -> None:
        if not self._locked:
            self.conn.execute(queries["ingest_merge_lock"], self.params)
            self._locked = True

    def _merge_events(self) -> None:
        conn = self.conn
        self._lock()
        # A guard: without statistics (a fresh or fast-growing event table) the planner once
        # rescanned a materialised copy of the source's stored events for every staged row
        # (34 s for one 20,000-row chunk, with the anti-join this merge had then). Only for
        # the event merges: the position merge is 15 % slower without Materialize.
        conn.execute("SET LOCAL enable_material = off")
        self.accepted += conn.execute(queries["ingest_merge_events"], self.params).rowcount
        if self.has_versions:
            if self.has_reopens:  # before the merge reopens them: the decision rows that say so
                conn.execute(queries["ingest_reopen_decisions"], self.params)
            if self.alerting():  # what the updated events were, so a raised one alerts
                conn.execute(queries["ingest_prior_impacts"], self.params)
            self.accepted += conn.execute(queries["ingest_merge_events_versioned"], self.params).rowcount
        conn.execute("SET LOCAL enable_material TO DEFAULT")
        conn.execute("TRUNCATE stage_event")

    def alerting(self) -> bool:
        if self._alerting is None:
            self._alerting = has_subscriptions(self.conn)
        return self._alerting

    def _merge_positions(self) -> None:
        conn = self.conn
        self._lock()
        conn.execute(queries["ingest_position_weeks"])
        conn.execute(queries["ingest_objects_from_positions"])
        self.accepted += conn.execute(queries["ingest_merge_positions"], self.params).rowcount
        if self.crossing_config is not None:
            self.crossings += crossings.detect(conn, self.batch_id, self.crossing_config)
        conn.execute("TRUNCATE stage_position")

    # ---- merge

    def merge(self) -> tuple[int, int]:
        """Finish staging and merge the rest into the live tables; (accepted, duplicates).

        Order: events (observations link to them), follow-up links, quarantine, static
        data, patrols, then the positions that refer to a patrol of this batch."""
        self.writer.finish()
        conn, params = self.conn, self.params
        for table in ("stage_event", "stage_quarantine", "stage_parent", "stage_object",
                      "stage_patrol", "stage_observation"):
            rows = self._buffers[table]
            if rows or (table == "stage_event" and self.counts["event"]):
                self._stage(table, rows)
        self._lock()
        if self.has_parents:
            conn.execute(queries["ingest_link_parents"], params)
            conn.execute(queries["ingest_mark_orphans"], params)
        if self.counts["event"]:  # follow-ups stored earlier than this batch's first reports
            conn.execute(queries["ingest_adopt_orphans"], params)
        if self.counts.get("closure"):  # deletes and cancels: after every event of the batch
            self._stage("stage_closure", self._buffers["stage_closure"])
            self.accepted += conn.execute(queries["ingest_close_events"], params).rowcount
        if self.quarantined:
            conn.execute(queries["ingest_merge_quarantine"], params)
        if self.counts["object"]:
            self.accepted += conn.execute(queries["ingest_merge_objects"], params).rowcount
        if self.counts["patrol"]:
            self.accepted += conn.execute(queries["ingest_merge_patrols"], params).fetchone()["inserted"]
        if self.counts["observation"]:
            self.accepted += conn.execute(queries["ingest_merge_observations"], {
                **params, "link_m": self.link_m, "link_window": self.link_window}).fetchone()["inserted"]
        if self.counts["position"]:
            rows = self._buffers["stage_position"]
            if rows:
                self._copy("stage_position", rows)
            if self.first_reference is not None:
                conn.execute(queries["ingest_reread_assumed_times"], {"reference": self.first_reference})
            self._merge_positions()
        staged = sum(self.counts.values())
        return self.accepted, staged - self.accepted

    def close(self) -> None:
        """Stop the writer without running what is queued (after an error)."""
        self.writer.finish(abort=True)


class _Writer(threading.Thread):
    """Runs staging jobs in order on the batch's connection; keeps the first error."""

    def __init__(self):
        super().__init__(name="nsp-ingest-writer", daemon=True)
        self.jobs: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.abort = False
        self.done = False
        self.start()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if self.error is None and not self.abort:
                try:
                    job()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the parsing thread
                    self.error = exc

    def submit(self, job) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    def finish(self, abort: bool = False) -> None:
        if not self.done:
            self.done = True
            self.abort = abort
            self.jobs.put(None)
            self.join()
        if self.error is not None and not abort:
            raise self.error


def unstorable(rec, exc: BaseException) -> Rejected:
    """The quarantine record of a record whose values could not be staged."""
    location = getattr(rec, "location", None)
    try:
        raw = clean_text(str(getattr(rec, "raw", "") or ""))
    except Exception:  # noqa: BLE001 - a raw text that cannot be read is left out
        raw = ""
    return Rejected(location if isinstance(location, Location) else Location("record"), raw,
                    clean_text(f"could not be stored: {type(exc).__name__}: {exc}"))


def parsed(parser, stream: BinaryIO) -> Iterator:
    """The parser's records. An unexpected error inside the parser (a bug of the format
    reader, never the input's fault) ends the file with one quarantined record that says
    where and why; the records before it load. Reading errors (OSError, over the size
    limit) and file-level refusals (IngestError) still fail the batch."""
    last = None
    records = parser.parse(stream)
    while True:
        try:
            rec = next(records)
        except StopIteration:
            return
        except (IngestError, OSError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - quarantined, with its reason
            loc = getattr(last, "location", None)
            where = Location(f"after {loc}") if loc is not None else Location("file")
            yield Rejected(where, clean_text(f"{type(exc).__name__}: {exc}"), clean_text(
                f"the {parser.name} reader stopped at an unexpected error ({type(exc).__name__}: {exc}); "
                "the rest of the file was not read. This is a fault of nsp: report it with the file"))
            return
        last = rec
        yield rec


def stage(parser, prepared, validator: Validator, staging: Staging,
          progress: Callable[[int], None] | None = None) -> None:
    """Parse, validate and stage every record of one input: the pipeline down to the COPY
    buffer. Raises only what fails a whole file: IngestError (unreadable, over the size
    limit), OSError (reading), and the errors of ``staging``'s database."""
    check, add = _checker(validator, type(parser)), staging.add
    reader = prepared.reader
    every = 0
    for rec in parsed(parser, prepared.stream):
        add(check(rec))
        if progress is not None:
            every += 1
            if every >= 1000:
                every = 0
                progress(reader.size)


def _checker(validator: Validator, fmt_cls):
    """The validator's check, and for a format that emits observations linked to no patrol
    (GPX waypoints), theirs: coordinates in the region of interest, a plausible time."""
    if not getattr(fmt_cls, "emits_observations", False):
        return validator.check

    def check(rec):
        if not isinstance(rec, SourceObservation):
            return validator.check(rec)
        try:
            rec.lon, rec.lat = validator.point(rec.lon, rec.lat)
            rec.observed_at = validator.time(rec.observed_at, "waypoint time", required=False)
        except RecordError as exc:
            return Rejected(rec.location or Location("record"), clean_text(rec.raw or ""), clean_text(str(exc)))
        for name in ("name", "description", "event_ref", "source_ref"):
            if getattr(rec, name) is not None:
                setattr(rec, name, clean_text(str(getattr(rec, name))))
        return rec

    return check


def _int32(value) -> int | None:
    return value if value is None or -(2**31) <= value < 2**31 else None


# ------------------------------------------------------------------ entry points


def ingest_file(
    path,
    *,
    source: str,
    fmt: str | None = None,
    options: ParseOptions | None = None,
    url: str | None = None,
    submitted_by: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Load one file as one batch. See :func:`ingest_stream`."""
    path = Path(path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise IngestError(str(path), f"cannot open: {exc.strerror or exc}") from exc
    with stream:
        return ingest_stream(stream, name=str(path), source=source, fmt=fmt, options=options,
                             url=url, submitted_by=submitted_by, progress=progress)


def ingest_stream(
    stream: BinaryIO,
    *,
    name: str,
    source: str,
    fmt: str | None = None,
    options: ParseOptions | None = None,
    url: str | None = None,
    submitted_by: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Load one stream (a file, an HTTP body) as one batch and return its summary.

    Raises :class:`UnreadableFile` (subclass of IngestError) when the input cannot be
    read at all — empty, binary, too large, undecodable, unknown format; the batch is
    then recorded as ``failed`` with one quarantine row for the file. Raises
    :class:`LoadFailed` when storing fails (the batch is rolled back and marked failed).
    ``progress`` is called with the number of input bytes read so far.
    """
    settings = ingest_settings()
    source = (source or settings.source).strip() or settings.source
    file_name = Path(name).name if name else None
    if options is None:
        options = ParseOptions(source=source, file_name=file_name,
                               timezone=settings.timezone or geo_settings().timezone)
    else:
        options = replace(options, source=source, file_name=options.file_name or file_name)
    if fmt:
        choose_format(b"", name, fmt)  # an unknown format name is refused before any batch
    url = url or db.database_url()
    summary = BatchSummary(batch_id=None, file=name, format=fmt, source=source)

    with db.connect(url) as conn:
        conn.autocommit = True
        started = conn.execute(queries["ingest_batch_start"], {
            "source": source, "file_name": name, "format": fmt, "submitted_by": submitted_by,
        }).fetchone()
        summary.batch_id = started["id"]
        options = replace(options, delivered_at=started["received_at"])
        # The section-lookup grid, rebuilt here (committed on its own) when a change of the
        # sections emptied it; `nsp sections load` normally rebuilds it already.
        conn.execute("SELECT nsp_section_grid_ensure()")
        conn.execute("SELECT nsp_crossing_home_ensure()")  # the country's side, for crossings
        conn.autocommit = False
        prepared = None
        batch = None
        try:
            prepared = prepare(stream, name, settings.max_bytes, settings.fallback_encoding,
                               options.encoding)
            fmt_cls = choose_format(prepared.head, name, fmt)
            summary.format = fmt_cls.name
            parser = fmt_cls(options)
            validator = Validator(options, settings)
            with conn.transaction():
                apply_scope(conn, SYSTEM)
                conn.execute(queries["ingest_stage_create"])
                batch = _Batch(conn, summary.batch_id, source, name, fmt_cls.name, settings)
                try:
                    stage(parser, prepared, validator, batch, progress)
                    summary.warnings = list(getattr(parser, "warnings", None) or ())
                    reference = _time_reference(conn, batch, prepared, options, summary.warnings)
                    accepted, duplicates = batch.merge()
                finally:
                    batch.close()
                if batch.counts["event"] and batch.alerting():
                    queue_alerts(conn, source, summary.batch_id)  # the outbox, in this transaction
                if batch.crossings and batch.alerting():
                    queue_alerts(conn, crossings.SOURCE, summary.batch_id)
                summary.crossings = batch.crossings
                summary.records, summary.accepted, summary.duplicates = batch.records, accepted, duplicates
                summary.quarantined, summary.reasons = batch.quarantined, batch.reasons
                summary.skipped, summary.skipped_reasons = skipped_counts(parser)
                if not (summary.records or summary.skipped):  # content, but nothing to load
                    summary.skipped, summary.skipped_reasons = 1, {NOTHING_TO_LOAD: 1}
                conn.execute(queries["ingest_batch_done"], {
                    **_counts(summary, prepared), "batch_id": summary.batch_id,
                })
                if summary.warnings or reference is not None:
                    conn.execute(queries["ingest_batch_warnings"], {
                        "batch_id": summary.batch_id, "warnings": [clean_text(w) for w in summary.warnings],
                        "time_reference": reference,
                    })
            if progress is not None:
                progress(prepared.reader.size)
            return summary
        except UnreadableFile as exc:
            _fail(conn, summary, prepared, str(exc.reason), unreadable=exc)
            exc.summary = summary
            raise
        except (psycopg.Error, IngestError, OSError) as exc:
            reason = db.first_line(exc) if isinstance(exc, psycopg.Error) else str(exc)
            _fail(conn, summary, prepared, reason)
            if isinstance(exc, IngestError):
                exc.summary = summary
                raise
            err = LoadFailed(name, f"the batch was not stored: {reason}")
            err.content = (getattr(exc, "sqlstate", None) or "")[:2] in CONTENT_SQLSTATE_CLASSES
            err.summary = summary
            raise err from exc
        except BaseException as exc:
            _fail(conn, summary, prepared, f"interrupted: {type(exc).__name__}: {exc}")
            raise


def _time_reference(conn, batch: _Batch, prepared, options: ParseOptions, warnings: list[str]):
    """The delivery time that positions without a time of their own were read against, or None.

    Such times are assumed, so they alone cannot tell a re-delivery from new data. The same
    file (same source, same SHA-256) delivered again is read against its first delivery's
    time: the assumed-time positions get the times that delivery gave them (the same rule, the
    same reference) before they merge, so they are duplicates of its rows, not a second set."""
    if not batch.assumed_times or options.delivered_at is None:
        return None
    reference = options.delivered_at
    row = conn.execute(queries["ingest_time_reference"], {
        "source": batch.source, "sha256": prepared.reader.sha256.hexdigest(), "batch_id": batch.batch_id,
    }).fetchone()
    if row is not None and row["time_reference"] != reference:
        batch.first_reference = reference = row["time_reference"]
        warnings.append(f"the same file was delivered before (batch {row['id']}): its times were read "
                        f"against that first delivery, {reference:%Y-%m-%dT%H:%M:%SZ}")
    return reference


def _counts(summary: BatchSummary, prepared) -> dict:
    return {
        "format": summary.format, "records": summary.records, "accepted": summary.accepted,
        "duplicates": summary.duplicates, "quarantined": summary.quarantined,
        "skipped": summary.skipped, "skipped_reasons": orjson.dumps(summary.skipped_reasons).decode(),
        "sha256": prepared.reader.sha256.hexdigest() if prepared else None,
        "size_bytes": prepared.reader.size if prepared else None,
    }


def _fail(conn, summary: BatchSummary, prepared, reason: str, unreadable=None) -> None:
    """Record the failure in its own transaction (the batch's own rolled back)."""
    summary.status, summary.error = "failed", reason
    summary.accepted = summary.duplicates = summary.skipped = 0
    summary.skipped_reasons = {}
    try:
        if conn.closed:
            return
        conn.rollback()
        conn.autocommit = True
        if unreadable is not None:
            summary.quarantined = 1
            summary.reasons = [f"file: {reason}"]
            conn.execute(queries["ingest_quarantine_file"], {
                "batch_id": summary.batch_id, "source": summary.source, "file_name": summary.file,
                "format": summary.format, "raw": _file_excerpt(prepared, unreadable),
                "reason": clean_text(reason),
            })
        else:
            summary.quarantined = 0
        conn.execute(queries["ingest_batch_failed"], {
            **_counts(summary, prepared), "batch_id": summary.batch_id, "error": clean_text(reason),
        })
    except psycopg.Error:
        pass  # the database is gone; the batch row stays 'running'


def _file_excerpt(prepared, exc) -> str:
    head = prepared.head[:512] if prepared is not None else getattr(exc, "head", b"")
    text = head.decode("utf-8", "replace")
    return clean_text(text if text.isprintable() or "\n" in text else repr(head))
