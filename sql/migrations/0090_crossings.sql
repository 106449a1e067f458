-- Border crossings detected from tracks (issue 23, item 3; docs/explanation/crossings.md).
--
-- After each chunk of positions is merged, nsp_detect_crossings() looks, in one statement,
-- at the segments between consecutive fixes of every aircraft, UAV and vessel of the chunk
-- (the chunk's fixes and each object's stored neighbours before and after them) and makes one
-- event per crossing: of a land-external border line, or of the outer limit of the territorial
-- sea. All geometry is in the metric CRS (line_m, area_m).

-- 1. UAVs are tracked objects of their own kind. The kind CHECKs get 'uav' unless a migration
--    already added it; whatever other kinds they allow are kept.
DO $$
DECLARE
    t text;
    def text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tracked_object', 'asset_position'] LOOP
        SELECT pg_get_constraintdef(c.oid) INTO def
          FROM pg_constraint c
         WHERE c.conrelid = t::regclass AND c.conname = t || '_kind_check';
        IF def IS NOT NULL AND position('''uav''' IN def) = 0 AND position('ARRAY[' IN def) > 0 THEN
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, t || '_kind_check');
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', t, t || '_kind_check',
                           replace(def, 'ARRAY[', 'ARRAY[''uav''::text, '));
        END IF;
    END LOOP;
END $$;

-- 2. The country's side of its external borders: Latvia's land and territorial sea, in the
--    metric CRS. The sections' areas reach 5 km beyond the external land borders; split by the
--    land-external lines, the largest piece is the country, the others are those strips. A fix
--    inside it is "home": a crossing is inbound when the later fix is home, outbound when the
--    earlier one is. Rebuilt on demand after any change of the sections (trigger below).
CREATE TABLE crossing_home (
    home     geometry NOT NULL,
    boundary geometry NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION nsp_crossing_home_ensure() RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM crossing_home) OR NOT EXISTS (SELECT 1 FROM border_section WHERE area_m IS NOT NULL) THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('nsp_crossing_home'));
    IF EXISTS (SELECT 1 FROM crossing_home) THEN
        RETURN false;
    END IF;
    INSERT INTO crossing_home (home, boundary)
    WITH region AS (SELECT ST_UnaryUnion(ST_Collect(area_m)) AS g FROM border_section),
         lines AS (SELECT ST_UnaryUnion(ST_Collect(line_m)) AS g FROM border_section
                    WHERE kind = 'land-external' AND line_m IS NOT NULL),
         pieces AS (SELECT (ST_Dump(CASE WHEN l.g IS NULL THEN r.g ELSE ST_Split(r.g, l.g) END)).geom AS g
                      FROM region r, lines l)
    SELECT g, ST_Boundary(g) FROM pieces ORDER BY ST_Area(g) DESC LIMIT 1;
    RETURN true;
END $fn$;

CREATE FUNCTION nsp_crossing_home_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM crossing_home;
    RETURN NULL;
END $fn$;
CREATE TRIGGER crossing_home_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF code, kind, area, area_m, line_m ON border_section
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_crossing_home_invalidate();
CREATE TRIGGER crossing_home_invalidate_truncate
    AFTER TRUNCATE ON border_section
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_crossing_home_invalidate();

-- The crossings of one object near a time: how a late fix finds the event that the segment it
-- splits already made.
CREATE INDEX event_crossing_object_idx ON event ((attrs ->> 'object_id'), occurred_at)
    WHERE source = 'nsp-crossings';

