-- Ingest: staging tables and the set-based merges of one batch (ingest/loading/pipeline.py).
-- Everything between ingest_stage_create and ingest_batch_done runs in ONE transaction.

-- ingest_batch_start --
-- A new delivery; committed on its own so that a failed load still leaves its record.
INSERT INTO ingest_batch (source, file_name, format, submitted_by)
VALUES (%(source)s, %(file_name)s, %(format)s, %(submitted_by)s)
RETURNING id, received_at;

-- ingest_batch_done --
-- The batch's counts, in the same transaction as its rows.
UPDATE ingest_batch
   SET status = 'done', finished_at = now(), format = %(format)s, sha256 = %(sha256)s,
       size_bytes = %(size_bytes)s, n_records = %(records)s, n_accepted = %(accepted)s,
       n_duplicates = %(duplicates)s, n_quarantined = %(quarantined)s, n_skipped = %(skipped)s,
       skipped_reasons = %(skipped_reasons)s::jsonb, error = NULL
 WHERE id = %(batch_id)s;

-- ingest_batch_failed --
-- A batch whose load failed; its rows were rolled back.
UPDATE ingest_batch
   SET status = 'failed', finished_at = now(), format = coalesce(%(format)s, format),
       sha256 = %(sha256)s, size_bytes = %(size_bytes)s, n_records = %(records)s,
       n_accepted = 0, n_duplicates = 0, n_quarantined = %(quarantined)s, error = %(error)s
 WHERE id = %(batch_id)s;

-- ingest_stage_create --
-- Staging tables, dropped at commit. Geometries arrive as EWKB (SRID 4326).
CREATE TEMP TABLE stage_event (
    source_ref text, category text, subtype text, occurred_at timestamptz,
    reported_at timestamptz, geom bytea, accuracy_m float8, persons int4, impact text,
    source_reliability text, credibility int4, validation text, status text, parent_ref text,
    crossing_stage text, crossing_mode text, direction text, detection_method text,
    transport_means text, evasion_attempt bool, facilitation_link bool, sar_link bool,
    description text, stale_at timestamptz, attrs text, version timestamptz
) ON COMMIT DROP;
-- Staged events as event rows: geometry decoded, section and distance located. Rows go
-- in geohash order: consecutive points fall in the same section, so PostGIS reuses its
-- prepared polygon for ST_Intersects, and GiST inserts touch the same pages.
-- The section comes from the lookup grid (section_grid, 0009_section_grid.sql: cells
-- wholly inside one section) and only for points in no listed cell from the exact test,
-- nsp_locate's rule written inline (air first, then the lowest code); the distance to the
-- section's line in the metric CRS as in nsp_locate. Same answers, a fifth of the time.
CREATE TEMP VIEW stage_event_located AS
SELECT s.source_ref, s.category, s.subtype, s.occurred_at, s.reported_at, s.pt AS geom, s.accuracy_m,
       s.persons, s.impact, s.source_reliability, s.credibility, s.validation, s.status,
       CASE WHEN s.status = 'closed' THEN coalesce(s.reported_at, s.occurred_at) END AS closed_at,
       s.crossing_stage, s.crossing_mode, s.direction, s.detection_method, s.transport_means,
       s.evasion_attempt, s.facilitation_link, s.sar_link, s.description, s.stale_at,
       b.code AS section_code, ST_Distance(ST_Transform(s.pt, ST_SRID(b.line_m)), b.line_m) AS distance_to_border_m,
       s.attrs::jsonb AS attrs, s.version, s.seq
  FROM (SELECT e.*, g.pt, row_number() OVER (ORDER BY ST_GeoHash(g.pt, 5)) AS seq
          FROM stage_event e
         CROSS JOIN LATERAL (SELECT ST_GeomFromEWKB(e.geom) AS pt) g) s
  LEFT JOIN section_grid c ON c.k = 16 AND c.gx = floor(ST_X(s.pt) * 16)::integer
                          AND c.gy = floor(ST_Y(s.pt) * 16)::integer
  LEFT JOIN section_grid f ON c.section_code IS NULL AND f.k = 128
                          AND f.gx = floor(ST_X(s.pt) * 128)::integer
                          AND f.gy = floor(ST_Y(s.pt) * 128)::integer
  LEFT JOIN LATERAL (
        SELECT x.code FROM border_section x
         WHERE c.section_code IS NULL AND f.section_code IS NULL AND ST_Intersects(x.area, s.pt)
         ORDER BY (x.kind = 'air') DESC, x.code LIMIT 1) l ON true
  LEFT JOIN border_section b ON b.code = coalesce(c.section_code, f.section_code, l.code);
