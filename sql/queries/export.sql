-- Queries of the weekly snapshot export (geo/snapshot/).
-- Common parameters: start, end_ (the week, timestamptz, [start, end_)),
-- sections (text[] of section codes, or NULL for every section), tz (the centre's zone).
-- Times that go to files are ISO 8601 text in UTC, formatted here so that the writers
-- never format a value per row in Python.

-- export_count_sections --
SELECT count(*) AS n FROM border_section
 WHERE (%(sections)s::text[] IS NULL OR code = ANY(%(sections)s));

-- export_count_events --
SELECT count(*) AS n FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s));

-- export_count_patrols --
SELECT count(*) AS n FROM patrol
 WHERE started_at < %(end_)s AND ended_at >= %(start)s
   AND (%(sections)s::text[] IS NULL OR section_codes && %(sections)s::text[]);

-- export_count_positions --
SELECT count(*) AS n FROM asset_position
 WHERE observed_at >= %(start)s AND observed_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s));

-- export_count_border_lines --
SELECT count(*) AS n FROM border_section
 WHERE line IS NOT NULL AND (%(sections)s::text[] IS NULL OR code = ANY(%(sections)s));

-- export_count_level_changes --
SELECT count(*) AS n FROM impact_level_change
 WHERE decided_at >= %(start)s AND decided_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s));

-- export_sections --
-- The border sections of the export; geometry = the area, or, when the parameter lines is
-- true, the border line (sections without one are then left out).
-- impact_level is the level in force at the week's end: the last decision before it, or, for
-- a section whose first recorded level is later, that first level. impact_level_now is
-- today's, level_changes the number of decisions taken during the week.
SELECT s.code, s.name, s.kind, s.neighbour, s.regional_board, s.length_km,
       CASE WHEN s.kind = 'land-internal' THEN NULL
            ELSE coalesce(before_end.to_level, first_known.to_level) END AS impact_level,
       s.impact_level AS impact_level_now,
       (SELECT count(*) FROM impact_level_change c
         WHERE c.section_code = s.code AND c.decided_at >= %(start)s AND c.decided_at < %(end_)s)::int
           AS level_changes,
       ST_AsBinary(CASE WHEN %(lines)s THEN s.line ELSE s.area END) AS wkb
  FROM border_section s
  LEFT JOIN LATERAL (SELECT c.to_level FROM impact_level_change c
                      WHERE c.section_code = s.code AND c.decided_at < %(end_)s
                      ORDER BY c.decided_at DESC, c.id DESC LIMIT 1) before_end ON true
  LEFT JOIN LATERAL (SELECT c.to_level FROM impact_level_change c
                      WHERE c.section_code = s.code
                      ORDER BY c.decided_at, c.id LIMIT 1) first_known ON true
 WHERE (%(sections)s::text[] IS NULL OR s.code = ANY(%(sections)s))
   AND (NOT %(lines)s OR s.line IS NOT NULL)
 ORDER BY s.code;

-- export_level_changes --
-- The impact-level decisions taken during the week (a table without geometry).
SELECT section_code, from_level, to_level,
       to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS decided_at,
       decided_by, reason
  FROM impact_level_change
 WHERE decided_at >= %(start)s AND decided_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 ORDER BY decided_at, id;

-- export_sections_map --
-- Sections for the map: simplified area and line as GeoJSON (WGS 84, 5 decimals).
SELECT code, name, kind, impact_level,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(area, 0.0005), 5) AS area,
       ST_AsGeoJSON(line, 5) AS line
  FROM border_section
 WHERE (%(sections)s::text[] IS NULL OR code = ANY(%(sections)s))
 ORDER BY code;

