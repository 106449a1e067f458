-- An event the NCC raises (0019_event_decisions.sql) from below an active webhook
-- subscription's impact to it or above is queued for that subscription, as an event that a
-- newer message raised is (0015_alert_raised.sql): raised_from keeps the impact before. One
-- delivery per subscription and event, ever (an event already announced is not again).
--
-- The decision runs as nsp_app, which may not read the subscriptions (their secrets) nor write
-- the outbox: this function does, with its owner's rights, and only for a scope that may
-- decide on the event (a watch officer, the system; in its sections). Returns how many it queued.
CREATE FUNCTION nsp_queue_raised_alerts(p_event uuid, p_prior text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    n integer;
    ranks CONSTANT text[] := ARRAY['low', 'medium', 'high', 'very_high'];
BEGIN
    INSERT INTO alert_delivery (subscription_id, event_id, raised_from)
    SELECT s.id, e.id, p_prior
      FROM event e
      JOIN alert_subscription s
        ON s.active
       AND array_position(ranks, e.impact) >= array_position(ranks, s.min_impact)
       AND array_position(ranks, p_prior) < array_position(ranks, s.min_impact)
       AND (s.sections IS NULL OR e.section_code = ANY (s.sections))
       AND (s.categories IS NULL OR e.category = ANY (s.categories))
     WHERE e.id = p_event AND e.parent_id IS NULL AND e.validation <> 'rejected'
       AND nsp_scope_may_decide() AND nsp_scope_allows(e.section_code)
    ON CONFLICT ON CONSTRAINT alert_delivery_once DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $fn$;

REVOKE ALL ON FUNCTION nsp_queue_raised_alerts(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nsp_queue_raised_alerts(uuid, text) TO nsp_app;
