-- Webhook alerts as the main page's feeds card shows them (dashboard/pages/main.py): counts
-- only. The app role cannot read alert_subscription or alert_delivery (their URLs and signing
-- secrets are the owner's, 0013_alerts.sql), so this SECURITY DEFINER function, with a fixed
-- search_path, returns four numbers and nothing else, and only to a scope that sees every
-- section (nsp_scope_all(), the scopes that get the feeds card); others get zeros.
CREATE FUNCTION nsp_alert_health(OUT subscriptions bigint, OUT sent_24h bigint, OUT waiting bigint,
                                 OUT waiting_long bigint, OUT failed_24h bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN nsp_scope_all() THEN (SELECT count(*) FROM alert_subscription WHERE active) ELSE 0 END,
           count(*) FILTER (WHERE d.status = 'sent' AND d.sent_at > now() - interval '24 hours'),
           count(*) FILTER (WHERE d.status = 'queued'),
           count(*) FILTER (WHERE d.status = 'queued' AND d.created_at < now() - interval '10 minutes'),
           count(*) FILTER (WHERE d.status = 'failed' AND d.last_attempt_at > now() - interval '24 hours')
      FROM alert_delivery d
     WHERE nsp_scope_all()
       AND (d.status = 'queued' OR coalesce(d.last_attempt_at, d.created_at) > now() - interval '24 hours')
$$;
REVOKE ALL ON FUNCTION nsp_alert_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nsp_alert_health() TO nsp_app;