CREATE TEMP TABLE stage_parent (source_ref text, parent_ref text) ON COMMIT DROP;
-- Deletes and cancels (ingest.formats.base.Closure): the item a source ends, when, and why.
CREATE TEMP TABLE stage_closure (source_ref text, closed_at timestamptz, reason text) ON COMMIT DROP;
-- The stored impact of events that newer messages update, kept only while an alert
-- subscription is active (ingest_prior_impacts; the outbox tells raised ones by it).
CREATE TEMP TABLE stage_prior (source_ref text PRIMARY KEY, impact text) ON COMMIT DROP;
CREATE TEMP TABLE stage_quarantine (
    location text, line_no int4, record_no int4, raw text, reason text
) ON COMMIT DROP;
CREATE TEMP TABLE stage_position (
    object_id text, kind text, object_type text, status text, observed_at timestamptz,
    geom bytea, speed_kn float8, course_deg float8, heading_deg float8, accuracy_m float8,
    stale_at timestamptz, patrol_ref text, attrs text
) ON COMMIT DROP;
CREATE TEMP TABLE stage_object (
    seq int8, object_id text, kind text, name text, callsign text, object_type text,
    mmsi int8, imo int8, attrs text
) ON COMMIT DROP;
CREATE TEMP TABLE stage_patrol (
    source_ref text, unit text, mode text, started_at timestamptz, ended_at timestamptz,
    track bytea, attrs text
) ON COMMIT DROP;
CREATE TEMP TABLE stage_observation (
    patrol_ref text, observed_at timestamptz, geom bytea, name text, description text,
    event_ref text, attrs text, source_ref text
) ON COMMIT DROP;

-- ingest_merge_lock --
-- Merges of the same source run one after another (no deadlock between two workers
-- loading overlapping files); different sources merge in parallel.
SELECT pg_advisory_xact_lock(hashtext('nsp_ingest'), hashtext(%(source)s));

