-- Alerts out of the browser: a new event of high impact (or whatever a subscription asks
-- for) is posted as JSON to a webhook of the centre's own network (a chat, pager or SMS
-- gateway), signed with HMAC-SHA256. The wall's banner is seen only by whoever looks at it.
--
-- alert_delivery is an outbox: its rows are written by the ingest batch's own transaction
-- (sql/queries/ingest.sql, alerts_outbox), so an event that is stored has its alerts queued
-- and a batch that is rolled back leaves none. Workers (`nsp worker`) post them and retry
-- with backoff; one row per subscription and event, so a re-delivered event alerts once.
CREATE TABLE alert_subscription (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    url         text NOT NULL CHECK (url ~ '^https?://[^\s]+$'),
    secret      text NOT NULL CHECK (length(secret) >= 32),  -- the HMAC key: kept, shown once
    min_impact  text NOT NULL DEFAULT 'high' CHECK (min_impact IN ('low', 'medium', 'high', 'very_high')),
    sections    text[],      -- NULL: every section (and events outside all)
    categories  text[],      -- NULL: every category
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL
);

CREATE TABLE alert_delivery (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id  bigint NOT NULL REFERENCES alert_subscription (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_error       text,
    http_status      integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CONSTRAINT alert_delivery_once UNIQUE (subscription_id, event_id)
);
CREATE INDEX alert_delivery_due_idx ON alert_delivery (next_attempt_at) WHERE status = 'queued';
CREATE INDEX alert_delivery_created_idx ON alert_delivery (created_at DESC);
CREATE INDEX alert_delivery_event_idx ON alert_delivery (event_id);

-- Only the owner (ingest, workers, the CLI) reads and writes them: the secrets and the
-- subscriptions' targets are not for the web app.
REVOKE ALL ON alert_subscription, alert_delivery FROM nsp_app;
