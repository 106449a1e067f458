-- The picture as Cursor on Target sends it (nsp cot-out; geo/cot_stream.py). Every query runs
-- under the scope of the user cot-out runs as (nsp.access.connection: row-level security), and
-- %(sections)s (NULL: every section the scope allows) narrows it further.

-- cot_out_events --
-- Open first reports in the window that their source did not reject, with their current impact.
SELECT e.id, e.category, e.subtype, e.impact,
       e.persons, e.description, e.section_code, e.occurred_at, e.stale_at, e.accuracy_m,
       ST_Y(e.geom) AS lat, ST_X(e.geom) AS lon
  FROM event e
 WHERE e.status = 'open' AND e.parent_id IS NULL AND e.validation <> 'rejected'
   AND e.occurred_at >= %(since)s
   AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))
 ORDER BY e.occurred_at, e.id

-- cot_out_closed --
-- Events closed since %(closed_since)s: a client may still draw them from an earlier run.
SELECT e.id, e.category, e.subtype
  FROM event e
 WHERE e.status = 'closed' AND e.closed_at >= %(closed_since)s AND e.parent_id IS NULL
   AND (%(sections)s::text[] IS NULL OR e.section_code = ANY (%(sections)s::text[]))

-- cot_out_sections --
-- Border lines of the sections, simplified to %(tolerance)s degrees (ATAK draws a few hundred
-- vertices per line well; a surveyed border has thousands), as GeoJSON coordinates per part.
SELECT s.code, s.name, s.impact_level,
       (ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(s.line, %(tolerance)s)), 6)::json
         -> 'coordinates') AS parts
  FROM border_section s
 WHERE s.line IS NOT NULL
   AND (%(sections)s::text[] IS NULL OR s.code = ANY (%(sections)s::text[]))
 ORDER BY s.code

-- cot_out_positions --
-- The latest position of each object of %(kind)s (own, vessel, aircraft) observed after
-- %(since)s (the layer's age limit), with what its marker shows: name, call sign, type (the
-- position's, the object's, or its patrol's mode), status, speed and course. Row-level
-- security scopes it as the events (the position's section; restricted objects hidden).
SELECT DISTINCT ON (p.object_id)
       p.object_id, coalesce(o.name, p.object_id) AS name, o.callsign,
       coalesce(p.object_type, o.object_type, pt.mode) AS object_type, p.status, p.observed_at,
       ST_Y(p.geom) AS lat, ST_X(p.geom) AS lon, p.speed_kn, p.course_deg, p.accuracy_m, p.section_code
  FROM asset_position p
  LEFT JOIN tracked_object o ON o.object_id = p.object_id
  LEFT JOIN patrol pt ON pt.id = p.patrol_id
 WHERE p.kind = %(kind)s AND p.observed_at > %(since)s
   AND (%(sections)s::text[] IS NULL OR p.section_code = ANY (%(sections)s::text[]))
 ORDER BY p.object_id, p.observed_at DESC, p.source
