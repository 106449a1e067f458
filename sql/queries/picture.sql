-- The queries behind the map, the panels and the wall (geo/picture.py).
-- Blocks that contain {filter} or {observed_by} are composed in Python with the
-- picture_event_filter or picture_observed_by block (psycopg.sql.SQL.format; geo/picture.py
-- _composed), so each is written once. Every parameter that is NULL
-- turns its condition off; the planner folds those away because the queries run unprepared.

-- picture_event_filter --
-- The non-time part of every event filter. Follow-up reports (parent_id set) belong to
-- their first report and are not drawn or counted on their own; reports their source
-- rejected on validation are not drawn or counted either (0017_picture_counts.sql), except
-- when %(rejected)s is true, which asks for those alone (the map's note counts them). The
-- planner folds "(x) = false" to "NOT x" and "(x) = true" to "x" (event_rejected_idx).
-- A viewport (%(bbox)s, zoom 9 and more) comes with the cells it touches (%(cells)s) and those
-- wholly inside it (%(inner_cells)s; geo/picture/viewcells.py): the events are read by cell and
-- time from event_cell_time_idx (0170_event_view_cells.sql), and only those of the cells on
-- the box's edge take the exact test. Too many cells: both NULL, the box test alone.
e.parent_id IS NULL
AND (e.validation = 'rejected') = %(rejected)s::boolean
AND (%(known_at)s::timestamptz IS NULL OR e.received_at <= %(known_at)s::timestamptz)
AND (%(categories)s::text[] IS NULL OR e.category = ANY (%(categories)s::text[]))
AND (%(impacts)s::text[] IS NULL OR nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz) = ANY (%(impacts)s::text[]))
AND (%(sources)s::text[] IS NULL OR e.source = ANY (%(sources)s::text[]))
AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
AND (%(cells)s::integer[] IS NULL OR e.cell = ANY (%(cells)s::integer[]))
AND (%(bbox)s::float8[] IS NULL OR e.cell = ANY (%(inner_cells)s::integer[]) OR e.geom && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2],
        (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))

-- picture_observed_by --
-- The patrols that observed event e (patrol_event; 2019/1896 Art 24(2)), as "unit (mode)", in
-- the order they started: one probe of patrol_event_event_idx (0023). Row-level security keeps
-- out a patrol the user may not see. Included as {observed_by} by the point and list queries.
(SELECT string_agg(p.unit || ' (' || p.mode || ')', ', ' ORDER BY p.started_at, p.unit)
   FROM patrol_event pe JOIN patrol p ON p.id = pe.patrol_id
  WHERE pe.event_id = e.id)

-- picture_events_count --
-- How many events match, counting at most %(cap)s (enough to choose points or aggregates).
SELECT count(*) AS n
  FROM (SELECT 1 FROM event e
         WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
         LIMIT %(cap)s) t

