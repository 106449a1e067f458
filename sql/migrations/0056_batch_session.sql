-- Batches left 'running' by a process that ended (a killed `nsp ingest`, a lost machine, a
-- database restart) are marked failed by the maintenance task (issue 25, item 4). A batch is
-- loaded in one transaction of the session that inserted its record (ingest/pipeline.py), so
-- the batch records that session (its backend's pid and start time: a pid alone is reused);
-- when that session is gone, the transaction went with it and nothing of the batch was stored.

ALTER TABLE ingest_batch ADD COLUMN backend_pid integer;
ALTER TABLE ingest_batch ADD COLUMN backend_start timestamptz;

CREATE FUNCTION nsp_batch_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.backend_pid := pg_backend_pid();
    NEW.backend_start := (SELECT a.backend_start FROM pg_stat_get_activity(pg_backend_pid()) a);
    RETURN NEW;
END $$;

CREATE TRIGGER ingest_batch_session BEFORE INSERT ON ingest_batch
    FOR EACH ROW EXECUTE FUNCTION nsp_batch_session();

-- The 'running' batches received more than `grace` ago whose session has ended become
-- 'failed' with the reason; returns their ids. A session of another database user whose start
-- this user may not see (pg_stat_activity shows it NULL) counts as alive while its pid lives.
-- A batch recorded before this migration (no session) is failed once it is older than `grace`;
-- should its load still finish, ingest_batch_done sets it 'done' as usual.
CREATE FUNCTION nsp_fail_orphan_batches(grace interval) RETURNS SETOF bigint
LANGUAGE sql AS $$
    UPDATE ingest_batch b
       SET status = 'failed', finished_at = now(),
           error = 'process ended: the process loading this batch stopped before committing it; nothing of it was stored'
     WHERE b.status = 'running' AND b.received_at < now() - grace
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.pid = b.backend_pid
                          AND (a.backend_start = b.backend_start OR a.backend_start IS NULL))
    RETURNING b.id
$$;
REVOKE ALL ON FUNCTION nsp_fail_orphan_batches(interval) FROM PUBLIC;
CREATE INDEX ingest_batch_running_idx ON ingest_batch (received_at) WHERE status = 'running';
