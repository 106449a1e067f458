-- Border sections: loading, levels, lookup. Used by geo/sections.py.

-- sections_lock --
-- One load at a time; readers keep reading the old sections until the load commits.
LOCK TABLE border_section IN SHARE ROW EXCLUSIVE MODE;

-- section_upsert --
-- Insert or replace one section by code. The impact level is not taken from the file
-- here: a new section starts without one (its initial level is then recorded as an
-- impact_level_change), an existing one keeps its current level (an internal border
-- never has one). Returns whether the row is new and its level now.
INSERT INTO border_section AS s
       (code, name, kind, neighbour, regional_board, length_km, line, area, line_m, area_m, props, loaded_at)
VALUES (%(code)s, %(name)s, %(kind)s, %(neighbour)s, %(regional_board)s,
        -- measured when the file has none (an air section's line is no border length)
        CASE WHEN %(length_km)s::double precision IS NOT NULL THEN %(length_km)s::double precision
             WHEN %(kind)s <> 'air'
             THEN ST_Length(ST_Transform(ST_GeomFromWKB(%(line)s, 4326), %(srid)s)) / 1000.0 END,
        ST_Multi(ST_GeomFromWKB(%(line)s, 4326)),
        ST_Multi(ST_GeomFromWKB(%(area)s, 4326)),
        ST_Transform(ST_Multi(ST_GeomFromWKB(%(line)s, 4326)), %(srid)s),
        ST_Transform(ST_Multi(ST_GeomFromWKB(%(area)s, 4326)), %(srid)s),
        %(props)s, now())
ON CONFLICT (code) DO UPDATE SET
       name = EXCLUDED.name, kind = EXCLUDED.kind, neighbour = EXCLUDED.neighbour,
       regional_board = EXCLUDED.regional_board, length_km = EXCLUDED.length_km,
       line = EXCLUDED.line, area = EXCLUDED.area, line_m = EXCLUDED.line_m,
       area_m = EXCLUDED.area_m, props = EXCLUDED.props, loaded_at = EXCLUDED.loaded_at,
       impact_level = CASE WHEN EXCLUDED.kind = 'land-internal' THEN NULL ELSE s.impact_level END
RETURNING (xmax = 0) AS inserted, impact_level;

-- srid_known --
SELECT 1 FROM spatial_ref_sys WHERE srid = %(srid)s;

-- sections_delete_missing --
-- Remove the sections that the new file no longer has (their level history goes too).
DELETE FROM border_section WHERE NOT (code = ANY(%(codes)s)) RETURNING code;

-- section_grid_rebuild --
-- The ingest merge's section-lookup grid (0009_section_grid.sql) for the new sections;
-- the upserts above emptied it. About 2.5 s for Latvia.
SELECT nsp_section_grid_rebuild();

-- set_metric_srid --
INSERT INTO nsp_config (key, value) VALUES ('metric_srid', %(srid)s::text)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;

-- events_relocate --
-- Re-assign section and distance of every event whose assignment changed. Same rule as
-- nsp_locate() (air first, then the lowest code; distance to the section's line in the
-- metric CRS) but set-based: one pass per section over the events inside it (GiST index,
-- prepared geometry). Measured on 100k events: a reload that changes nothing took 22 s
-- with an UPDATE joining nsp_locate() per row, 8 s with this.
WITH loc AS (
    SELECT DISTINCT ON (e.id)
           e.id, s.code, ST_Distance(ST_Transform(e.geom, ST_SRID(s.line_m)), s.line_m) AS distance_m
      FROM border_section s
      JOIN event e ON ST_Intersects(s.area, e.geom)
     ORDER BY e.id, (s.kind = 'air') DESC, s.code
)
UPDATE event e
   SET section_code = loc.code, distance_to_border_m = loc.distance_m
  FROM event x
  LEFT JOIN loc ON loc.id = x.id
 WHERE x.id = e.id
   AND (e.section_code IS DISTINCT FROM loc.code
        OR e.distance_to_border_m IS DISTINCT FROM loc.distance_m);

-- positions_relocate --
-- Re-assign the section of every asset position whose section changed (rule as above).
WITH loc AS (
    SELECT DISTINCT ON (p.object_id, p.observed_at, p.source)
           p.object_id, p.observed_at, p.source, s.code
      FROM border_section s
      JOIN asset_position p ON ST_Intersects(s.area, p.geom)
     ORDER BY p.object_id, p.observed_at, p.source, (s.kind = 'air') DESC, s.code
)
UPDATE asset_position p
   SET section_code = loc.code
  FROM asset_position x
  LEFT JOIN loc ON (loc.object_id, loc.observed_at, loc.source) = (x.object_id, x.observed_at, x.source)
 WHERE (x.object_id, x.observed_at, x.source) = (p.object_id, p.observed_at, p.source)
   AND p.section_code IS DISTINCT FROM loc.code;

-- patrols_relocate --
-- Re-assign the sections each patrol track passes through.
UPDATE patrol p
   SET section_codes = x.codes
  FROM (SELECT t.id,
               coalesce((SELECT array_agg(s.code ORDER BY s.code)
                           FROM border_section s
                          WHERE ST_Intersects(s.area, t.track)), '{}') AS codes
          FROM patrol t) x
 WHERE x.id = p.id AND p.section_codes IS DISTINCT FROM x.codes;

-- impact_level_insert --
-- Record a decision on a section's level; the trigger sets border_section.impact_level.
INSERT INTO impact_level_change (section_code, to_level, decided_by, reason)
VALUES (%(code)s, %(level)s, %(decided_by)s, %(reason)s)
RETURNING id, section_code, from_level, to_level, decided_at, decided_by, reason;

-- section_get --
SELECT code, name, kind, neighbour, regional_board, length_km, impact_level
  FROM border_section WHERE code = %(code)s;

-- sections_list --
-- Every section with its current level, in code order.
SELECT code, name, kind, neighbour, regional_board, length_km, impact_level,
       ST_Area(area_m) / 1e6 AS area_km2
  FROM border_section
 ORDER BY code;

-- section_locate --
-- The section holding a point (lon/lat) and the distance to its border line.
SELECT s.code, s.name, s.kind, s.impact_level, l.distance_m
  FROM nsp_locate(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) l
  JOIN border_section s ON s.code = l.section_code;

-- impact_level_history --
-- A section's level decisions, newest first.
SELECT id, section_code, from_level, to_level, decided_at, decided_by, reason
  FROM impact_level_change
 WHERE section_code = %(code)s
 ORDER BY decided_at DESC, id DESC;