-- picture_events_points --
-- The events themselves, newest first, with what the details popup shows: the report's own
-- text and its follow-up reports (how many, and the latest: its time and text; the response,
-- 2021/581 Art 9), texts cut to 200 characters so the payload stays bounded. The follow-ups
-- are one probe of event_parent_idx per event; only their first report is drawn. The patrols
-- that observed it (patrol_event; Art 24(2)), as "unit (mode)": one probe of
-- patrol_event_event_idx (0023), and row-level security keeps out a patrol the user may not see.
SELECT e.id::text AS id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.category, e.subtype,
       to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS t, e.persons,
       nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz) AS impact, e.source_reliability, e.credibility, e.validation,
       nsp_status_at(e.id, e.status, e.closed_at, %(known_at)s::timestamptz) AS status, e.source, e.section_code, e.distance_to_border_m, left(e.description, 200) AS description,
       coalesce(fu.n, 0) AS follow_ups, fu.t AS follow_up_t, left(fu.description, 200) AS follow_up,
       {observed_by} AS observed_by
  FROM event e
  LEFT JOIN LATERAL (
        SELECT count(*) OVER () AS n, c.description,
               to_char(c.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS t
          FROM event c
         WHERE c.parent_id = e.id
         ORDER BY c.occurred_at DESC, c.id DESC
         LIMIT 1) fu ON true
 WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
 ORDER BY e.occurred_at DESC
 LIMIT %(limit)s

-- picture_events_grid --
-- Server-side aggregation: counts per grid cell and category, placed at the mean position of
-- the cell's events; the largest cells first. Cell (cx, cy) = floor(lon * kx / 360),
-- floor(lat * ky / 360), kx and ky powers of two (geo/picture.py grid_level). The whole UTC
-- days [day_from, day_to) come from the pre-aggregate event_cell_day
-- (sql/migrations/0008_event_cells.sql; its cells shifted right by %(shift)s are this grid's),
-- the time ranges [edge_lo[i], edge_hi[i]) from the events themselves. When the aggregate
-- cannot answer, day_from = day_to and one edge is the whole window (geo/picture.py _split).
-- An event's cell on grids up to level 13 is its stored event.cell shifted right by %(cshift)s
-- (0170_event_view_cells.sql: the same cell floor(lon * kx / 360) gives, without reading the
-- point); NULL on finer grids, which compute it.
WITH parts AS (
    SELECT a.category, a.gx >> %(shift)s AS cx, a.gy >> %(shift)s AS cy,
           a.n_low + a.n_medium + a.n_high + a.n_very_high AS n, a.persons,
           CASE WHEN a.n_very_high > 0 THEN 4 WHEN a.n_high > 0 THEN 3
                WHEN a.n_medium > 0 THEN 2 ELSE 1 END AS impact,
           a.sum_lon, a.sum_lat
      FROM event_cell_day a
     WHERE a.day >= %(day_from)s AND a.day < %(day_to)s
       AND a.n_low + a.n_medium + a.n_high + a.n_very_high > 0
       AND (%(categories)s::text[] IS NULL OR a.category = ANY (%(categories)s::text[]))
       AND (%(sources)s::text[] IS NULL OR a.source = ANY (%(sources)s::text[]))
       AND (%(sections)s::text[] IS NULL OR a.section_code = ANY (%(sections)s::text[]))
    UNION ALL
    SELECT e.category,
           CASE WHEN %(cshift)s::integer IS NULL THEN floor(ST_X(e.geom) * %(kx)s / 360)::integer
                ELSE ((e.cell >> 14) - 4096) >> %(cshift)s::integer END,
           CASE WHEN %(cshift)s::integer IS NULL THEN floor(ST_Y(e.geom) * %(ky)s / 360)::integer
                ELSE ((e.cell & 16383) - 4096) >> %(cshift)s::integer END,
           1, coalesce(e.persons, 0), array_position(ARRAY['low', 'medium', 'high', 'very_high'],
                          nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz)),
           ST_X(e.geom), ST_Y(e.geom)
      FROM unnest(%(edge_lo)s::timestamptz[], %(edge_hi)s::timestamptz[]) AS edge (lo, hi)
      JOIN event e ON e.occurred_at >= edge.lo AND e.occurred_at < edge.hi
     WHERE {filter}
)
SELECT p.category, p.cx, p.cy, sum(p.n) AS n, sum(p.persons) AS persons, max(p.impact) AS max_impact,
       sum(p.sum_lon) / sum(p.n) AS lon, sum(p.sum_lat) / sum(p.n) AS lat
  FROM parts p
 GROUP BY 1, 2, 3
 ORDER BY n DESC
 LIMIT %(limit)s

-- picture_events_grid_window --
-- picture_events_grid for a window with no whole UTC day to take from event_cell_day (a
-- viewport, which the day cells know nothing of, or less than a day): the same cells, counts
-- and places from the events of [start, end) alone, in one aggregate. Without the union and
-- the edges' nested loop the zoom 10 viewport of tests/benchmarks/test_map_bench.py (58,000
-- events into 2,400 cells) takes 40 ms of the database instead of 43-56.
SELECT e.category,
       CASE WHEN %(cshift)s::integer IS NULL THEN floor(ST_X(e.geom) * %(kx)s / 360)::integer
            ELSE ((e.cell >> 14) - 4096) >> %(cshift)s::integer END AS cx,
       CASE WHEN %(cshift)s::integer IS NULL THEN floor(ST_Y(e.geom) * %(ky)s / 360)::integer
            ELSE ((e.cell & 16383) - 4096) >> %(cshift)s::integer END AS cy,
       count(*) AS n, sum(coalesce(e.persons, 0)) AS persons,
       max(array_position(ARRAY['low', 'medium', 'high', 'very_high'],
                          nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz))) AS max_impact,
       sum(ST_X(e.geom)) / count(*) AS lon, sum(ST_Y(e.geom)) / count(*) AS lat  -- avg(float8) also sums squares
  FROM event e
 WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
 GROUP BY 1, 2, 3
 ORDER BY n DESC
 LIMIT %(limit)s

