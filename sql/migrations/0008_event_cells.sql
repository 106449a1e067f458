-- The map's pre-aggregate: events per UTC day, section, category, source and grid cell,
-- with counts per impact level, persons and coordinate sums (for each cell's mean position).
--
-- Why: the national map groups a week of events into grid cells. Scanning 250,000 events
-- of a 7-day window for that took 270-480 ms (issue 4 asks for p95 < 300 ms). With this
-- table the whole UTC days inside the window are read from here (a few hundred rows per
-- section-day instead of every event) and only the two partial days at the window's edges
-- from `event` (geo/picture.py, picture_events_grid_cells).
--
-- The grid: cell (gx, gy) = (floor(lon * 2048 / 360), floor(lat * 4096 / 360)), about
-- 11 km by 10 km at 57 N. Coarser cells of the map (zoom 8 and lower) are these shifted
-- right: cell >> k is floor(lon * 2^(11 - k) / 360), bit for bit the same cell that the raw
-- path computes for the edges.
--
-- Kept exact by statement-level triggers with transition tables on every INSERT, UPDATE,
-- DELETE and TRUNCATE of `event`, whoever writes (the ingest merge, the row trigger's
-- section assignment, closing an event, reloading the sections). Follow-up reports
-- (parent_id set) are not counted, as on the map. Counts never go stale and never need a
-- refresh job; a cell whose events all left keeps a row with zero counts.

CREATE TABLE event_cell_day (
    day          date NOT NULL,
    section_code text,
    category     text NOT NULL,
    source       text NOT NULL,
    gx           integer NOT NULL,
    gy           integer NOT NULL,
    n_low        integer NOT NULL DEFAULT 0,
    n_medium     integer NOT NULL DEFAULT 0,
    n_high       integer NOT NULL DEFAULT 0,
    n_very_high  integer NOT NULL DEFAULT 0,
    persons      bigint NOT NULL DEFAULT 0,
    sum_lon      double precision NOT NULL DEFAULT 0,
    sum_lat      double precision NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX event_cell_day_key
    ON event_cell_day (day, section_code, category, source, gx, gy) NULLS NOT DISTINCT;

-- Applies the signed per-cell deltas of the statement's rows: +1 for new rows, -1 for old.
CREATE FUNCTION nsp_event_cells_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    changed text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE event_cell_day;
        RETURN NULL;
    END IF;
    changed := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, r.* FROM nsp_cells_new r'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, r.* FROM nsp_cells_old r'
        ELSE 'SELECT 1 AS sign, r.* FROM nsp_cells_new r UNION ALL SELECT -1, r.* FROM nsp_cells_old r'
    END;
    -- One upsert per touched cell, in key order (two concurrent writers lock cells in the
    -- same order, so they wait for each other instead of deadlocking).
    EXECUTE format($q$
    WITH delta AS (
        SELECT (c.occurred_at AT TIME ZONE 'UTC')::date AS day, c.section_code, c.category, c.source,
               floor(ST_X(c.geom) * 2048 / 360)::integer AS gx,
               floor(ST_Y(c.geom) * 4096 / 360)::integer AS gy,
               coalesce(sum(c.sign) FILTER (WHERE c.impact = 'low'), 0) AS n_low,
               coalesce(sum(c.sign) FILTER (WHERE c.impact = 'medium'), 0) AS n_medium,
               coalesce(sum(c.sign) FILTER (WHERE c.impact = 'high'), 0) AS n_high,
               coalesce(sum(c.sign) FILTER (WHERE c.impact = 'very_high'), 0) AS n_very_high,
               sum(c.sign * coalesce(c.persons, 0)) AS persons,
               sum(c.sign * ST_X(c.geom)) AS sum_lon,
               sum(c.sign * ST_Y(c.geom)) AS sum_lat
          FROM (%s) c
         WHERE c.parent_id IS NULL
         GROUP BY 1, 2, 3, 4, 5, 6
    )
    INSERT INTO event_cell_day AS a (day, section_code, category, source, gx, gy,
                                     n_low, n_medium, n_high, n_very_high, persons, sum_lon, sum_lat)
    SELECT d.day, d.section_code, d.category, d.source, d.gx, d.gy,
           d.n_low, d.n_medium, d.n_high, d.n_very_high, d.persons, d.sum_lon, d.sum_lat
      FROM delta d
     -- An update that changed nothing counted here (a status change, closing) nets to zero.
     WHERE NOT (d.n_low = 0 AND d.n_medium = 0 AND d.n_high = 0 AND d.n_very_high = 0
                AND d.persons = 0 AND d.sum_lon = 0 AND d.sum_lat = 0)
     ORDER BY d.day, d.section_code, d.category, d.source, d.gx, d.gy
    ON CONFLICT (day, section_code, category, source, gx, gy) DO UPDATE
       SET n_low = a.n_low + excluded.n_low,
           n_medium = a.n_medium + excluded.n_medium,
           n_high = a.n_high + excluded.n_high,
           n_very_high = a.n_very_high + excluded.n_very_high,
           persons = a.persons + excluded.persons,
           sum_lon = a.sum_lon + excluded.sum_lon,
           sum_lat = a.sum_lat + excluded.sum_lat
    $q$, changed);
    RETURN NULL;
END $fn$;

CREATE TRIGGER event_cells_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS nsp_cells_new
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_event_cells_maintain();
CREATE TRIGGER event_cells_update AFTER UPDATE ON event
    REFERENCING OLD TABLE AS nsp_cells_old NEW TABLE AS nsp_cells_new
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_event_cells_maintain();
CREATE TRIGGER event_cells_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS nsp_cells_old
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_event_cells_maintain();
CREATE TRIGGER event_cells_truncate AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_event_cells_maintain();

-- The events already stored.
INSERT INTO event_cell_day (day, section_code, category, source, gx, gy,
                            n_low, n_medium, n_high, n_very_high, persons, sum_lon, sum_lat)
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.section_code, e.category, e.source,
       floor(ST_X(e.geom) * 2048 / 360)::integer, floor(ST_Y(e.geom) * 4096 / 360)::integer,
       count(*) FILTER (WHERE e.impact = 'low'), count(*) FILTER (WHERE e.impact = 'medium'),
       count(*) FILTER (WHERE e.impact = 'high'), count(*) FILTER (WHERE e.impact = 'very_high'),
       coalesce(sum(e.persons), 0), sum(ST_X(e.geom)), sum(ST_Y(e.geom))
  FROM event e
 WHERE e.parent_id IS NULL
 GROUP BY 1, 2, 3, 4, 5, 6;

-- Read under the same need-to-know rule as `event`; only the trigger writes.
ALTER TABLE event_cell_day ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON event_cell_day FROM nsp_app;
GRANT SELECT ON event_cell_day TO nsp_app;
CREATE POLICY scope_read ON event_cell_day FOR SELECT TO nsp_app
    USING ((SELECT nsp_scope_all()) OR section_code = ANY ((SELECT nsp_scope_codes())::text[]));