-- 3. The detection. Reads the chunk's staged positions (stage_position, sql/queries/ingest.sql)
--    after they are merged into asset_position; cfg (ingest.crossings.CrossingSettings):
--      kinds          text[]  object kinds watched (aircraft, uav, vessel)
--      line_kinds     text[]  section kinds whose line is a border to cross (land-external)
--      max_gap_s      float   a segment longer than this (seconds) decides nothing
--      icao_allow     text[]  ICAO addresses of scheduled flights, never reported
--      object_allow   text[]  object ids never reported (scheduled ferries, known aircraft)
--      callsign_re    text    call signs of scheduled flights (case-insensitive regex), or null
--      low_ft         float   at or below this altitude an aircraft without call sign is "low"
--      rules          jsonb   impact rules: [{impact, kind[], subtype[], direction[], neighbour[],
--                             section_level[]}], the highest matching impact wins, else low
--    Returns the number of events made.
CREATE FUNCTION nsp_detect_crossings(p_batch bigint, cfg jsonb) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    h  geometry;
    hb geometry;
    n  integer;
    kinds text[] := ARRAY(SELECT jsonb_array_elements_text(cfg -> 'kinds'));
    line_kinds text[] := ARRAY(SELECT jsonb_array_elements_text(cfg -> 'line_kinds'));
    allow text[] := ARRAY(SELECT upper(jsonb_array_elements_text(cfg -> 'icao_allow')));
    objects_allowed text[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(cfg -> 'object_allow', '[]')));
    callsign_re text := nullif(cfg ->> 'callsign_re', '');
    max_gap interval := make_interval(secs => (cfg ->> 'max_gap_s')::float8);
    low_ft float8 := (cfg ->> 'low_ft')::float8;
    rules jsonb := coalesce(cfg -> 'rules', '[]');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stage_position s WHERE s.kind = ANY (kinds)) THEN
        RETURN 0;
    END IF;
    PERFORM nsp_crossing_home_ensure();
    SELECT c.home, c.boundary INTO h, hb FROM crossing_home c;
    IF h IS NULL THEN
        RETURN 0;
    END IF;
    -- Batches of different sources may carry fixes of the same track (two receivers). Each
    -- decides against the fixes and crossings committed before it: detection runs one batch at
    -- a time, from a batch's first detection to its commit (always taken after the batch's
    -- source lock, ingest_merge_lock, so the two never wait on each other in a cycle). Each
    -- statement of this function sees what the batch before it committed.
    PERFORM pg_advisory_xact_lock(hashtext('nsp_ingest'), hashtext('nsp-crossings'));
    INSERT INTO event (source, source_ref, batch_id, category, subtype, occurred_at, reported_at, geom,
                       impact, validation, crossing_stage, direction, detection_method, transport_means,
                       description, section_code, distance_to_border_m, attrs)
    WITH new_fix AS (
        SELECT DISTINCT s.object_id, s.observed_at
          FROM stage_position s
         WHERE s.kind = ANY (kinds)
           AND NOT s.object_id = ANY (objects_allowed)
    ), span AS (
        SELECT object_id, min(observed_at) AS t0, max(observed_at) AS t1 FROM new_fix GROUP BY object_id
    ), fix AS (
        -- the stored track over the chunk's span, and the stored fix just before and just after it
        SELECT p.object_id, p.kind, p.source, p.observed_at, p.geom, p.attrs
          FROM span JOIN asset_position p
            ON p.object_id = span.object_id AND p.observed_at BETWEEN span.t0 AND span.t1 AND NOT p.restricted
        UNION ALL
        SELECT q.* FROM span CROSS JOIN LATERAL (
            SELECT p.object_id, p.kind, p.source, p.observed_at, p.geom, p.attrs FROM asset_position p
             WHERE p.object_id = span.object_id AND p.observed_at < span.t0 AND p.observed_at >= span.t0 - max_gap
               AND NOT p.restricted
             ORDER BY p.observed_at DESC LIMIT 1) q
        UNION ALL
        SELECT q.* FROM span CROSS JOIN LATERAL (
            SELECT p.object_id, p.kind, p.source, p.observed_at, p.geom, p.attrs FROM asset_position p
             WHERE p.object_id = span.object_id AND p.observed_at > span.t1 AND p.observed_at <= span.t1 + max_gap
               AND NOT p.restricted
             ORDER BY p.observed_at LIMIT 1) q
    ), located AS (
        SELECT f.*, m.g, ST_Covers(h, m.g) AS home,
               EXISTS (SELECT 1 FROM new_fix n WHERE n.object_id = f.object_id AND n.observed_at = f.observed_at) AS new
          FROM fix f CROSS JOIN LATERAL (SELECT ST_Transform(f.geom, ST_SRID(h)) AS g) m
    ), seg AS (
        SELECT * FROM (
            SELECT object_id, observed_at AS ta, source AS src_a, g AS ga, home AS home_a, attrs AS attrs_a, new AS new_a,
                   lead(kind) OVER w AS kind, lead(observed_at) OVER w AS tb, lead(source) OVER w AS src_b,
                   lead(g) OVER w AS gb, lead(home) OVER w AS home_b, lead(attrs) OVER w AS attrs_b,
                   lead(new) OVER w AS new_b
              FROM located
            WINDOW w AS (PARTITION BY object_id ORDER BY observed_at, source, ST_X(g), ST_Y(g))) x
         WHERE tb IS NOT NULL AND (new_a OR new_b) AND tb - ta <= max_gap AND kind = ANY (kinds)
           AND home_a <> home_b  -- the track changed sides between the two fixes
    ), line_hit AS (
        -- a border line between the fixes: where the segment first meets it
        SELECT DISTINCT ON (sg.object_id, sg.ta, sg.src_a, sg.tb, sg.src_b) sg.*, b.code, pt.p
          FROM seg sg
          JOIN border_section b ON b.kind = ANY (line_kinds) AND ST_Intersects(b.line_m, ST_MakeLine(sg.ga, sg.gb))
         CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Intersection(b.line_m, ST_MakeLine(sg.ga, sg.gb)), sg.ga) AS p) pt
         ORDER BY sg.object_id, sg.ta, sg.src_a, sg.tb, sg.src_b, ST_Distance(pt.p, sg.ga), b.code
    ), sea_hit AS (
        -- no border line between them: where the segment passes the country's outline, in a sea section
        SELECT sg.*, s.code, pt.p
          FROM seg sg
         CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Intersection(hb, ST_MakeLine(sg.ga, sg.gb)),
                                                    CASE WHEN sg.home_b THEN sg.gb ELSE sg.ga END) AS p) pt
         CROSS JOIN LATERAL (SELECT b.code, b.kind FROM border_section b WHERE b.kind <> 'air'
                              ORDER BY ST_Distance(b.area_m, pt.p), ST_Distance(b.line_m, pt.p), b.code LIMIT 1) s
         WHERE s.kind = 'sea-external' AND NOT pt.p IS NULL AND NOT ST_IsEmpty(pt.p)
           AND NOT EXISTS (SELECT 1 FROM line_hit l WHERE l.object_id = sg.object_id AND l.ta = sg.ta
                              AND l.src_a = sg.src_a AND l.tb = sg.tb AND l.src_b = sg.src_b)
    ), hit AS (
        SELECT c.*, b.name, b.kind AS section_kind, b.neighbour, b.impact_level,
               ST_Distance(b.line_m, c.p) AS distance_m,
               CASE WHEN c.home_b THEN 'inbound' ELSE 'outbound' END AS direction,
               coalesce(nullif(c.attrs_b ->> 'callsign', ''), nullif(c.attrs_a ->> 'callsign', ''), o.callsign) AS callsign,
               CASE WHEN c.attrs_b ->> 'altitude_ft' ~ '^-?[0-9]+(\.[0-9]+)?$' THEN (c.attrs_b ->> 'altitude_ft')::float8
                    WHEN c.attrs_a ->> 'altitude_ft' ~ '^-?[0-9]+(\.[0-9]+)?$' THEN (c.attrs_a ->> 'altitude_ft')::float8
               END AS altitude_ft,
               CASE WHEN c.object_id LIKE 'ICAO:%' THEN upper(substr(c.object_id, 6)) END AS icao,
               ST_LineLocatePoint(ST_MakeLine(c.ga, c.gb), c.p) AS frac
          FROM (SELECT *, 'line' AS border FROM line_hit UNION ALL SELECT *, 'sea' FROM sea_hit) c
          JOIN border_section b ON b.code = c.code
          LEFT JOIN tracked_object o ON o.object_id = c.object_id
    ), classified AS (
        SELECT hit.*, hit.ta + (hit.tb - hit.ta) * hit.frac AS at,
               CASE WHEN kind = 'uav' AND direction = 'inbound' THEN 'suspect_uav_crossing'
                    WHEN kind = 'uav' THEN 'uav_border_crossing'
                    WHEN kind = 'aircraft' AND direction = 'inbound' AND callsign IS NULL AND altitude_ft <= low_ft
                        THEN 'suspect_uav_crossing'
                    WHEN kind = 'aircraft' THEN 'aircraft_border_crossing'
                    WHEN kind = 'vessel' AND border = 'sea' THEN 'vessel_entering_territorial_sea'
                    WHEN kind = 'vessel' THEN 'vessel_border_crossing'
                    ELSE 'border_crossing'
               END AS subtype
          FROM hit
         WHERE NOT (kind = 'vessel' AND border = 'sea' AND direction = 'outbound')  -- only entering the sea
           AND NOT (kind = 'aircraft' AND (icao = ANY (allow) OR (callsign_re IS NOT NULL AND callsign ~* callsign_re)))
    ), rated AS (
        SELECT c.*,
               (ARRAY['low', 'medium', 'high', 'very_high'])[coalesce((
                   SELECT max(array_position(ARRAY['low', 'medium', 'high', 'very_high'], r ->> 'impact'))
                     FROM jsonb_array_elements(rules) r
                    WHERE (NOT r ? 'kind' OR r -> 'kind' ? c.kind)
                      AND (NOT r ? 'subtype' OR r -> 'subtype' ? c.subtype)
                      AND (NOT r ? 'direction' OR r -> 'direction' ? c.direction)
                      AND (NOT r ? 'neighbour' OR r -> 'neighbour' ? coalesce(c.neighbour, ''))
                      AND (NOT r ? 'section_level' OR r -> 'section_level' ? coalesce(c.impact_level, ''))), 1)]
                   AS impact
          FROM classified c
    )
    SELECT 'nsp-crossings',
           format('crossing:%s:%s:%s:%s', r.object_id, r.code,
                  to_char(r.ta AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                  to_char(r.tb AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
           p_batch, 'other', r.subtype, r.at, now(), ST_Transform(r.p, 4326), r.impact, 'unvalidated', 'actual',
           CASE WHEN r.direction = 'inbound' THEN 'entry' ELSE 'exit' END, 'border_surveillance', r.kind,
           format('%s %s %s %s (%s)%s',
                  CASE r.kind WHEN 'uav' THEN 'UAV' ELSE initcap(r.kind) END,
                  CASE WHEN r.callsign IS NULL THEN r.object_id ELSE r.callsign || ' (' || r.object_id || ')' END,
                  CASE WHEN r.subtype = 'vessel_entering_territorial_sea' THEN 'entered the territorial sea at'
                       WHEN r.direction = 'inbound' THEN 'crossed the border inbound at'
                       ELSE 'crossed the border outbound at' END,
                  r.code, r.name,
                  CASE WHEN r.border = 'line' AND r.neighbour IS NOT NULL
                       THEN CASE WHEN r.direction = 'inbound' THEN ' from ' ELSE ' to ' END || r.neighbour
                       ELSE '' END),
           r.code, r.distance_m,
           jsonb_strip_nulls(jsonb_build_object(
               'object_id', r.object_id, 'object_kind', r.kind, 'direction', r.direction, 'border', r.border,
               'section', r.code, 'neighbour', r.neighbour, 'callsign', r.callsign, 'icao', r.icao,
               'altitude_ft', r.altitude_ft, 'fix_before', r.ta, 'fix_after', r.tb,
               'sources', to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[r.src_a, r.src_b]) x ORDER BY 1)),
               'sensor', 'track analysis'))
      FROM rated r
     WHERE NOT EXISTS (
        -- a late fix split a segment that already made this crossing: the first event stands
        SELECT 1 FROM event e
         WHERE e.source = 'nsp-crossings' AND e.attrs ->> 'object_id' = r.object_id
           AND e.occurred_at BETWEEN r.ta - max_gap AND r.tb + max_gap
           AND e.section_code = r.code AND e.attrs ->> 'direction' = r.direction
           AND (e.attrs ->> 'fix_before')::timestamptz <= r.ta AND (e.attrs ->> 'fix_after')::timestamptz >= r.tb
           AND e.source_ref <> format('crossing:%s:%s:%s:%s', r.object_id, r.code,
                  to_char(r.ta AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                  to_char(r.tb AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
    ON CONFLICT (source, source_ref) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $fn$;
