"""The ingest pipeline: bytes in, validated rows in PostGIS, bad records in quarantine.

    summary = ingest_file("reports.geojson", source="vp-daugavpils")
    summary = ingest_stream(body, name="upload.csv", source="api:rs-latgale")

One call is one **batch**:

1. the input is checked and decoded (:mod:`ingest.sniff`: size limit, empty, binary,
   UTF-8 / UTF-16 / cp1257) and its format chosen by sniffing (or ``fmt``);
2. the parser streams records; every record goes through the central validator
   (:mod:`ingest.validate`); good records are buffered per kind and COPYed (binary,
   geometry as EWKB with SRID) into TEMP staging tables in chunks, bad ones are
   COPYed into ``quarantine`` with their place in the file, raw text and reason;
3. set-based merges (``sql/queries/ingest.sql``) move staging into the live tables with
   dedupe on (source, source_ref) and section assignment by ``nsp_locate``;
4. webhook alerts for the new events that a subscription asks for are queued
   (:mod:`ingest.alerts`, the outbox);
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
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import psycopg

from ingest.alerts import has_subscriptions, queue_alerts
from ingest.base import (
    BatchSummary,
    Event,
    IngestError,
    Location,
    ParseOptions,
    Patrol,
    Position,
    Rejected,
    TrackedObject,
    UnreadableFile,
)
from ingest.settings import IngestSettings, ingest_settings
from ingest.sniff import choose_format, prepare
from ingest.validate import Validator, attrs_json, clean_text
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
OBSERVATION_COLUMNS = ("patrol_ref", "observed_at", "geom", "name", "description", "event_ref", "attrs")
OBSERVATION_TYPES = ("text", "timestamptz", "bytea", "text", "text", "text", "text")
QUARANTINE_COLUMNS = ("location", "line_no", "record_no", "raw", "reason")
QUARANTINE_TYPES = ("text", "int4", "int4", "text", "text")


class LoadFailed(IngestError):
    """The batch could not be stored; nothing of it was kept."""


# ------------------------------------------------------------------ geometry


def ewkb_point(lon: float, lat: float) -> bytes:
    return _EWKB_POINT.pack(1, 0x20000001, 4326, lon, lat)


def ewkb_multilinestring(segments: list[list[tuple[float, float]]]) -> bytes:
    parts = [struct.pack("<BIII", 1, 0x20000005, 4326, len(segments))]
    for seg in segments:
        parts.append(struct.pack("<BII", 1, 2, len(seg)))
        parts.append(struct.pack(f"<{2 * len(seg)}d", *(c for pt in seg for c in pt)))
    return b"".join(parts)


# ------------------------------------------------------------------ identity


def content_ref(e: Event) -> str:
    """A deterministic source_ref for a record without an id: the hash of what it says."""
    key = "|".join(
        str(v)
        for v in (
            e.category, e.subtype, e.occurred_at.astimezone(timezone.utc).isoformat(),
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
        value = value.replace(tzinfo=timezone.utc)
    e.attrs["cot_time"] = value.astimezone(timezone.utc).isoformat()
    return value


# ------------------------------------------------------------------ the batch


class _Batch:
    """Buffers rows per staging table and COPYs them in chunks on one connection."""

    def __init__(self, conn: psycopg.Connection, batch_id: int, source: str, file_name: str,
                 fmt: str, settings: IngestSettings):
        self.conn = conn
        self.batch_id = batch_id
        self.source = source
        self.file_name = file_name
        self.format = fmt
        self.chunk = max(100, settings.chunk_rows)
        self.max_reasons = settings.max_reasons
        self.records = 0
        self.quarantined = 0
        self.reasons: list[str] = []
        self.counts = {"event": 0, "position": 0, "object": 0, "patrol": 0}
        self.has_parents = False
        self.has_versions = False
        self.positions_wait = False  # positions refer to a patrol: merge them after patrols
        self.accepted = 0
        # ms and seq0 make the time-ordered event ids (sql/queries/ingest.sql).
        self.params = {"source": source, "batch_id": batch_id, "file_name": file_name, "format": fmt,
                       "ms": int(time.time() * 1000), "seq0": 0}
        self._locked = False
        self._alerting: bool | None = None  # an alert subscription is active (asked once)
        self._seq = 0
        self._buffers: dict[str, list] = {
            "stage_event": [], "stage_position": [], "stage_object": [], "stage_patrol": [],
            "stage_observation": [], "stage_quarantine": [], "stage_parent": [],
        }
        # The first chunk of a table that merges as it goes is small, so that the
        # database starts working while the parser is still on the first rows.
        self._limits = {"stage_event": max(100, self.chunk // 10), "stage_position": max(100, self.chunk // 10)}
        self._specs = {
            "stage_event": (EVENT_COLUMNS, EVENT_TYPES),
            "stage_position": (POSITION_COLUMNS, POSITION_TYPES),
            "stage_object": (OBJECT_COLUMNS, OBJECT_TYPES),
            "stage_patrol": (PATROL_COLUMNS, PATROL_TYPES),
            "stage_observation": (OBSERVATION_COLUMNS, OBSERVATION_TYPES),
            "stage_quarantine": (QUARANTINE_COLUMNS, QUARANTINE_TYPES),
            "stage_parent": (("source_ref", "parent_ref"), ("text", "text")),
        }
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
            self._limits[table] = self.chunk
            self.writer.submit(partial(self._stage, table, buf))

    def _copy(self, table: str, rows: list) -> None:
        columns, types = self._specs[table]
        stmt = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self.conn.cursor() as cur, cur.copy(stmt) as copy:
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
        conn.execute("TRUNCATE stage_position")

    # ---- records

    def add(self, rec) -> None:
        self.records += 1
        if isinstance(rec, Event):
            self.event(rec)
        elif isinstance(rec, Position):
            self.position(rec)
        elif isinstance(rec, TrackedObject):
            self.tracked_object(rec)
        elif isinstance(rec, Patrol):
            self.patrol(rec)
        else:
            self.reject(rec)

    def reject(self, r: Rejected) -> None:
        self.quarantined += 1
        loc = r.location or Location("file")
        where = str(loc)
        if len(self.reasons) < self.max_reasons:
            self.reasons.append(f"{where}: {r.reason}")
        raw = r.raw if len(r.raw) <= MAX_RAW else r.raw[:MAX_RAW] + "\n[… truncated]"
        line_no = loc.number if loc.kind == "line" else loc.line
        record_no = None if loc.kind == "line" else loc.number
        self._put("stage_quarantine", (where, _int32(line_no), _int32(record_no), raw, r.reason))

    def event(self, e: Event) -> None:
        self.counts["event"] += 1
        version = _version(e)
        if version is not None:
            self.has_versions = True
        ref = e.source_ref if e.source_ref else content_ref(e)
        if e.parent_ref:
            self.has_parents = True
            self._put("stage_parent", (ref, e.parent_ref))
        self._put("stage_event", (
            ref, e.category, e.subtype, e.occurred_at, e.reported_at, ewkb_point(e.lon, e.lat),
            e.accuracy_m, e.persons, e.impact, e.source_reliability, e.credibility, e.validation,
            e.status, e.parent_ref, e.crossing_stage, e.crossing_mode, e.direction,
            e.detection_method, e.transport_means, e.evasion_attempt, e.facilitation_link,
            e.sar_link, e.description, e.stale_at, attrs_json(e.attrs), version,
        ))

    def position(self, p: Position) -> None:
        self.counts["position"] += 1
        if p.patrol_ref:
            self.positions_wait = True
        self._put("stage_position", (
            p.object_id, p.kind, p.object_type, p.status, p.observed_at, ewkb_point(p.lon, p.lat),
            p.speed_kn, p.course_deg, p.heading_deg, p.accuracy_m, p.stale_at, p.patrol_ref,
            attrs_json(p.attrs),
        ))

    def tracked_object(self, o: TrackedObject) -> None:
        self.counts["object"] += 1
        self._seq += 1
        self._put("stage_object", (
            self._seq, o.object_id, o.kind, o.name, o.callsign, o.object_type, o.mmsi, o.imo,
            attrs_json(o.attrs),
        ))

    def patrol(self, p: Patrol) -> None:
        self.counts["patrol"] += 1
        self._put("stage_patrol", (
            p.source_ref, p.unit, p.mode, p.started_at, p.ended_at,
            ewkb_multilinestring(p.segments), attrs_json(p.attrs),
        ))
        for ob in p.observations:
            self._put("stage_observation", (
                p.source_ref, ob.observed_at, ewkb_point(ob.lon, ob.lat), ob.name, ob.description,
                ob.event_ref, attrs_json(ob.attrs),
            ))

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
        if self.quarantined:
            conn.execute(queries["ingest_merge_quarantine"], params)
        if self.counts["object"]:
            self.accepted += conn.execute(queries["ingest_merge_objects"], params).rowcount
        if self.counts["patrol"]:
            self.accepted += conn.execute(queries["ingest_merge_patrols"], params).fetchone()["inserted"]
        if self.counts["position"]:
            rows = self._buffers["stage_position"]
            if rows:
                self._copy("stage_position", rows)
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
        summary.batch_id = conn.execute(queries["ingest_batch_start"], {
            "source": source, "file_name": name, "format": fmt, "submitted_by": submitted_by,
        }).fetchone()["id"]
        # The section-lookup grid, rebuilt here (committed on its own) when a change of the
        # sections emptied it; `nsp sections load` normally rebuilds it already.
        conn.execute("SELECT nsp_section_grid_ensure()")
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
                    check, add = validator.check, batch.add
                    reader = prepared.reader
                    every = 0
                    for rec in parser.parse(prepared.stream):
                        add(check(rec))
                        if progress is not None:
                            every += 1
                            if every >= 1000:
                                every = 0
                                progress(reader.size)
                    accepted, duplicates = batch.merge()
                finally:
                    batch.close()
                if batch.counts["event"] and batch.alerting():
                    queue_alerts(conn, source, summary.batch_id)  # the outbox, in this transaction
                summary.records, summary.accepted, summary.duplicates = batch.records, accepted, duplicates
                summary.quarantined, summary.reasons = batch.quarantined, batch.reasons
                conn.execute(queries["ingest_batch_done"], {
                    **_counts(summary, prepared), "batch_id": summary.batch_id,
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
            err.summary = summary
            raise err from exc
        except BaseException as exc:
            _fail(conn, summary, prepared, f"interrupted: {type(exc).__name__}: {exc}")
            raise


def _counts(summary: BatchSummary, prepared) -> dict:
    return {
        "format": summary.format, "records": summary.records, "accepted": summary.accepted,
        "duplicates": summary.duplicates, "quarantined": summary.quarantined,
        "sha256": prepared.reader.sha256.hexdigest() if prepared else None,
        "size_bytes": prepared.reader.size if prepared else None,
    }


def _fail(conn, summary: BatchSummary, prepared, reason: str, unreadable=None) -> None:
    """Record the failure in its own transaction (the batch's own rolled back)."""
    summary.status, summary.error = "failed", reason
    summary.accepted = summary.duplicates = 0
    try:
        if conn.closed:
            return
        conn.rollback()
        conn.autocommit = True
        if unreadable is not None:
            summary.quarantined = 1
            summary.reasons = [f"file: {reason}"]
            conn.execute(
                "INSERT INTO quarantine (batch_id, source, file_name, format, location, raw, reason)"
                " VALUES (%s, %s, %s, %s, 'file', %s, %s)",
                (summary.batch_id, summary.source, summary.file, summary.format,
                 _file_excerpt(prepared, unreadable), clean_text(reason)),
            )
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
