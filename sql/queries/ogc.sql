-- The OGC API - Features collections (dashboard/ogc.py). Every block runs under the caller's
-- scope (row-level security) and takes the same parameters, NULL turning a condition off:
--   %(id)s        one feature's id (the items/{featureId} route; a UUID for events and patrols)
--   %(bbox)s      [minx, miny, maxx, maxy] in WGS 84 longitude/latitude
--   %(t0)s %(t1)s the datetime interval, both ends inclusive (NULL: open)
--   %(limit)s     the page's size
--   %(after)s     the key of the previous page's last feature (NULL: the first page); the
--                 pages follow the block's ORDER BY, which that key matches (keyset paging)
-- plus the collection's own (%(kind)s, the queryables). Each row has id, geometry (GeoJSON
-- text) and the properties. dashboard/ogc.py counts the matches with the same block: it puts
-- count(*) in place of what stands between the first SELECT and the line that starts with
-- "  FROM" (two spaces), and cuts the last line that starts with " ORDER BY" (one space) and
-- what follows: keep that layout.

-- ogc_border_sections --
-- The border sections as areas, with the impact level in force.
SELECT s.code AS id, ST_AsGeoJSON(s.area, 6) AS geometry,
       s.code, s.name, s.kind, s.neighbour, s.regional_board, s.length_km, s.impact_level
  FROM border_section s
 WHERE (%(id)s::text IS NULL OR s.code = %(id)s::text)
   AND (%(bbox)s::float8[] IS NULL OR s.area && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2], (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
   AND (%(after)s::text[] IS NULL OR s.code > (%(after)s::text[])[1])
 ORDER BY s.code
 LIMIT %(limit)s

-- ogc_border_lines --
-- The border lines of the sections that have one, with the impact level in force.
SELECT s.code AS id, ST_AsGeoJSON(s.line, 6) AS geometry,
       s.code, s.name, s.kind, s.neighbour, s.regional_board, s.length_km, s.impact_level
  FROM border_section s
 WHERE s.line IS NOT NULL
   AND (%(id)s::text IS NULL OR s.code = %(id)s::text)
   AND (%(bbox)s::float8[] IS NULL OR s.line && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2], (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
   AND (%(after)s::text[] IS NULL OR s.code > (%(after)s::text[])[1])
 ORDER BY s.code
 LIMIT %(limit)s

-- ogc_events --
-- Events as the dashboard counts them: first reports (follow-ups are counted in follow_ups),
-- not those their source rejected; newest first. datetime selects on occurred_at.
SELECT e.id::text AS id, ST_AsGeoJSON(e.geom, 6) AS geometry,
       e.category, e.subtype, e.occurred_at, e.reported_at, e.received_at, e.impact, e.status,
       e.persons, e.section_code, e.distance_to_border_m, e.source, e.source_reliability,
       e.credibility, e.validation, e.crossing_stage, e.crossing_mode, e.direction,
       e.detection_method, e.transport_means, e.description,
       (SELECT count(*) FROM event c WHERE c.parent_id = e.id) AS follow_ups
  FROM event e
 WHERE e.parent_id IS NULL AND e.validation <> 'rejected'
   AND (%(id)s::text IS NULL OR e.id = %(id)s::uuid)
   AND (%(t0)s::timestamptz IS NULL OR e.occurred_at >= %(t0)s::timestamptz)
   AND (%(t1)s::timestamptz IS NULL OR e.occurred_at <= %(t1)s::timestamptz)
   AND (%(category)s::text[] IS NULL OR e.category = ANY (%(category)s::text[]))
   AND (%(impact)s::text[] IS NULL OR e.impact = ANY (%(impact)s::text[]))
   AND (%(section_code)s::text[] IS NULL OR e.section_code = ANY (%(section_code)s::text[]))
   AND (%(bbox)s::float8[] IS NULL OR e.geom && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2], (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
   AND (%(after)s::text[] IS NULL OR (e.occurred_at, e.id) <
        ((%(after)s::text[])[1]::timestamptz, (%(after)s::text[])[2]::uuid))
 ORDER BY e.occurred_at DESC, e.id DESC
 LIMIT %(limit)s

-- ogc_patrols --
-- Patrol tracks; datetime selects the patrols whose [started_at, ended_at] meets it.
SELECT p.id::text AS id, ST_AsGeoJSON(p.track, 6) AS geometry,
       p.unit, p.mode, p.started_at, p.ended_at, p.length_km,
       array_to_string(p.section_codes, ',') AS section_codes,
       (SELECT count(*) FROM patrol_event pe WHERE pe.patrol_id = p.id) AS events
  FROM patrol p
 WHERE (%(id)s::text IS NULL OR p.id = %(id)s::uuid)
   AND (%(t0)s::timestamptz IS NULL OR p.ended_at >= %(t0)s::timestamptz)
   AND (%(t1)s::timestamptz IS NULL OR p.started_at <= %(t1)s::timestamptz)
   AND (%(bbox)s::float8[] IS NULL OR p.track && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2], (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
   AND (%(after)s::text[] IS NULL OR (p.ended_at, p.id) <
        ((%(after)s::text[])[1]::timestamptz, (%(after)s::text[])[2]::uuid))
 ORDER BY p.ended_at DESC, p.id DESC
 LIMIT %(limit)s

-- ogc_latest_positions --
-- The latest position of each object of %(kind)s (own units, vessels, aircraft, UAVs) among the
-- positions the scope may see, within the datetime interval if one is given; bbox selects on that
-- position. The air's own fields (altitude, squawk, an aircraft's state of registry, a UAV's
-- operator) come from the position's
-- attrs; the ground collections leave them out (Collection.omit).
SELECT l.object_id AS id, ST_AsGeoJSON(l.geom, 6) AS geometry,
       l.name, l.callsign, l.mmsi, l.object_type, l.status, l.observed_at, l.speed_kn,
       l.course_deg, l.heading_deg, l.section_code, l.source,
       l.altitude_ft, l.altitude_m, l.squawk, l.registry, l.operator_lon, l.operator_lat
  FROM (SELECT DISTINCT ON (p.object_id)
               p.object_id, coalesce(o.name, p.object_id) AS name, o.callsign, o.mmsi,
               coalesce(p.object_type, o.object_type) AS object_type, p.status, p.observed_at,
               p.geom, p.speed_kn, p.course_deg, p.heading_deg, p.section_code, p.source,
               p.attrs -> 'altitude_ft' AS altitude_ft, p.attrs -> 'altitude_m' AS altitude_m,
               p.attrs ->> 'squawk' AS squawk, p.attrs ->> 'registry' AS registry,
               p.attrs -> 'operator_lon' AS operator_lon,
               p.attrs -> 'operator_lat' AS operator_lat
          FROM asset_position p
          LEFT JOIN tracked_object o ON o.object_id = p.object_id
         WHERE p.kind = %(kind)s
           AND (%(id)s::text IS NULL OR p.object_id = %(id)s::text)
           AND (%(t0)s::timestamptz IS NULL OR p.observed_at >= %(t0)s::timestamptz)
           AND (%(t1)s::timestamptz IS NULL OR p.observed_at <= %(t1)s::timestamptz)
         ORDER BY p.object_id, p.observed_at DESC, p.source) l
 WHERE (%(bbox)s::float8[] IS NULL OR l.geom && ST_MakeEnvelope(
        (%(bbox)s::float8[])[1], (%(bbox)s::float8[])[2], (%(bbox)s::float8[])[3], (%(bbox)s::float8[])[4], 4326))
   AND (%(after)s::text[] IS NULL OR l.object_id > (%(after)s::text[])[1])
 ORDER BY l.object_id
 LIMIT %(limit)s

-- ogc_extent --
-- The box of the border sections the scope may see (every collection's spatial extent).
SELECT ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax
  FROM (SELECT ST_Extent(area)::geometry AS b FROM border_section) t

-- tiles_mvt --
-- One Mapbox vector tile (z/x/y in Web Mercator) with the layers border_sections (the areas,
-- with their level) and events (first reports not rejected on validation, occurred_at within
-- [%(t0)s, %(t1)s]), under the caller's scope like every read. Geometries are clipped to the
-- tile with a 64-unit buffer (of 4096).
WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
                  ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326) AS box),
sections AS (
    SELECT ST_AsMVTGeom(ST_Transform(s.area, 3857), b.env, 4096, 64, true) AS geom,
           s.code, s.name, s.kind, s.impact_level
      FROM border_section s, b
     WHERE s.area && b.box),
events AS (
    SELECT ST_AsMVTGeom(ST_Transform(e.geom, 3857), b.env, 4096, 64, true) AS geom,
           e.id::text AS id, e.category, e.subtype, e.impact, e.status, e.persons, e.section_code,
           to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred_at
      FROM event e, b
     WHERE e.geom && b.box AND e.parent_id IS NULL AND e.validation <> 'rejected'
       AND e.occurred_at >= %(t0)s::timestamptz AND e.occurred_at <= %(t1)s::timestamptz
     ORDER BY e.occurred_at DESC
     LIMIT %(limit)s)
SELECT coalesce((SELECT ST_AsMVT(sections, 'border_sections', 4096, 'geom') FROM sections), ''::bytea)
    || coalesce((SELECT ST_AsMVT(events, 'events', 4096, 'geom') FROM events), ''::bytea) AS tile