-- export_events --
-- Every event of the week, streamed through a server-side cursor.
SELECT id::text AS id, source, source_ref, category, subtype,
       to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred_at,
       to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS reported_at,
       to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at,
       round(ST_X(geom)::numeric, 6)::float8 AS lon, round(ST_Y(geom)::numeric, 6)::float8 AS lat,
       accuracy_m, persons, impact, source_reliability, credibility, validation, status,
       to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS closed_at,
       to_char(impact_decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS impact_decided_at,
       parent_id::text AS parent_id, crossing_stage, crossing_mode, direction,
       detection_method, transport_means, evasion_attempt, facilitation_link, sar_link,
       section_code, round(distance_to_border_m::numeric, 1)::float8 AS distance_to_border_m,
       description, ST_AsBinary(geom) AS wkb
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 ORDER BY event.occurred_at, event.id;

-- export_patrols --
-- Patrols whose time overlaps the week.
SELECT id::text AS id, source, source_ref, unit, mode,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at,
       to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ended_at,
       round(length_km::numeric, 3)::float8 AS length_km,
       array_to_string(section_codes, ',') AS section_codes,
       ST_AsBinary(track) AS wkb
  FROM patrol
 WHERE started_at < %(end_)s AND ended_at >= %(start)s
   AND (%(sections)s::text[] IS NULL OR section_codes && %(sections)s::text[])
 ORDER BY patrol.started_at, patrol.id;

-- export_patrols_map --
-- Patrol tracks for the map, simplified (about 50 m) so the page stays small.
SELECT unit, mode,
       to_char(started_at AT TIME ZONE %(tz)s, 'Dy DD.MM HH24:MI') AS started,
       to_char(ended_at AT TIME ZONE %(tz)s, 'Dy DD.MM HH24:MI') AS ended,
       round(length_km::numeric, 1)::float8 AS length_km,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(track, 0.0005), 5) AS geojson
  FROM patrol
 WHERE started_at < %(end_)s AND ended_at >= %(start)s
   AND (%(sections)s::text[] IS NULL OR section_codes && %(sections)s::text[])
 ORDER BY started_at, id;

-- export_positions --
-- Asset positions of the week (own assets, vessels, aircraft, ...), with the object's name
-- and call sign (tracked_object) where a feed gave them; a UAV's operator where its Remote ID
-- gave one (ingest/remoteid.py).
SELECT source, object_id, o.name AS object_name, o.callsign, asset_position.kind,
       asset_position.object_type, status,
       to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS observed_at,
       speed_kn, course_deg, heading_deg, accuracy_m, section_code,
       CASE WHEN jsonb_typeof(asset_position.attrs -> 'operator_lon') = 'number'
            THEN (asset_position.attrs ->> 'operator_lon')::float8 END AS operator_lon,
       CASE WHEN jsonb_typeof(asset_position.attrs -> 'operator_lat') = 'number'
            THEN (asset_position.attrs ->> 'operator_lat')::float8 END AS operator_lat,
       patrol_id::text AS patrol_id, ST_AsBinary(geom) AS wkb
  FROM asset_position
  LEFT JOIN tracked_object o USING (object_id)
 WHERE observed_at >= %(start)s AND observed_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 ORDER BY asset_position.observed_at, asset_position.object_id;

-- export_event_grid --
-- The map's view above map_max_markers events: counts per category on a grid of
-- %(cell)s degrees, at the mean position of the cell's events.
SELECT category, count(*) AS n, coalesce(sum(persons), 0) AS persons,
       max(CASE impact WHEN 'very_high' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) AS max_impact,
       round(avg(ST_Y(geom))::numeric, 5)::float8 AS lat, round(avg(ST_X(geom))::numeric, 5)::float8 AS lon
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s AND parent_id IS NULL AND validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 GROUP BY category, floor(ST_X(geom) / %(cell)s), floor(ST_Y(geom) / %(cell)s)
 ORDER BY category, n DESC;

-- summary_by_section --
-- Events and persons per section and category this week, and events the week before. The
-- summary counts what the picture counts: first reports that their source did not reject on
-- validation (sql/migrations/0017_picture_counts.sql); summary_left_out says how many else.
SELECT coalesce(section_code, '') AS section_code, category,
       count(*) FILTER (WHERE occurred_at >= %(start)s) AS n,
       coalesce(sum(persons) FILTER (WHERE occurred_at >= %(start)s), 0) AS persons,
       count(*) FILTER (WHERE occurred_at < %(start)s) AS n_prev
  FROM event
 WHERE occurred_at >= %(prev_start)s AND occurred_at < %(end_)s AND parent_id IS NULL AND validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- summary_daily --
-- Events per local day and category.
SELECT (occurred_at AT TIME ZONE %(tz)s)::date AS day, category, count(*) AS n
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s AND parent_id IS NULL AND validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- summary_left_out --
-- The week's reports that the summary does not count as events: follow-up reports, and
-- first reports their source rejected on validation. Both are in events.csv and the GeoPackage.
SELECT count(*) FILTER (WHERE parent_id IS NOT NULL) AS follow_ups,
       count(*) FILTER (WHERE parent_id IS NULL AND validation = 'rejected') AS rejected
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s));

