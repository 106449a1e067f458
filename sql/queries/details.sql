-- One event in full, for the details beside the main page's event list (geo/event_details.py).
-- Row-level security keeps out an event, a section, a batch or a patrol the user may not see.

-- details_event --
-- Every field of the event, its section's name, and the delivery that brought it (the feed's
-- file and format: ingest_batch, which scopes of every section read; NULL for others).
SELECT e.id::text AS id, e.source, e.source_ref, e.category, e.subtype,
       e.occurred_at, e.reported_at, e.received_at, e.updated_at,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.accuracy_m, e.persons,
       nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz) AS impact,
       e.source_reliability, e.credibility, e.validation,
       nsp_status_at(e.id, e.status, e.closed_at, %(known_at)s::timestamptz) AS status,
       e.closed_at, e.closed_by, e.parent_id::text AS parent_id,
       e.crossing_stage, e.crossing_mode, e.direction, e.detection_method, e.transport_means,
       e.evasion_attempt, e.facilitation_link, e.sar_link, e.description, e.stale_at,
       e.section_code, s.name AS section_name, e.distance_to_border_m,
       b.file_name AS batch_file, b.format AS batch_format, b.received_at AS batch_received_at,
       {observed_by} AS observed_by
  FROM event e
  LEFT JOIN border_section s ON s.code = e.section_code
  LEFT JOIN ingest_batch b ON b.id = e.batch_id
 WHERE e.id = %(id)s::uuid

-- details_follow_ups --
-- The follow-up reports of an event (2021/581 Art 9), oldest first.
SELECT c.id::text AS id, c.occurred_at, c.received_at, c.source, c.description
  FROM event c
 WHERE c.parent_id = %(id)s::uuid
 ORDER BY c.occurred_at, c.id
