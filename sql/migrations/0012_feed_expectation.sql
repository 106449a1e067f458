-- How often each feed (ingest source) is expected to deliver. A source with an expectation
-- that has not finished a delivery within it is LATE: on the main page's feeds table, in the
-- LIVE sign of the main page and the wall (scopes of every section), in `nsp feeds list` and
-- in /healthz ("feeds": "late"). It stays listed however long it has been silent, where a
-- source without one drops out of the feeds table after 7 days. Set with
-- `nsp feeds expect SOURCE EVERY`; every change is written to the audit log.
CREATE TABLE feed_expectation (
    source  text PRIMARY KEY CHECK (source <> '' AND length(source) <= 128),
    every   interval NOT NULL CHECK (every >= interval '1 minute'),
    note    text,
    set_at  timestamptz NOT NULL DEFAULT now(),
    set_by  text NOT NULL
);

-- The app reads it (the feeds table, the sign, /healthz); only the CLI writes it.
REVOKE ALL ON feed_expectation FROM nsp_app;
GRANT SELECT ON feed_expectation TO nsp_app;