-- ingest_merge_events --
-- New events; a (source, source_ref) already stored, or repeated within the batch, is a
-- duplicate and ignored (ON CONFLICT checks the unique index before inserting). No
-- anti-join against event first: with the grid, locating a duplicate costs less than
-- probing the index once more for every new row (200k new rows: 9 % less database CPU;
-- re-delivering them: 1.6 -> 3.1 s of database CPU, still under the parser's 4 s).
-- Section and distance come from the stage_event_located view (nsp_locate's answers), so
-- the row trigger does not fire (it still does for points outside every section).
-- Ids are time-ordered (UUID version 7 layout: the batch's start in ms, then a sequence
-- number within the batch, %(seq0)s + the row's place in the chunk, then 42 random bits),
-- so the primary key grows at its right edge (the joins keep the staged rows' order; no
-- sort is asked for, as the order only matters for speed) instead of touching a random leaf page per
-- row (and writing a full-page image of it to the WAL after each checkpoint).
INSERT INTO event (id, source, source_ref, batch_id, category, subtype, occurred_at, reported_at,
                   geom, accuracy_m, persons, impact, source_reliability, credibility,
                   validation, status, closed_at, crossing_stage, crossing_mode, direction,
                   detection_method, transport_means, evasion_attempt, facilitation_link,
                   sar_link, description, stale_at, section_code, distance_to_border_m, attrs)
SELECT nsp_uuid7(%(ms)s, %(seq0)s + seq), %(source)s, source_ref, %(batch_id)s, category, subtype, occurred_at, reported_at,
       geom, accuracy_m, persons, impact, source_reliability, credibility,
       validation, status, closed_at, crossing_stage, crossing_mode, direction,
       detection_method, transport_means, evasion_attempt, facilitation_link,
       sar_link, description, stale_at, section_code, distance_to_border_m, attrs
  FROM stage_event_located v
 WHERE version IS NULL
ON CONFLICT (source, source_ref) DO NOTHING;

-- ingest_merge_events_versioned --
-- Records that a newer message updates (Cursor on Target markers and alerts, keyed by
-- uid): the latest version in the batch wins, and it replaces a stored row only when
-- newer (attrs.cot_time). Older or equal versions count as duplicates.
INSERT INTO event AS e (id, source, source_ref, batch_id, category, subtype, occurred_at, reported_at,
                   geom, accuracy_m, persons, impact, source_reliability, credibility,
                   validation, status, closed_at, crossing_stage, crossing_mode, direction,
                   detection_method, transport_means, evasion_attempt, facilitation_link,
                   sar_link, description, stale_at, section_code, distance_to_border_m, attrs)
SELECT DISTINCT ON (source_ref) nsp_uuid7(%(ms)s, %(seq0)s + seq), %(source)s, source_ref, %(batch_id)s, category, subtype,
       occurred_at, reported_at, geom, accuracy_m, persons, impact, source_reliability,
       credibility, validation, status, closed_at, crossing_stage, crossing_mode, direction,
       detection_method, transport_means, evasion_attempt, facilitation_link,
       sar_link, description, stale_at, section_code, distance_to_border_m, attrs
  FROM stage_event_located WHERE version IS NOT NULL
 ORDER BY source_ref, version DESC
ON CONFLICT (source, source_ref) DO UPDATE
   SET batch_id = EXCLUDED.batch_id, category = EXCLUDED.category, subtype = EXCLUDED.subtype,
       occurred_at = EXCLUDED.occurred_at, reported_at = EXCLUDED.reported_at,
       geom = EXCLUDED.geom, accuracy_m = EXCLUDED.accuracy_m, persons = EXCLUDED.persons,
       -- an impact the NCC decided (0019_event_decisions.sql) stands
       impact = CASE WHEN e.impact_decided_at IS NULL THEN EXCLUDED.impact ELSE e.impact END,
       description = EXCLUDED.description,
       stale_at = EXCLUDED.stale_at, section_code = EXCLUDED.section_code,
       distance_to_border_m = EXCLUDED.distance_to_border_m, attrs = EXCLUDED.attrs,
       -- A newer message may close the event; it reopens a closed one (closed by the
       -- source's cancel or by the NCC) only when it raises it again (attrs.reopen_reason:
       -- an ATAK emergency on its reused <device>-9-1-1 uid); ingest_reopen_decisions
       -- records that as a decision. Any other message leaves a closed event closed.
       status = CASE WHEN EXCLUDED.status = 'closed' THEN 'closed'
                     WHEN e.status = 'closed' AND EXCLUDED.attrs ? 'reopen_reason' THEN EXCLUDED.status
                     ELSE e.status END,
       closed_at = CASE WHEN e.status = 'closed' AND EXCLUDED.status <> 'closed'
                             AND EXCLUDED.attrs ? 'reopen_reason' THEN NULL
                        WHEN e.status = 'closed' THEN e.closed_at
                        WHEN EXCLUDED.status = 'closed' THEN EXCLUDED.closed_at END,
       updated_at = now()
 WHERE (e.attrs ->> 'cot_time') IS NULL
    OR (e.attrs ->> 'cot_time')::timestamptz < (EXCLUDED.attrs ->> 'cot_time')::timestamptz;

-- ingest_reopen_decisions --
-- Before ingest_merge_events_versioned: a closed event that a newer message of the chunk
-- raises again (attrs.reopen_reason) is reopened by that merge; the decision row says so,
-- by the source, at the message's time (so the replay's nsp_status_at sees it then).
INSERT INTO event_decision (event_id, section_code, decided_at, decided_by, action, from_value, to_value, reason)
SELECT e.id, e.section_code, s.version, 'source:' || %(source)s, 'reopen', 'closed', 'open',
       'reopened by the source: ' || (s.attrs::jsonb ->> 'reopen_reason')
  FROM (SELECT DISTINCT ON (source_ref) source_ref, version, status, attrs
          FROM stage_event WHERE version IS NOT NULL
         ORDER BY source_ref, version DESC) s
  JOIN event e ON e.source = %(source)s AND e.source_ref = s.source_ref
 WHERE s.attrs LIKE '%%"reopen_reason"%%' AND s.status <> 'closed' AND s.attrs::jsonb ? 'reopen_reason'
   AND e.status = 'closed'
   AND ((e.attrs ->> 'cot_time') IS NULL OR (e.attrs ->> 'cot_time')::timestamptz < s.version);

-- ingest_close_events --
-- Deletes and cancels (stage_closure), after all the batch's events are merged: each closes
-- the open event of this source with that source_ref, unless a newer message about it came
-- (attrs.cot_time after the delete's time), with a decision row by the source giving the
-- reason. The closing message's time becomes the event's cot_time, so an older message that
-- arrives late (a repeated emergency) neither updates nor reopens it. A delete of an item
-- never stored, or already closed, changes nothing (counted as a duplicate).
WITH c AS (
    SELECT DISTINCT ON (source_ref) source_ref, closed_at, reason
      FROM stage_closure ORDER BY source_ref, closed_at DESC
), target AS (
    SELECT e.id, e.status AS before, e.section_code, c.closed_at, c.reason
      FROM c JOIN event e ON e.source = %(source)s AND e.source_ref = c.source_ref
     WHERE e.status <> 'closed'
       AND ((e.attrs ->> 'cot_time') IS NULL OR (e.attrs ->> 'cot_time')::timestamptz <= c.closed_at)
       FOR UPDATE OF e
), closed AS (
    UPDATE event e
       SET status = 'closed', closed_at = t.closed_at, updated_at = now(),
           attrs = e.attrs || jsonb_build_object('cot_time', to_jsonb(t.closed_at))
      FROM target t
     WHERE e.id = t.id
    RETURNING e.id
)
INSERT INTO event_decision (event_id, section_code, decided_at, decided_by, action, from_value, to_value, reason)
SELECT t.id, t.section_code, t.closed_at, 'source:' || %(source)s, 'close', t.before, 'closed', t.reason
  FROM target t JOIN closed USING (id);

-- ingest_link_parents --
-- Follow-up reports: parent_ref -> the first report's id (same source, any batch).
UPDATE event e
   SET parent_id = p.id
  FROM stage_parent s
  JOIN event p ON p.source = %(source)s AND p.source_ref = s.parent_ref
 WHERE e.source = %(source)s AND e.source_ref = s.source_ref
   AND e.parent_id IS DISTINCT FROM p.id AND e.id <> p.id;

-- ingest_mark_orphans --
-- Follow-up reports whose first report is not stored yet keep its ref, to be linked when it
-- is (0018_orphan_follow_ups.sql). Until then they are drawn and counted as first reports.
UPDATE event e
   SET attrs = e.attrs || jsonb_build_object('nsp_parent_ref', s.parent_ref)
  FROM stage_parent s
 WHERE e.source = %(source)s AND e.source_ref = s.source_ref AND e.parent_id IS NULL
   AND s.parent_ref <> s.source_ref
   AND NOT (e.attrs ? 'nsp_parent_ref')
   AND NOT EXISTS (SELECT 1 FROM event p WHERE p.source = %(source)s AND p.source_ref = s.parent_ref);

-- ingest_adopt_orphans --
-- The follow-ups of this source that waited for their first report, linked now that it is
-- stored (the merge lock of the source is held, so a first report and its follow-up loaded
-- by two workers meet here whichever commits first). event_orphan_idx holds only those waiting.
UPDATE event e
   SET parent_id = p.id, attrs = e.attrs - 'nsp_parent_ref'
  FROM event p
 WHERE e.source = %(source)s AND e.parent_id IS NULL AND e.attrs ? 'nsp_parent_ref'
   AND p.source = %(source)s AND p.source_ref = e.attrs ->> 'nsp_parent_ref' AND p.id <> e.id;

-- ingest_merge_objects --
-- Static data of tracked objects: the batch's latest values, merged into what is known.
-- Unchanged static data counts as a duplicate.
INSERT INTO tracked_object AS o (object_id, kind, name, callsign, object_type, mmsi, imo, attrs)
SELECT DISTINCT ON (object_id) object_id, kind, name, callsign, object_type, mmsi, imo, attrs::jsonb
  FROM stage_object ORDER BY object_id, seq DESC
ON CONFLICT (object_id) DO UPDATE
   SET kind = EXCLUDED.kind, name = coalesce(EXCLUDED.name, o.name),
       callsign = coalesce(EXCLUDED.callsign, o.callsign),
       object_type = coalesce(EXCLUDED.object_type, o.object_type),
       mmsi = coalesce(EXCLUDED.mmsi, o.mmsi), imo = coalesce(EXCLUDED.imo, o.imo),
       attrs = o.attrs || EXCLUDED.attrs, updated_at = now()
 WHERE (o.kind, o.name, o.callsign, o.object_type, o.mmsi, o.imo, o.attrs)
       IS DISTINCT FROM
       (EXCLUDED.kind, coalesce(EXCLUDED.name, o.name), coalesce(EXCLUDED.callsign, o.callsign),
        coalesce(EXCLUDED.object_type, o.object_type), coalesce(EXCLUDED.mmsi, o.mmsi),
        coalesce(EXCLUDED.imo, o.imo), o.attrs || EXCLUDED.attrs);

-- ingest_objects_from_positions --
-- Every object that reports a position is known as a tracked object.
INSERT INTO tracked_object (object_id, kind, object_type)
SELECT DISTINCT ON (object_id) object_id, kind, object_type
  FROM stage_position ORDER BY object_id, observed_at DESC
ON CONFLICT (object_id) DO NOTHING;

-- ingest_merge_patrols --
-- New patrols with their observations and the events they observed (event_ref -> event
-- of the same source). A patrol already stored is a duplicate: nothing of it is added. The
-- patrol of a restricted unit is restricted (0011_restricted_patrols.sql).
WITH ins AS (
    INSERT INTO patrol (source, source_ref, batch_id, unit, mode, started_at, ended_at, track, attrs,
                        restricted)
    SELECT %(source)s, s.source_ref, %(batch_id)s, s.unit, s.mode, s.started_at, s.ended_at,
           ST_GeomFromEWKB(s.track), s.attrs::jsonb, coalesce(o.restricted, false)
      FROM stage_patrol s
      LEFT JOIN tracked_object o ON o.object_id = s.unit
    ON CONFLICT (source, source_ref) DO NOTHING
    RETURNING id, source_ref
), obs AS (
    INSERT INTO patrol_observation (patrol_id, source, batch_id, observed_at, geom, name, description,
                                    event_id, attrs)
    SELECT ins.id, %(source)s, %(batch_id)s, o.observed_at, ST_GeomFromEWKB(o.geom), o.name,
           o.description, e.id, o.attrs::jsonb
      FROM stage_observation o
      JOIN ins ON ins.source_ref = o.patrol_ref
      LEFT JOIN event e ON e.source = %(source)s AND e.source_ref = o.event_ref
    RETURNING patrol_id, event_id
), links AS (
    INSERT INTO patrol_event (patrol_id, event_id)
    SELECT DISTINCT patrol_id, event_id FROM obs WHERE event_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM links) AS links;

-- ingest_merge_observations --
-- Waypoints near no track of their own file (GPX, 0040_unlinked_observations.sql): linked to
-- the nearest stored patrol of the same source that they lie near in space and time (the
-- same rule as within a file: %(link_m)s metres from its line, timed within %(link_window)s of
-- its span; without a time, in space only), else kept as observations of the source, linked
-- to no patrol, with the section that holds them. The event they name is linked to the
-- patrol as well. One already stored (source + content key) is a duplicate.
WITH ins AS (
    INSERT INTO patrol_observation (patrol_id, source, source_ref, batch_id, observed_at, geom, name,
                                    description, event_id, attrs, section_code)
    SELECT l.id, %(source)s, o.source_ref, %(batch_id)s, o.observed_at, g.geom, o.name, o.description,
           e.id,
           CASE WHEN l.id IS NULL THEN o.attrs::jsonb
                ELSE (o.attrs::jsonb - 'unlinked' - 'nearest_track_km') || jsonb_build_object(
                     'linked_by', CASE WHEN o.observed_at IS NULL THEN 'space' ELSE 'time+space' END,
                     'distance_m', round(l.d::numeric, 1), 'linked_to', 'a stored patrol') END,
           (SELECT b.code FROM border_section b WHERE ST_Intersects(b.area, g.geom)
             ORDER BY (b.kind = 'air') DESC, b.code LIMIT 1)
      FROM stage_observation o
     CROSS JOIN LATERAL (SELECT ST_GeomFromEWKB(o.geom) AS geom) g
      LEFT JOIN LATERAL (
          SELECT p.id, ST_Distance(p.track::geography, g.geom::geography) AS d
            FROM patrol p
           WHERE p.source = %(source)s
             AND p.track && ST_Expand(g.geom,
                     %(link_m)s * 1.1 / (111320.0 * greatest(cos(radians(ST_Y(g.geom))), 0.01)),
                     %(link_m)s * 1.1 / 110540.0)
             AND (o.observed_at IS NULL OR o.observed_at BETWEEN p.started_at - %(link_window)s
                                                           AND p.ended_at + %(link_window)s)
             AND ST_DWithin(p.track::geography, g.geom::geography, %(link_m)s)
           ORDER BY 2 LIMIT 1) l ON true
      LEFT JOIN event e ON e.source = %(source)s AND e.source_ref = o.event_ref
     WHERE o.patrol_ref IS NULL
    ON CONFLICT (source, source_ref) DO NOTHING
    RETURNING patrol_id, event_id
), links AS (
    INSERT INTO patrol_event (patrol_id, event_id)
    SELECT DISTINCT patrol_id, event_id FROM ins WHERE patrol_id IS NOT NULL AND event_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM links) AS links;

-- ingest_time_reference --
-- The first completed delivery of the same file by the same source that read positions
-- against an assumed (delivery) time: a re-delivery is read against the same time.
SELECT id, time_reference FROM ingest_batch
 WHERE source = %(source)s AND sha256 = %(sha256)s AND time_reference IS NOT NULL
   AND status = 'done' AND id <> %(batch_id)s
 ORDER BY id LIMIT 1;

-- ingest_reread_assumed_times --
-- The positions whose times were assumed, read against the first delivery's reference: the
-- latest moment at or before it with the report's UTC second (ingest/formats/ais.py's rule), or the
-- reference itself for a report without one.
UPDATE stage_position s
   SET observed_at = CASE WHEN s.attrs::jsonb ->> 'utc_second' IS NULL THEN %(reference)s::timestamptz
                          ELSE date_trunc('second', %(reference)s::timestamptz) - make_interval(secs =>
                               ((extract(second FROM date_trunc('second', %(reference)s::timestamptz))::int
                                 - (s.attrs::jsonb ->> 'utc_second')::int) %% 60 + 60) %% 60)
                     END
 WHERE s.attrs::jsonb ->> 'time_source' = 'received';

-- ingest_batch_warnings --
-- What the batch tells the operator beyond its counts, and the assumed-time reference.
UPDATE ingest_batch SET warnings = %(warnings)s, time_reference = %(time_reference)s
 WHERE id = %(batch_id)s;

-- ingest_merge_positions --
-- Positions; (object_id, observed_at, source, geom) already stored is a duplicate: two
-- reports of one object at the same second but at different places are both kept. The section
-- is the one whose area holds the fix (nsp_locate's rule, without the distance): from the
-- lookup grid as for events (section_grid, 0009_section_grid.sql: a listed cell lies in one
-- section's area and touches no other, so it has that one answer), and for a fix in no listed
-- cell from the exact test (COALESCE runs it only then). Same answers; the exact test alone
-- cost 3 to 4 times as much for the benchmark's vessels. A position of a restricted object is
-- restricted too (0010_restricted_objects.sql).
INSERT INTO asset_position (source, object_id, kind, object_type, status, observed_at, geom,
                            speed_kn, course_deg, heading_deg, accuracy_m, stale_at,
                            section_code, patrol_id, batch_id, attrs, restricted)
SELECT %(source)s, s.object_id, s.kind, s.object_type, s.status, s.observed_at, g.geom,
       s.speed_kn, s.course_deg, s.heading_deg, s.accuracy_m, s.stale_at,
       coalesce(c.section_code, f.section_code,
                (SELECT b.code FROM border_section b WHERE ST_Intersects(b.area, g.geom)
                  ORDER BY (b.kind = 'air') DESC, b.code LIMIT 1)),
       p.id, %(batch_id)s, s.attrs::jsonb, coalesce(o.restricted, false)
  FROM stage_position s
 CROSS JOIN LATERAL (SELECT ST_GeomFromEWKB(s.geom) AS geom) g
  LEFT JOIN section_grid c ON c.k = 16 AND c.gx = floor(ST_X(g.geom) * 16)::integer
                          AND c.gy = floor(ST_Y(g.geom) * 16)::integer
  LEFT JOIN section_grid f ON c.section_code IS NULL AND f.k = 128
                          AND f.gx = floor(ST_X(g.geom) * 128)::integer
                          AND f.gy = floor(ST_Y(g.geom) * 128)::integer
  LEFT JOIN patrol p ON p.source = %(source)s AND p.source_ref = s.patrol_ref
  LEFT JOIN tracked_object o ON o.object_id = s.object_id
ON CONFLICT DO NOTHING;

-- ingest_merge_quarantine --
-- Rejected records; one already quarantined from the same source, at the same place with
-- the same raw text and reason (the same file delivered again), is not stored twice.
INSERT INTO quarantine (batch_id, source, file_name, format, location, line_no, record_no, raw, reason)
SELECT %(batch_id)s, %(source)s, %(file_name)s, %(format)s, s.location, s.line_no, s.record_no, s.raw, s.reason
  FROM stage_quarantine s
 WHERE NOT EXISTS (SELECT 1 FROM quarantine q
                    WHERE q.source = %(source)s AND q.location = s.location
                      AND md5(q.raw) = md5(s.raw) AND q.raw = s.raw AND q.reason = s.reason);

-- ingest_quarantine_file --
-- A file refused as a whole (UnreadableFile): one row at 'file' saying why, stored once per
-- source, file name, reason and first bytes; the same file delivered again adds none.
INSERT INTO quarantine (batch_id, source, file_name, format, location, raw, reason)
SELECT %(batch_id)s, %(source)s, %(file_name)s, %(format)s, 'file', %(raw)s, %(reason)s
 WHERE NOT EXISTS (SELECT 1 FROM quarantine q
                    WHERE q.source = %(source)s AND q.location = 'file' AND md5(q.raw) = md5(%(raw)s)
                      AND q.raw = %(raw)s AND q.reason = %(reason)s
                      AND q.file_name IS NOT DISTINCT FROM %(file_name)s);

-- ingest_position_weeks --
-- Make sure a weekly partition exists for every week the batch's positions fall in.
SELECT nsp_ensure_position_partitions(w, w)
  FROM (SELECT DISTINCT date_trunc('week', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS w
          FROM stage_position) weeks;

-- ingest_deliveries --
-- Recent deliveries (`nsp deliveries`), newest first; NULL parameters filter nothing.
SELECT b.id, b.received_at, b.finished_at, b.source, b.file_name, b.format, b.status,
       b.n_records, b.n_accepted, b.n_duplicates, b.n_quarantined, b.n_skipped, b.skipped_reasons, b.error
  FROM ingest_batch b
 WHERE b.received_at >= %(since)s
   AND (%(source)s::text IS NULL OR b.source = %(source)s::text)
   AND (%(status)s::text IS NULL OR b.status = %(status)s::text)
 ORDER BY b.received_at DESC, b.id DESC
 LIMIT %(limit)s;

-- ingest_quarantine_list --
-- Quarantined records (`nsp quarantine`), newest first: where, why and the raw text.
SELECT q.id, q.batch_id, q.created_at, q.source, q.file_name, q.format, q.location, q.reason, q.raw
  FROM quarantine q
 WHERE q.created_at >= %(since)s
   AND (%(batch_id)s::bigint IS NULL OR q.batch_id = %(batch_id)s::bigint)
   AND (%(source)s::text IS NULL OR q.source = %(source)s::text)
 ORDER BY q.created_at DESC, q.id DESC
 LIMIT %(limit)s;

-- feeds_expect --
-- Set (or change) how often a source is expected to deliver; returns the previous interval.
WITH old AS (SELECT every FROM feed_expectation WHERE source = %(source)s)
INSERT INTO feed_expectation AS x (source, every, note, set_by)
VALUES (%(source)s, %(every)s, %(note)s, %(actor)s)
ON CONFLICT (source) DO UPDATE
   SET every = EXCLUDED.every, note = coalesce(EXCLUDED.note, x.note), set_at = now(), set_by = EXCLUDED.set_by
RETURNING (SELECT every FROM old) AS previous

-- feeds_forget --
-- Remove a source's expected interval; returns it (no row: there was none).
DELETE FROM feed_expectation WHERE source = %(source)s RETURNING every

-- alerts_outbox --
-- The batch's events that an active alert subscription asks for, queued for delivery in the
-- batch's own transaction (0013_alerts.sql):
-- * new events: inserted by this transaction (their received_at is its start, read through
--   the received_at index); a re-delivered event is not new;
-- * raised events: stored before, updated by a newer message of this batch (Cursor on Target:
--   an unknown marker re-typed hostile) from an impact below the subscription's to one at or
--   above it (stage_prior holds the impact before the batch); raised_from says from what.
-- Follow-up reports are included; reports their source rejected on validation are not. One
-- delivery per subscription and event, ever.
WITH batch AS (
    SELECT e.id, e.impact, e.section_code, e.category, NULL::text AS prior
      FROM event e
     WHERE e.received_at = now() AND e.source = %(source)s AND e.batch_id = %(batch_id)s
       AND e.validation <> 'rejected'
    UNION ALL
    SELECT e.id, e.impact, e.section_code, e.category, p.impact
      FROM stage_prior p
      JOIN event e ON e.source = %(source)s AND e.source_ref = p.source_ref
     WHERE e.batch_id = %(batch_id)s AND e.received_at <> now() AND e.validation <> 'rejected'
)
INSERT INTO alert_delivery (subscription_id, event_id, raised_from)
SELECT s.id, b.id, b.prior
  FROM batch b
  JOIN alert_subscription s
    ON s.active
   AND array_position(ARRAY['low', 'medium', 'high', 'very_high'], b.impact)
       >= array_position(ARRAY['low', 'medium', 'high', 'very_high'], s.min_impact)
   AND (b.prior IS NULL OR array_position(ARRAY['low', 'medium', 'high', 'very_high'], b.prior)
                           < array_position(ARRAY['low', 'medium', 'high', 'very_high'], s.min_impact))
   AND (s.sections IS NULL OR b.section_code = ANY (s.sections))
   AND (s.categories IS NULL OR b.category = ANY (s.categories))
ON CONFLICT ON CONSTRAINT alert_delivery_once DO NOTHING

-- ingest_prior_impacts --
-- Before a versioned merge, while an alert subscription is active: the stored impact of each
-- event that the chunk's newer messages update (the first one seen in the batch is kept).
INSERT INTO stage_prior (source_ref, impact)
SELECT e.source_ref, e.impact
  FROM event e
 WHERE e.source = %(source)s
   AND e.source_ref IN (SELECT s.source_ref FROM stage_event s WHERE s.version IS NOT NULL)
ON CONFLICT (source_ref) DO NOTHING

-- alerts_claim --
-- One due delivery, locked so that another worker skips it, with what its message says: an
-- event's fields, or a late feed's (feed_source; 0016_feed_alerts.sql).
SELECT d.id, d.attempts, s.name AS subscription, s.url, s.secret, d.raised_from,
       d.feed_source, nullif(d.feed_since, 'epoch') AS feed_since, x.every AS feed_every,
       e.id::text AS event_id, e.category, e.subtype, e.impact, e.persons, e.section_code,
       b.name AS section_name, e.occurred_at, e.received_at, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       e.source, e.description, e.parent_id IS NOT NULL AS follow_up
  FROM alert_delivery d
  JOIN alert_subscription s ON s.id = d.subscription_id
  LEFT JOIN event e ON e.id = d.event_id
  LEFT JOIN border_section b ON b.code = e.section_code
  LEFT JOIN feed_expectation x ON x.source = d.feed_source
 WHERE d.status = 'queued' AND d.next_attempt_at <= now()
 ORDER BY d.next_attempt_at, d.id
 LIMIT 1
   FOR UPDATE OF d SKIP LOCKED

-- alerts_sent --
UPDATE alert_delivery
   SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_attempt_at = now(),
       http_status = %(http_status)s, last_error = NULL
 WHERE id = %(id)s

-- alerts_retry --
-- A failed attempt: try again after %(wait)s seconds, or give up (status failed) after the last.
UPDATE alert_delivery
   SET attempts = attempts + 1, last_attempt_at = now(), last_error = %(error)s,
       http_status = %(http_status)s,
       status = CASE WHEN attempts + 1 >= %(max_attempts)s THEN 'failed' ELSE 'queued' END,
       next_attempt_at = now() + make_interval(secs => %(wait)s)
 WHERE id = %(id)s
RETURNING status

-- alerts_list --
-- The subscriptions (`nsp alerts list`; never the secret) with their deliveries of 24 hours.
SELECT s.name, s.active, s.url, s.min_impact, s.sections, s.categories, s.feeds, s.created_at, s.created_by,
       count(d.id) FILTER (WHERE d.status = 'sent') AS sent_24h,
       count(d.id) FILTER (WHERE d.status = 'queued') AS waiting_24h,
       count(d.id) FILTER (WHERE d.status = 'failed') AS failed_24h
  FROM alert_subscription s
  LEFT JOIN alert_delivery d ON d.subscription_id = s.id AND d.created_at > now() - interval '24 hours'
 GROUP BY s.id
 ORDER BY s.name

-- alerts_log --
-- Deliveries (`nsp alerts log`), newest first.
SELECT d.id, d.created_at, s.name AS subscription, d.event_id::text AS event_id, e.impact, d.raised_from,
       e.category, e.section_code, d.feed_source, d.status, d.attempts, d.http_status, d.last_error,
       d.sent_at, d.last_attempt_at, d.next_attempt_at
  FROM alert_delivery d
  JOIN alert_subscription s ON s.id = d.subscription_id
  LEFT JOIN event e ON e.id = d.event_id
 WHERE d.created_at >= %(since)s
   AND (%(status)s::text IS NULL OR d.status = %(status)s::text)
   AND (%(subscription)s::text IS NULL OR s.name = %(subscription)s::text)
 ORDER BY d.created_at DESC, d.id DESC
 LIMIT %(limit)s

-- alerts_trouble --
-- For /healthz: deliveries given up in the last 24 hours, and queued ones waiting over 10 minutes.
SELECT count(*) FILTER (WHERE d.status = 'failed' AND d.last_attempt_at > now() - interval '24 hours') AS failed,
       count(*) FILTER (WHERE d.status = 'queued' AND d.created_at < now() - interval '10 minutes') AS late
  FROM alert_delivery d
 WHERE d.status = 'failed' OR d.status = 'queued'

-- alerts_feeds_outbox --
-- Late feeds (nsp_feeds_late(), 0016_feed_alerts.sql) for the subscriptions that asked for
-- them (--feeds): one delivery per subscription, feed and silence (feed_since = the feed's
-- last delivery, epoch when it never delivered); a feed that delivers and falls silent again
-- alerts again.
INSERT INTO alert_delivery (subscription_id, feed_source, feed_since)
SELECT s.id, l.source, coalesce(l.last_delivery, 'epoch')
  FROM nsp_feeds_late() l
  JOIN alert_subscription s ON s.active AND s.feeds
ON CONFLICT (subscription_id, feed_source, feed_since) WHERE feed_source IS NOT NULL DO NOTHING
