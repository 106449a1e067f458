-- Webhook alerts for raised events too: an event that a newer message raises from an impact
-- below a subscription's to one at or above it (a Cursor on Target marker re-typed from
-- unknown to hostile) is queued like a new one; raised_from keeps the impact it had before
-- (NULL for a new event). See alerts_outbox in sql/queries/ingest.sql.
ALTER TABLE alert_delivery ADD COLUMN raised_from text
    CHECK (raised_from IN ('low', 'medium', 'high', 'very_high'));
