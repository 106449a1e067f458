-- Row-level security, or no grant, on the operational tables the app role could still read
-- (issue 25, item 7). Before this, nsp_app (every web request, a sector commander's included)
-- could read every delivery, every source's token hash, every queued job's arguments (file
-- paths, the user and sections of a requested export) and every expected interval.
-- tests/integration/test_access_db.py lists everything nsp_app can read and fails on anything
-- without RLS that is not on its reasoned allow-list.

-- ------------------------------------------------------------------ no grant
-- Sources and their token hashes: only the owner's connections use them (`nsp sources`,
-- POST /api/ingest checks a token through the owner's pool).
REVOKE ALL ON ingest_source FROM nsp_app;
REVOKE ALL ON SEQUENCE ingest_source_id_seq FROM nsp_app;

-- The job queue: procrastinate runs on the owner's connections only (workers, `nsp watch`,
-- the dashboard deferring an export). Every procrastinate table and sequence, today's and
-- those of a later procrastinate schema migration made by the owner, are the owner's.
DO $$
DECLARE t record;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS name, c.relkind
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname LIKE 'procrastinate\_%' AND c.relkind IN ('r', 'p', 'S')
    LOOP
        EXECUTE format('REVOKE ALL ON %s %s FROM nsp_app',
                       CASE WHEN t.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, t.name);
    END LOOP;
END $$;

-- The webhook tables are the owner's since 0013; their sequences were still readable.
REVOKE ALL ON SEQUENCE alert_subscription_id_seq, alert_delivery_id_seq FROM nsp_app;

-- ------------------------------------------------------------------ row-level security
-- Deliveries (file names, sources, who submitted them, errors) span every sector: only scopes
-- of every section read them (the main page's feeds card, `picture_feeds`). The app role
-- never writes them: the pipeline records batches on the owner's connection.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ingest_batch FROM nsp_app;
REVOKE ALL ON SEQUENCE ingest_batch_id_seq FROM nsp_app;
ALTER TABLE ingest_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY unrestricted_read ON ingest_batch FOR SELECT TO nsp_app USING (nsp_scope_all());

-- Expected intervals (who set them, their notes): the same scopes, read only (`nsp feeds
-- expect` writes them as the owner).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON feed_expectation FROM nsp_app;
ALTER TABLE feed_expectation ENABLE ROW LEVEL SECURITY;
CREATE POLICY unrestricted_read ON feed_expectation FOR SELECT TO nsp_app USING (nsp_scope_all());

-- Every scope's wall shows LIVE or DATA STALE by when any feed last finished a delivery. That
-- one time is all this function returns (SECURITY DEFINER with a fixed search_path, as
-- nsp_alert_health): not to an admin scope, which sees no operational data. /healthz tells the
-- same fact (fresh or stale) without a login.
CREATE FUNCTION nsp_last_batch_finished() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT max(b.finished_at) FROM ingest_batch b
     WHERE coalesce(current_setting('nsp.role', true), '') <> 'admin'
$$;
REVOKE ALL ON FUNCTION nsp_last_batch_finished() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nsp_last_batch_finished() TO nsp_app;
