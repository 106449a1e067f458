-- What the picture counts: an event is a first report that its source has not rejected on
-- validation. Follow-up reports (parent_id set) describe the response to their first report,
-- and a report its source rejected says the event did not happen as reported; neither is
-- drawn or counted as an event of its own, on the map, in the panels, on the wall, in the
-- weekly summary or in the monthly indicators (which already left both out). Both stay in
-- `event`, in the event export files, and a rejected report can be counted (the map's note).
--
-- The map's pre-aggregate (0008) left out follow-ups only: its trigger now leaves out
-- rejected reports too. Should a report's validation change later (an UPDATE, whoever makes
-- it), its old row is counted out and its new row in only when not rejected: exact either way.

CREATE OR REPLACE FUNCTION nsp_event_cells_maintain() RETURNS trigger
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
         WHERE c.parent_id IS NULL AND c.validation <> 'rejected'
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

-- The stored counts again, under the new rule.
TRUNCATE event_cell_day;
INSERT INTO event_cell_day (day, section_code, category, source, gx, gy,
                            n_low, n_medium, n_high, n_very_high, persons, sum_lon, sum_lat)
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.section_code, e.category, e.source,
       floor(ST_X(e.geom) * 2048 / 360)::integer, floor(ST_Y(e.geom) * 4096 / 360)::integer,
       count(*) FILTER (WHERE e.impact = 'low'), count(*) FILTER (WHERE e.impact = 'medium'),
       count(*) FILTER (WHERE e.impact = 'high'), count(*) FILTER (WHERE e.impact = 'very_high'),
       coalesce(sum(e.persons), 0), sum(ST_X(e.geom)), sum(ST_Y(e.geom))
  FROM event e
 WHERE e.parent_id IS NULL AND e.validation <> 'rejected'
 GROUP BY 1, 2, 3, 4, 5, 6;

-- The rejected reports of a window, for the map's note ("not shown, rejected on validation:
-- n"): a small index, since few reports are rejected; other rows only test its predicate.
CREATE INDEX event_rejected_idx ON event (occurred_at) WHERE validation = 'rejected' AND parent_id IS NULL;
