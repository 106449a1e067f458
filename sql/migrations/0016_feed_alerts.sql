-- Webhook alerts for late feeds: a subscription made with `nsp alerts add … --feeds` is also
-- told when a feed with an expected interval (feed_expectation, 0012) misses it. A delivery
-- is then about a feed, not an event: feed_source and feed_since (the feed's last delivery
-- when it was found late; epoch when it never delivered), so each silence alerts once and a
-- feed that delivers and falls silent again alerts again.
ALTER TABLE alert_subscription ADD COLUMN feeds boolean NOT NULL DEFAULT false;

ALTER TABLE alert_delivery ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE alert_delivery ADD COLUMN feed_source text;
ALTER TABLE alert_delivery ADD COLUMN feed_since timestamptz;
ALTER TABLE alert_delivery ADD CONSTRAINT alert_delivery_about_one
    CHECK ((event_id IS NULL) <> (feed_source IS NULL) AND (feed_source IS NULL) = (feed_since IS NULL));
CREATE UNIQUE INDEX alert_delivery_feed_once ON alert_delivery (subscription_id, feed_source, feed_since)
    WHERE feed_source IS NOT NULL;

-- A source's last completed delivery, however long ago: the latest finish among its 20 last
-- received batches (read backwards on the (source, received_at) index), so a long batch that
-- finishes after a newer one still counts. NULL when it never delivered. Runs with the
-- caller's rights (the app role may read ingest_batch).
CREATE FUNCTION nsp_feed_last_delivery(src text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT max(r.finished_at)
      FROM (SELECT b.finished_at FROM ingest_batch b
             WHERE b.source = src AND b.status = 'done'
             ORDER BY b.received_at DESC LIMIT 20) r
$$;

-- The late feeds, one rule for the LIVE sign, /healthz and these alerts: a feed with an
-- expected interval whose last completed delivery is older than it, or that never delivered.
CREATE FUNCTION nsp_feeds_late() RETURNS TABLE (source text, expected_every interval, last_delivery timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT l.source, l.every, l.last_delivery
      FROM (SELECT x.source, x.every, nsp_feed_last_delivery(x.source) AS last_delivery
              FROM feed_expectation x) l
     WHERE l.last_delivery IS NULL OR l.last_delivery < now() - l.every
$$;
