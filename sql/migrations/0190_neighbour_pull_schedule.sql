-- Scheduled neighbour pulls (issue 24): the worker's periodic task pulls each partner that has
-- a pull URL every pull_interval (`nsp neighbours add … --pull-interval 5m`), and records how the
-- last pull went here instead of failing the job: pulled_at (the last try), pull_ok_at (the
-- last that worked), pull_error and pull_failures (since the last that worked; NULL and 0
-- after a good one).
ALTER TABLE neighbour
    ADD COLUMN pull_interval interval NOT NULL DEFAULT interval '5 minutes'
        CHECK (pull_interval >= interval '10 seconds'),
    ADD COLUMN pulled_at     timestamptz,
    ADD COLUMN pull_ok_at    timestamptz,
    ADD COLUMN pull_error    text,
    ADD COLUMN pull_failures integer NOT NULL DEFAULT 0;

-- The pulls' health, without the secrets and tokens of the table: for the feeds panel of the
-- users who see every section (any other scope reads no row), as nsp_alert_health does.
CREATE FUNCTION nsp_neighbour_pull_health()
RETURNS TABLE (name text, country text, pull_interval interval, pulled_at timestamptz,
               pull_ok_at timestamptz, pull_error text, pull_failures integer, loaded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT n.name, n.country, n.pull_interval, n.pulled_at, n.pull_ok_at, n.pull_error, n.pull_failures,
           n.loaded_at
      FROM neighbour n
     WHERE n.pull_url IS NOT NULL AND nsp_scope_all()
     ORDER BY n.pull_failures > 0 DESC, n.name
$$;
REVOKE ALL ON FUNCTION nsp_neighbour_pull_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nsp_neighbour_pull_health() TO nsp_app;