-- picture_event_list --
-- Rows of the event list (newest first), with the report's text and its number of follow-ups.
SELECT e.id::text AS id, e.occurred_at, e.received_at, e.category, e.subtype,
       nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz) AS impact, e.persons, e.section_code, e.source,
       nsp_status_at(e.id, e.status, e.closed_at, %(known_at)s::timestamptz) AS status, e.validation,
       e.source_reliability, e.credibility, e.distance_to_border_m,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, left(e.description, 200) AS description,
       (SELECT count(*) FROM event c WHERE c.parent_id = e.id) AS follow_ups,
       {observed_by} AS observed_by
  FROM event e
 WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
 ORDER BY e.occurred_at DESC
 LIMIT %(limit)s

-- picture_event_export --
-- Every event of a filter, for /export/events.csv and .geojson: the rows of the event list
-- (the same filter; no limit, oldest first) with every column an analyst needs, streamed
-- through a server-side cursor. The viewport is not part of it: a link carries no bounds.
SELECT e.id::text AS id, e.source, e.source_ref, e.category, e.subtype,
       to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred_at,
       to_char(e.reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS reported_at,
       to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at,
       round(ST_X(e.geom)::numeric, 6)::float8 AS lon, round(ST_Y(e.geom)::numeric, 6)::float8 AS lat,
       e.accuracy_m, e.persons, nsp_impact_at(e.id, e.impact, e.impact_decided_at, %(known_at)s::timestamptz) AS impact,
       e.source_reliability, e.credibility, e.validation, nsp_status_at(e.id, e.status, e.closed_at, %(known_at)s::timestamptz) AS status,
       e.crossing_stage, e.crossing_mode, e.direction, e.detection_method, e.transport_means,
       e.evasion_attempt, e.facilitation_link, e.sar_link, e.section_code,
       round(e.distance_to_border_m::numeric, 1)::float8 AS distance_to_border_m, e.description
  FROM event e
 WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
 ORDER BY e.occurred_at, e.id

-- picture_timeseries --
-- Events per %(bucket)s ('hour' or 'day', UTC) and category.
SELECT date_trunc(%(bucket)s, e.occurred_at AT TIME ZONE 'UTC') AS bucket, e.category,
       count(*) AS n
  FROM event e
 WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND {filter}
 GROUP BY 1, 2
 ORDER BY 1, 2

-- picture_timeseries_days --
-- Events per UTC day and category: whole days from event_cell_day, the edges from event (as
-- in picture_events_grid).
WITH parts AS (
    SELECT a.day::timestamp AS bucket, a.category, a.n_low + a.n_medium + a.n_high + a.n_very_high AS n
      FROM event_cell_day a
     WHERE a.day >= %(day_from)s AND a.day < %(day_to)s
       AND (%(categories)s::text[] IS NULL OR a.category = ANY (%(categories)s::text[]))
       AND (%(sources)s::text[] IS NULL OR a.source = ANY (%(sources)s::text[]))
       AND (%(sections)s::text[] IS NULL OR a.section_code = ANY (%(sections)s::text[]))
    UNION ALL
    SELECT date_trunc('day', e.occurred_at AT TIME ZONE 'UTC'), e.category, 1
      FROM unnest(%(edge_lo)s::timestamptz[], %(edge_hi)s::timestamptz[]) AS edge (lo, hi)
      JOIN event e ON e.occurred_at >= edge.lo AND e.occurred_at < edge.hi
     WHERE {filter}
)
SELECT p.bucket, p.category, sum(p.n) AS n
  FROM parts p
 GROUP BY 1, 2
HAVING sum(p.n) > 0
 ORDER BY 1, 2

-- picture_section_stats --
-- Per section: its level (as at %(level_at)s when given), events and persons in the window,
-- events in the previous window of the same length, and the time of its last event.
-- Whole UTC days of both windows come from event_cell_day, the edges from event (as in
-- picture_events_grid).
SELECT s.code, s.name, s.kind, s.neighbour, s.regional_board,
       CASE WHEN %(level_at)s::timestamptz IS NULL THEN s.impact_level
            ELSE coalesce(h.to_level, s.impact_level) END AS impact_level,
       coalesce(w.n, 0) AS events, coalesce(w.persons, 0) AS persons,
       coalesce(w.n_prev, 0) AS events_prev, l.last_event
  FROM border_section s
  LEFT JOIN LATERAL (
        SELECT c.to_level FROM impact_level_change c
         WHERE c.section_code = s.code AND c.decided_at <= %(level_at)s::timestamptz
         ORDER BY c.decided_at DESC, c.id DESC LIMIT 1) h ON true
  LEFT JOIN (
        SELECT x.section_code,
               sum(x.n) FILTER (WHERE x.cur)::bigint AS n,
               sum(x.persons) FILTER (WHERE x.cur)::bigint AS persons,
               sum(x.n) FILTER (WHERE NOT x.cur)::bigint AS n_prev
          FROM (SELECT a.section_code, a.day >= %(day_from)s AS cur,
                       a.n_low + a.n_medium + a.n_high + a.n_very_high AS n, a.persons
                  FROM event_cell_day a
                 WHERE ((a.day >= %(prev_day_from)s AND a.day < %(prev_day_to)s)
                        OR (a.day >= %(day_from)s AND a.day < %(day_to)s))
                   AND (%(categories)s::text[] IS NULL OR a.category = ANY (%(categories)s::text[]))
                   AND (%(sources)s::text[] IS NULL OR a.source = ANY (%(sources)s::text[]))
                   AND (%(sections)s::text[] IS NULL OR a.section_code = ANY (%(sections)s::text[]))
                UNION ALL
                SELECT e.section_code, e.occurred_at >= %(start)s, 1, coalesce(e.persons, 0)
                  FROM unnest(%(edge_lo)s::timestamptz[], %(edge_hi)s::timestamptz[]) AS edge (lo, hi)
                  JOIN event e ON e.occurred_at >= edge.lo AND e.occurred_at < edge.hi
                 WHERE {filter}) x
         GROUP BY x.section_code) w ON w.section_code = s.code
  -- The newest event before the end that the filter lets through: a backward scan of the
  -- (section_code, occurred_at) index from (code, end) down to the section's first event.
  -- Written as a row comparison so that the planner takes that index: with section_code =
  -- s.code (or max()) it scanned the time index backwards instead, through every event when a
  -- section has none (320 ms on 1M events).
  LEFT JOIN LATERAL (
        SELECT e.occurred_at AS last_event FROM event e
         WHERE (e.section_code, e.occurred_at) < (s.code, %(end)s::timestamptz) AND e.section_code >= s.code
           AND {filter}
         ORDER BY e.section_code DESC, e.occurred_at DESC LIMIT 1) l ON true
 WHERE %(sections)s::text[] IS NULL OR s.code = ANY (%(sections)s::text[])
 ORDER BY (s.kind = 'land-internal'), s.code

-- picture_section_list --
-- Codes and names for the section pickers (external sections first).
SELECT s.code, s.name, s.kind, s.impact_level
  FROM border_section s
 ORDER BY (s.kind = 'land-internal'), s.code

-- picture_sections_geo --
-- Section lines and (simplified) areas as GeoJSON text, with the level as at %(level_at)s.
-- The box a view of the section fits: its line with %(margin_m)s metres on every side (in the
-- section's metric CRS), so that the border runs through the middle of the view with the
-- approach from the other side as wide as the home side; not the area, whose long inland part
-- put the border at the view's bottom edge. A section without a line: its area.
SELECT s.code, s.name, s.kind, s.neighbour, s.regional_board, s.length_km,
       CASE WHEN %(level_at)s::timestamptz IS NULL THEN s.impact_level
            ELSE coalesce(h.to_level, s.impact_level) END AS impact_level,
       ST_AsGeoJSON(s.line, 5) AS line,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(s.area, 0.003), 4) AS area,
       ST_XMin(v.box) AS xmin, ST_YMin(v.box) AS ymin, ST_XMax(v.box) AS xmax, ST_YMax(v.box) AS ymax,
       ST_X(ST_PointOnSurface(coalesce(s.line, s.area))) AS label_lon,
       ST_Y(ST_PointOnSurface(coalesce(s.line, s.area))) AS label_lat
  FROM border_section s
  CROSS JOIN LATERAL (
        SELECT coalesce(ST_Envelope(ST_Transform(ST_Expand(ST_Envelope(s.line_m), %(margin_m)s::float8), 4326)),
                        ST_Envelope(s.area)) AS box) v
  LEFT JOIN LATERAL (
        SELECT c.to_level FROM impact_level_change c
         WHERE c.section_code = s.code AND c.decided_at <= %(level_at)s::timestamptz
         ORDER BY c.decided_at DESC, c.id DESC LIMIT 1) h ON true
 ORDER BY s.code

-- picture_patrols --
-- Patrol tracks that overlap the window (newest first), simplified to %(tolerance)s degrees,
-- with the number of events each observed (patrol_event's primary key; those the user may see).
SELECT p.id::text AS id, p.unit, p.mode, p.started_at, p.ended_at, p.length_km,
       ST_AsGeoJSON(ST_Simplify(p.track, %(tolerance)s), 5) AS track,
       (SELECT count(*) FROM patrol_event pe WHERE pe.patrol_id = p.id) AS events
  FROM patrol p
 WHERE p.started_at < %(end)s AND p.ended_at >= %(start)s
   AND (%(known_at)s::timestamptz IS NULL OR p.received_at <= %(known_at)s::timestamptz)
   AND (%(sections)s::text[] IS NULL OR p.section_codes && %(sections)s::text[])
 ORDER BY p.ended_at DESC
 LIMIT %(limit)s

-- picture_assets_latest --
-- Own assets at their latest position as at %(at)s, if not older than %(max_age_h)s hours.
-- The latest time per object by hash aggregation, then the row itself by primary key
-- (cheaper than sorting every position of the period). ended: the position belongs to a
-- patrol that had ended by %(at)s (a GPX track's patrol ends at its last point): the unit is
-- off duty, not silent.
SELECT DISTINCT ON (p.object_id)
       p.object_id, coalesce(o.name, p.object_id) AS name, o.callsign,
       coalesce(p.object_type, o.object_type) AS object_type, p.status, p.observed_at,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.speed_kn, p.course_deg, p.section_code,
       coalesce((SELECT pt.ended_at <= %(at)s FROM patrol pt WHERE pt.id = p.patrol_id), false) AS ended
  FROM (SELECT a.object_id, max(a.observed_at) AS last
          FROM asset_position a
         WHERE a.kind = 'own'
           AND a.observed_at <= %(at)s AND a.observed_at > %(at)s - make_interval(hours => %(max_age_h)s)
           AND (%(sections)s::text[] IS NULL OR a.section_code = ANY (%(sections)s::text[]))
         GROUP BY a.object_id
         ORDER BY last DESC
         LIMIT %(limit)s) l
  JOIN asset_position p ON p.object_id = l.object_id AND p.observed_at = l.last AND p.kind = 'own'
  LEFT JOIN tracked_object o ON o.object_id = p.object_id
 ORDER BY p.object_id, p.source

-- picture_vessel_trails --
-- Vessels seen in the %(trail_min)s minutes up to %(at)s: a short trail and the last fix.
SELECT p.object_id, max(coalesce(o.name, p.object_id)) AS name, max(o.mmsi) AS mmsi,
       ST_AsGeoJSON(ST_MakeLine(p.geom ORDER BY p.observed_at), 5) AS trail,
       max(p.observed_at) AS observed_at,
       (array_agg(ST_X(p.geom) ORDER BY p.observed_at DESC))[1] AS lon,
       (array_agg(ST_Y(p.geom) ORDER BY p.observed_at DESC))[1] AS lat,
       (array_agg(p.speed_kn ORDER BY p.observed_at DESC))[1] AS speed_kn,
       (array_agg(p.course_deg ORDER BY p.observed_at DESC))[1] AS course_deg
  FROM asset_position p
  LEFT JOIN tracked_object o USING (object_id)
 WHERE p.kind = 'vessel'
   AND p.observed_at <= %(at)s AND p.observed_at > %(at)s - make_interval(mins => %(trail_min)s)
   AND (%(sections)s::text[] IS NULL OR p.section_code = ANY (%(sections)s::text[]))
 GROUP BY p.object_id
 ORDER BY max(p.observed_at) DESC
 LIMIT %(limit)s

-- picture_last_delivery --
-- When a feed last delivered anything: the last finished batch or the last received event.
-- ingest_batch is read by scopes of every section only (0055_rls_operations.sql); its last
-- finish comes from nsp_last_batch_finished(), which tells that one time to any scope's wall.
SELECT greatest(nsp_last_batch_finished(),
                (SELECT max(e.received_at) FROM event e)) AS last_delivery

-- picture_recent_high --
-- High and very high events received after %(since)s (the wall's banners), or whose impact the
-- NCC set after it (0020_raised_impact_alerts.sql); a report its source rejected on validation
-- raises no banner. reported_at is the report's own time, else its arrival: more than 24 hours
-- after occurred_at is a late first report (the single-event-report limit; the weekly summary
-- flags the same). backlog: an event that occurred before %(window_start)s (the banner window)
-- and came in only now, with a feed's backlog or a history loaded at once: not news, counted
-- as a late report rather than shown as a banner (an NCC decision is news whatever the
-- event's age). Order: news first, very high before high, then the latest alerted, then the
-- latest to occur (reports of one delivery share their received_at). The totals over all the
-- rows, not only the first %(limit)s: news, very high news, backlog, and the latest alerted_at
-- (what an acknowledgement covers).
WITH hit AS (
    SELECT e.id::text AS id, e.occurred_at, e.received_at, e.category, e.subtype, e.impact,
           coalesce(e.reported_at, e.received_at) AS reported_at,
           e.persons, e.section_code, e.source,
           greatest(e.received_at, e.impact_decided_at) AS alerted_at,
           coalesce(e.impact_decided_at > e.received_at, false) AS set_by_ncc
      FROM event e
     WHERE (e.received_at > %(since)s OR e.impact_decided_at > %(since)s)
       AND e.impact IN ('high', 'very_high') AND e.parent_id IS NULL
       AND e.validation <> 'rejected'
       AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
), marked AS (
    SELECT h.*, (h.occurred_at < %(window_start)s AND NOT h.set_by_ncc) AS backlog FROM hit h
)
SELECT m.*,
       count(*) FILTER (WHERE NOT m.backlog) OVER () AS news_total,
       count(*) FILTER (WHERE NOT m.backlog AND m.impact = 'very_high') OVER () AS very_high_total,
       count(*) FILTER (WHERE m.backlog) OVER () AS backlog_total,
       max(m.alerted_at) OVER () AS newest_alerted_at
  FROM marked m
 ORDER BY m.backlog, m.impact = 'very_high' DESC, m.alerted_at DESC, m.occurred_at DESC
 LIMIT %(limit)s

-- picture_last_hour_counts --
-- The wall's "last hour": first reports per category that occurred in (%(since)s, %(now)s]
-- (none its source rejected on validation), in %(sections)s or all.
SELECT e.category, count(*) AS n
  FROM event e
 WHERE e.occurred_at > %(since)s AND e.occurred_at <= %(now)s
   AND e.parent_id IS NULL AND e.validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
 GROUP BY e.category

-- picture_last_hour_newest --
-- The newest %(limit)s of those first reports, the latest to occur first.
SELECT e.id::text AS id, e.category, e.subtype, e.impact, e.section_code, e.occurred_at
  FROM event e
 WHERE e.occurred_at > %(since)s AND e.occurred_at <= %(now)s
   AND e.parent_id IS NULL AND e.validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
 ORDER BY e.occurred_at DESC, e.id
 LIMIT %(limit)s

-- picture_feeds --
-- Per source that delivered in the last %(days)s days (files and HTTP bodies alike) or has an
-- expected interval (feed_expectation, kept however long it is silent): its last completed
-- delivery, its expected interval and whether it is late, and in the last 24 hours its files,
-- refused records, skipped records (with their reasons) and failed files. Late ones first,
-- then the longest silent.
WITH recent AS (
    SELECT b.source, max(b.finished_at) FILTER (WHERE b.status = 'done') AS last_delivery,
           count(*) FILTER (WHERE b.received_at > now() - interval '24 hours') AS files_24h,
           coalesce(sum(b.n_quarantined) FILTER (WHERE b.received_at > now() - interval '24 hours'), 0)::bigint
               AS quarantined_24h,
           coalesce(sum(b.n_skipped) FILTER (WHERE b.received_at > now() - interval '24 hours'), 0)::bigint
               AS skipped_24h,
           count(*) FILTER (WHERE b.status = 'failed' AND b.received_at > now() - interval '24 hours') AS failed_24h
      FROM ingest_batch b
     WHERE b.received_at > now() - make_interval(days => %(days)s)
     GROUP BY b.source
), feeds AS (
    SELECT coalesce(r.source, x.source) AS source,
           -- an expected feed silent for longer than the window: its last delivery all the same
           coalesce(r.last_delivery, nsp_feed_last_delivery(x.source)) AS last_delivery,
           coalesce(r.files_24h, 0) AS files_24h, coalesce(r.quarantined_24h, 0)::bigint AS quarantined_24h,
           coalesce(r.skipped_24h, 0)::bigint AS skipped_24h,
           (SELECT jsonb_object_agg(k, n) FROM (
                SELECT s.key AS k, sum(s.value::bigint) AS n
                  FROM ingest_batch b, jsonb_each_text(b.skipped_reasons) s
                 WHERE b.source = r.source AND b.received_at > now() - interval '24 hours'
                 GROUP BY s.key) t) AS skipped_reasons_24h,
           coalesce(r.failed_24h, 0) AS failed_24h, x.every AS expected_every
      FROM recent r
      FULL JOIN feed_expectation x ON x.source = r.source
)
SELECT f.*, (f.expected_every IS NOT NULL
             AND (f.last_delivery IS NULL OR f.last_delivery < now() - f.expected_every)) AS late
  FROM feeds f
 ORDER BY late DESC, f.last_delivery NULLS FIRST, f.source

-- picture_feeds_late --
-- The feeds with an expected interval whose last completed delivery is older than that
-- interval, or that never delivered (nsp_feeds_late(), 0016_feed_alerts.sql); the longest
-- silent first. For the LIVE sign and /healthz.
SELECT l.source, l.expected_every, l.last_delivery
  FROM nsp_feeds_late() l
 ORDER BY l.last_delivery NULLS FIRST, l.source

-- picture_alert_health --
-- Webhook alerts in counts (0014_alert_health.sql): active subscriptions, sent in 24 h,
-- waiting, waiting over 10 minutes, given up in 24 h. Zeros unless the scope sees every section.
SELECT * FROM nsp_alert_health()

-- picture_neighbour_pulls --
-- How the scheduled pulls of partner centres' shares go (0190_neighbour_pull_schedule.sql): per
-- partner with a pull URL, the last try, the last good pull, the last error and the failures
-- since; failing ones first. No rows unless the scope sees every section.
SELECT * FROM nsp_neighbour_pull_health()

-- picture_sources --
-- The distinct event sources, read by a loose index scan of (source, source_ref).
WITH RECURSIVE s AS (
    (SELECT e.source FROM event e ORDER BY e.source LIMIT 1)
    UNION ALL
    SELECT (SELECT e.source FROM event e WHERE e.source > s.source ORDER BY e.source LIMIT 1)
      FROM s WHERE s.source IS NOT NULL)
SELECT source FROM s WHERE source IS NOT NULL

-- picture_level_history --
-- Impact-level decisions of the given sections, newest first.
SELECT c.section_code, c.from_level, c.to_level, c.decided_at, c.decided_by, c.reason
  FROM impact_level_change c
 WHERE %(sections)s::text[] IS NULL OR c.section_code = ANY (%(sections)s::text[])
 ORDER BY c.decided_at DESC, c.id DESC
 LIMIT %(limit)s

-- picture_insert_level_change --
-- Used only when geo.sections is not installed: record a decision (the trigger applies it).
INSERT INTO impact_level_change (section_code, to_level, decided_by, reason)
VALUES (%(code)s, %(level)s, %(decided_by)s, %(reason)s)
RETURNING id, from_level, to_level

-- picture_event_for_decision --
-- The event a decision is about, locked for it (row-level security: only in the scope's
-- sections, and only for scopes that may decide).
SELECT id::text AS id, source, source_ref, impact, status, section_code, parent_id
  FROM event WHERE id = %(id)s::uuid
   FOR UPDATE

-- picture_event_apply_decision --
-- The decision's effect on the event (the event_cell_day trigger moves its counts).
UPDATE event
   SET impact = CASE WHEN %(action)s::text = 'impact' THEN %(to)s::text ELSE impact END,
       impact_decided_at = CASE WHEN %(action)s::text = 'impact' THEN now() ELSE impact_decided_at END,
       status = CASE %(action)s::text WHEN 'close' THEN 'closed' WHEN 'reopen' THEN 'open' ELSE status END,
       closed_at = CASE %(action)s::text WHEN 'close' THEN now() WHEN 'reopen' THEN NULL ELSE closed_at END,
       updated_at = now()
 WHERE id = %(id)s::uuid

-- picture_queue_raised_alerts --
-- After an impact decision: queue the webhook alerts it raises the event to (0021).
SELECT nsp_queue_raised_alerts(%(id)s::uuid, %(from)s) AS queued

-- picture_insert_event_decision --
INSERT INTO event_decision (event_id, section_code, decided_by, action, from_value, to_value, reason)
VALUES (%(id)s::uuid, %(section_code)s, %(decided_by)s, %(action)s, %(from)s, %(to)s, %(reason)s)

-- picture_event_decisions --
-- The decisions on one event, newest first.
SELECT d.decided_at, d.decided_by, d.action, d.from_value, d.to_value, d.reason
  FROM event_decision d
 WHERE d.event_id = %(id)s::uuid
 ORDER BY d.decided_at DESC, d.id DESC
