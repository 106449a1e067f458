-- Skipped input, counted (ingest/pipeline.py): records a parser read and deliberately left out
-- (AIS types and NMEA sentences nsp does not use, CoT pings and chat, GPX routes, a file with
-- nothing to load), per batch, with their reasons ({"type 4": 12, "non-AIS sentence": 3}).
-- `nsp deliveries`, `nsp feeds list` and the main page's feeds table show them.
ALTER TABLE ingest_batch
    ADD COLUMN n_skipped       integer NOT NULL DEFAULT 0,
    ADD COLUMN skipped_reasons jsonb   NOT NULL DEFAULT '{}'::jsonb;