-- summary_level_changes --
-- Impact-level changes recorded during the week; set_up: a section's first level, recorded when
-- the sections were loaded (no level before it), or one recorded by 'system' — not a decision
-- of the week (the summary lists only the others; level_changes of the GeoPackage has them all).
SELECT c.section_code, c.from_level, c.to_level, c.decided_by, c.reason,
       (c.from_level IS NULL OR c.decided_by = 'system') AS set_up,
       to_char(c.decided_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS decided_local
  FROM impact_level_change c
 WHERE c.decided_at >= %(start)s AND c.decided_at < %(end_)s
   AND (%(sections)s::text[] IS NULL OR c.section_code = ANY(%(sections)s))
 ORDER BY c.decided_at, c.id;

-- summary_event_decisions --
-- The NCC's decisions on events taken during the week (0019_event_decisions.sql), with what
-- the event is: its time, category and source's ref. Not the changes a feed made itself
-- (decided_by 'source:<feed>': a Cursor on Target cancel or delete, an emergency raised again).
SELECT d.section_code, d.action, d.from_value, d.to_value, d.decided_by, d.reason, e.category,
       e.source, e.source_ref,
       to_char(d.decided_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS decided_local,
       to_char(e.occurred_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS occurred_local
  FROM event_decision d
  JOIN event e ON e.id = d.event_id
 WHERE d.decided_at >= %(start)s AND d.decided_at < %(end_)s AND d.decided_by NOT LIKE 'source:%%'
   AND (%(sections)s::text[] IS NULL OR d.section_code = ANY(%(sections)s))
 ORDER BY d.decided_at, d.id;

-- summary_high_totals --
-- How many high/very_high first reports the week has, and how many were reported late.
SELECT count(*) AS n,
       count(*) FILTER (WHERE coalesce(reported_at, received_at) - occurred_at > %(report_limit)s::interval) AS late
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s AND parent_id IS NULL AND validation <> 'rejected'
   AND impact IN ('high', 'very_high')
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s));

-- summary_high_events --
-- High and very_high first reports with the time from occurrence to the first report
-- (reported_at, else received_at); the late ones first, then by time, up to %(limit)s.
SELECT id::text AS id, category, subtype, impact, persons, section_code, source, source_ref,
       to_char(occurred_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS occurred_local,
       to_char(coalesce(reported_at, received_at) AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS reported_local,
       reported_at IS NULL AS from_received,
       extract(epoch FROM coalesce(reported_at, received_at) - occurred_at)::float8 AS delay_s
  FROM event
 WHERE occurred_at >= %(start)s AND occurred_at < %(end_)s AND parent_id IS NULL AND validation <> 'rejected'
   AND impact IN ('high', 'very_high')
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 ORDER BY (coalesce(reported_at, received_at) - occurred_at > %(report_limit)s::interval) DESC, occurred_at, id
 LIMIT %(limit)s;

-- export_audit --
-- The audit row of an export. No RETURNING: under RLS only admins may read audit_log back.
INSERT INTO audit_log (actor, action, object, details)
VALUES (%(actor)s, 'export', %(week)s, %(details)s);

-- indicators_events --
-- Monthly indicators of the events layer, per section (NULL: outside every section) and in
-- total (is_total), for the month (cur) and the one before it. First reports only, except
-- follow_ups; reports rejected on validation are not counted, only in rejected; the Annex 2
-- fields of unauthorised border crossings; the single-event-report timeliness (2021/581 Art 9:
-- first report within 24 hours of occurrence, the report's time being reported_at, else
-- received_at).
WITH e AS (
    SELECT e.*, e.occurred_at >= %(start)s AS cur,
           e.parent_id IS NULL AND e.validation <> 'rejected' AS first,
           e.category = 'unauthorised_border_crossing' AND e.parent_id IS NULL AND e.validation <> 'rejected' AS ubc
      FROM event e
     WHERE e.occurred_at >= %(prev_start)s AND e.occurred_at < %(end_)s
       AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
)
SELECT e.section_code, e.cur, GROUPING(e.section_code) = 1 AS is_total,
       count(*) FILTER (WHERE e.first) AS events,
       count(*) FILTER (WHERE e.ubc) AS ubc,
       count(*) FILTER (WHERE e.first AND e.category = 'cross_border_crime') AS crime,
       count(*) FILTER (WHERE e.first AND e.category = 'crisis_situation') AS crisis,
       count(*) FILTER (WHERE e.first AND e.category = 'other') AS other,
       coalesce(sum(e.persons) FILTER (WHERE e.ubc), 0) AS ubc_persons,
       count(*) FILTER (WHERE e.ubc AND e.crossing_stage = 'attempted') AS ubc_attempted,
       count(*) FILTER (WHERE e.ubc AND e.crossing_stage = 'actual') AS ubc_actual,
       count(*) FILTER (WHERE e.ubc AND e.direction = 'entry') AS ubc_entry,
       count(*) FILTER (WHERE e.ubc AND e.direction = 'exit') AS ubc_exit,
       count(*) FILTER (WHERE e.ubc AND e.detection_method = 'bcp_check') AS ubc_bcp_check,
       count(*) FILTER (WHERE e.ubc AND e.detection_method = 'border_surveillance') AS ubc_border_surveillance,
       count(*) FILTER (WHERE e.ubc AND e.evasion_attempt) AS ubc_evasion,
       count(*) FILTER (WHERE e.ubc AND e.facilitation_link) AS ubc_facilitation,
       count(*) FILTER (WHERE e.ubc AND e.sar_link) AS ubc_sar,
       count(*) FILTER (WHERE e.first AND e.impact IN ('high', 'very_high')) AS high_impact,
       count(*) FILTER (WHERE e.first AND e.impact IN ('high', 'very_high')
                          AND coalesce(e.reported_at, e.received_at) - e.occurred_at > %(report_limit)s::interval)
           AS reports_over_24h,
       count(*) FILTER (WHERE e.parent_id IS NOT NULL AND e.validation <> 'rejected') AS follow_ups,
       count(*) FILTER (WHERE e.validation = 'rejected') AS rejected
  FROM e
 GROUP BY GROUPING SETS ((e.section_code, e.cur), (e.cur))

-- indicators_patrols --
-- Monthly indicators of the operational layer: patrols that started in the month (cur) or
-- the one before, and their hours; per section a patrol passes through (a patrol through
-- two sections counts in both), and in total (once).
WITH p AS (
    SELECT p.id, p.started_at >= %(start)s AS cur, p.section_codes,
           extract(epoch FROM (coalesce(p.ended_at, p.started_at) - p.started_at)) / 3600.0 AS hours
      FROM patrol p
     WHERE p.started_at >= %(prev_start)s AND p.started_at < %(end_)s
       AND (%(sections)s::text[] IS NULL OR p.section_codes && %(sections)s::text[])
)
SELECT s.code AS section_code, p.cur, false AS is_total, count(*) AS patrols,
       round(sum(p.hours)::numeric, 1) AS patrol_hours
  FROM p CROSS JOIN LATERAL unnest(p.section_codes) AS s (code)
 WHERE %(sections)s::text[] IS NULL OR s.code = ANY (%(sections)s::text[])
 GROUP BY 1, 2
UNION ALL
SELECT NULL, p.cur, true, count(*), round(sum(p.hours)::numeric, 1)
  FROM p
 GROUP BY p.cur

-- indicators_levels --
-- The impact-level decisions that shaped the month and the one before: for each section of
-- the export, the last decision before %(prev_start)s, then every decision until %(end_)s.
SELECT s.code AS section_code, c.decided_at, c.to_level
  FROM border_section s
  JOIN LATERAL (
        (SELECT c.decided_at, c.to_level FROM impact_level_change c
          WHERE c.section_code = s.code AND c.decided_at < %(prev_start)s
          ORDER BY c.decided_at DESC, c.id DESC LIMIT 1)
        UNION ALL
        (SELECT c.decided_at, c.to_level FROM impact_level_change c
          WHERE c.section_code = s.code AND c.decided_at >= %(prev_start)s AND c.decided_at < %(end_)s)) c ON true
 WHERE s.kind <> 'land-internal'
   AND (%(sections)s::text[] IS NULL OR s.code = ANY (%(sections)s::text[]))
 ORDER BY s.code, c.decided_at
